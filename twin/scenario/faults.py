"""Faults in a scenario: cooling units and UPS modules out of service for a while, GPU failures."""

from typing import Literal

from pydantic import Field, model_validator

from twin.scenario.base import WORKLOAD_DEFAULTS, ScenarioModel, Window


class CoolingOutage(Window):
    """Cooling units out of service for a while (failure or maintenance)."""

    unit: Literal["chiller", "crah", "cdu", "dry_cooler"] = Field(
        description="chiller or crah (air path), cdu or dry_cooler (liquid path); crah and cdu are each row's"
    )
    fraction: float = Field(
        1.0, gt=0.0, le=1.0, description="share of the installed units lost (1 = all); of every row's without row"
    )
    hall: str | None = Field(None, description="the hall of the row whose crah or cdu units are lost")
    row: int | None = Field(None, ge=1, le=10_000, description="the row (1 = the hall's first) whose units are lost")
    units: int | None = Field(None, ge=1, le=1000, description="units of that row lost (default 1)")

    @model_validator(mode="after")
    def _row_target(self):
        if (self.hall is None) != (self.row is None):
            raise ValueError("a row's units are named by hall and row together")
        if self.row is not None and self.unit not in ("crah", "cdu"):
            raise ValueError(f"unit '{self.unit}' is the facility's, not a row's: hall and row apply to crah and cdu")
        if self.units is not None and self.row is None:
            raise ValueError("units counts a row's units: give hall and row (or a fraction of every row's)")
        if self.row is not None and self.units is None:
            return self.model_copy(update={"units": 1})
        return self


class PowerOutage(Window):
    """UPS modules out of service: the UPS carries less, and the GPUs are power-limited to fit."""

    unit: Literal["ups"] = Field("ups", description="ups (modules of power_chain.ups.module_kw)")
    modules_lost: int = Field(ge=1, le=10_000, description="UPS modules out")
    group: int | None = Field(
        None, ge=1, le=1000, description="the UPS group whose modules are out (power_chain.ups.groups; 1 = first rows')"
    )


class Faults(ScenarioModel):
    cooling_outages: list[CoolingOutage] = Field(default_factory=list, max_length=10_000)
    power_outages: list[PowerOutage] = Field(default_factory=list, max_length=10_000)
    gpu_failures_per_gpu_day: float = Field(
        0.0, ge=0.0, le=1.0, description="GPU failure rate (Llama 3 pre-training: 4.74e-4, catalog workload.yaml)"
    )
    gpu_repair_hours: float = Field(
        WORKLOAD_DEFAULTS["gpu_repair_hours"],
        gt=0.0,
        le=24 * 365.0,
        description="how long a failed GPU is out of service",
    )
