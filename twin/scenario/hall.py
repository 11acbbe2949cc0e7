"""A hall of the facility: its racks (alike, or in groups of their own density, GPU and power limit), rows,
containment and power limits."""

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from twin import catalog
from twin.errors import did_you_mean
from twin.scenario.base import ScenarioModel, existing_file


def known_gpu(value: str | None) -> str | None:
    """A GPU model of the catalog (or None), else a ValueError naming the allowed ones."""
    names = catalog.gpu_names()
    if value is not None and value not in names:
        raise ValueError(f"unknown GPU '{value}'{did_you_mean(value, names)}; allowed: {', '.join(names)}")
    return value


class RackGroup(ScenarioModel):
    """Racks of a hall that differ from its others in how many servers they hold (their power density)."""

    count: int = Field(ge=1, le=100_000, description="racks of this kind")
    servers_per_rack: int = Field(ge=1, le=256, description="servers in each (e.g. 128 nodes in a Frontier cabinet)")
    power_limit_kw: float | None = Field(None, gt=0.0, le=10_000.0, description="each rack's power limit")
    gpu: str | None = Field(
        None,
        description="GPU model of these racks' servers, from twin/catalog/gpus.yaml (default: the hall's): "
        "mixed generations in one hall, with the catalog's parameters and typical server",
    )
    installed: dt.date | None = Field(
        None,
        strict=False,
        description="the day these racks go into service (00:00 UTC): before it their positions are empty "
        "(built for, drawing nothing, serving nothing); default: from the start",
    )

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value):
        return known_gpu(value)


class Hall(ScenarioModel):
    """A hall of identical racks of GPU servers."""

    name: str = Field("hall-1", min_length=1, max_length=64, description="names the hall in results and training")
    rack_count: int = Field(ge=1, le=100_000, description="racks in the hall")
    row_count: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="rows the racks stand in, each with its own cooling units (default: rows of 20)",
    )
    positions: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="rack positions the hall is built for (power, cooling, rows), at least rack_count: a partly "
        "populated hall (default: rack_count); racks fill them row by row, empty ones count as racks of "
        "servers_per_rack in the design",
    )
    servers_per_rack: int = Field(ge=1, le=256, description="servers in each rack (racks: for racks that differ)")
    racks: list[RackGroup] | None = Field(
        None,
        max_length=100,
        description="groups of racks of different density, counts adding up to rack_count; "
        "the groups are interleaved along every row",
    )
    rack_power_limit_kw: float | None = Field(
        None,
        gt=0.0,
        le=10_000.0,
        description="most a rack may draw at the wall: above it its GPUs get a lower power limit (rack groups may "
        "set their own)",
    )
    row_power_limit_kw: float | None = Field(
        None, gt=0.0, le=1e6, description="most each row's racks may draw together (a busway or row PDU rating)"
    )
    power_limit_mw: float | None = Field(
        None, gt=0.0, le=1e4, description="most the hall's racks may draw together (its power allocation)"
    )
    containment: Literal["none", "partial", "full"] = Field(
        "full", description="aisle containment: how much hot exhaust the racks breathe again (supply heat index)"
    )
    gpus_per_server: int | None = Field(None, ge=1, le=72, description="default: the GPU's typical server")
    gpu: str = Field(
        description="GPU model from twin/catalog/gpus.yaml, or {model: NAME, calibration: FILE} to "
        "take its power and thermal parameters from a `twin calibrate` file"
    )
    gpu_calibration: Path | None = Field(None, strict=False, description="set by gpu: {model, calibration}")
    rack_calibration: Path | None = Field(
        None,
        strict=False,
        description="a `twin calibrate --rack` file: host power, server "
        "fan law and liquid heat share of this hall's racks",
    )
    host_idle_w: float | None = Field(None, ge=0.0, le=50_000.0, description="non-GPU server power at idle")
    host_max_w: float | None = Field(None, ge=0.0, le=50_000.0, description="non-GPU server power at full load")

    @model_validator(mode="before")
    @classmethod
    def _gpu_with_calibration(cls, data):
        """gpu: {model: H100-PCIe, calibration: calib.yaml} -> gpu: H100-PCIe, gpu_calibration: calib.yaml."""
        if isinstance(data, dict) and isinstance(data.get("gpu"), dict):
            choice = dict(data["gpu"])
            unknown = set(choice) - {"model", "calibration"}
            if unknown or "model" not in choice:
                raise ValueError(
                    f"gpu as a mapping takes 'model' and optionally 'calibration' (got: {', '.join(map(str, choice))})"
                )
            if "calibration" in choice and data.get("gpu_calibration") is not None:
                raise ValueError("give the GPU calibration once: in gpu: {model, calibration} or as gpu_calibration")
            data = {**data, "gpu": choice["model"], "gpu_calibration": choice.get("calibration")}
        return data

    @field_validator("gpu_calibration", "rack_calibration")
    @classmethod
    def _calibration_readable(cls, value, info: ValidationInfo):
        """The file exists and holds a usable calibration (calibrate/calibration.py) of the hall's GPU."""
        from twin.params import calibration

        gpu_file = info.field_name == "gpu_calibration"
        path = existing_file(value, info, "gpu calibration file" if gpu_file else "rack calibration file")
        if path is not None:
            try:
                (calibration.read if gpu_file else calibration.read_rack)(path, expect_gpu=info.data.get("gpu"))
            except calibration.CalibrationError as exc:
                raise ValueError(str(exc)) from None
        return path

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value):
        return known_gpu(value)

    @model_validator(mode="after")
    def _groups_add_up(self):
        if self.racks is not None and sum(g.count for g in self.racks) != self.rack_count:
            counts = " + ".join(str(g.count) for g in self.racks)
            raise ValueError(
                f"racks counts {counts} = {sum(g.count for g in self.racks)}; rack_count is {self.rack_count}"
            )
        return self

    def rack_group_order(self):
        """The group of each rack of the hall, in the order racks stand along its rows: the groups
        interleaved in proportion to their counts (the one furthest behind its share goes next, the
        first on ties); None without groups."""
        if self.racks is None:
            return None
        placed = [0] * len(self.racks)
        out = []
        for k in range(self.rack_count):
            due = [(g.count * (k + 1) / self.rack_count - placed[j], -j) for j, g in enumerate(self.racks)]
            j = -max(due)[1]
            placed[j] += 1
            out.append(j)
        return out

    def _per_rack(self, of_group, hall_value):
        """Each rack's value, in row order: of_group(its group), or hall_value for a hall without groups."""
        order = self.rack_group_order()
        if order is None:
            return [hall_value] * self.rack_count
        values = [of_group(g) for g in self.racks]
        return [values[j] for j in order]

    def rack_servers(self):
        """Servers in each rack of the hall, in row order."""
        return self._per_rack(lambda g: g.servers_per_rack, self.servers_per_rack)

    def gpu_models(self):
        """The GPU models of the hall's racks: the hall's first, then its rack groups' others, each once."""
        out = [self.gpu]
        for g in self.racks or []:
            if g.gpu is not None and g.gpu not in out:
                out.append(g.gpu)
        return out

    def rack_gpus(self):
        """Each rack's GPU model, in row order."""
        return self._per_rack(lambda g: g.gpu or self.gpu, self.gpu)

    def servers_by_gpu(self):
        """{GPU model: servers in the hall's racks of that model}."""
        out = dict.fromkeys(self.gpu_models(), 0)
        for gpu, servers in zip(self.rack_gpus(), self.rack_servers(), strict=True):
            out[gpu] += servers
        return out

    def rack_installed(self):
        """Each rack's first day in service (None: from the start), in row order."""
        return self._per_rack(lambda g: g.installed, None)

    def rack_power_limits_w(self):
        """Each rack's power limit at the wall [W], in row order (inf: none)."""
        hall = self.rack_power_limit_kw * 1e3 if self.rack_power_limit_kw is not None else float("inf")
        return self._per_rack(lambda g: g.power_limit_kw * 1e3 if g.power_limit_kw is not None else hall, hall)

    def servers(self):
        """Servers in the hall."""
        return sum(self.rack_servers()) if self.racks is not None else self.rack_count * self.servers_per_rack

    @model_validator(mode="after")
    def _rows_hold_racks(self):
        if self.positions is not None and self.positions < self.rack_count:
            raise ValueError(f"positions ({self.positions}) is fewer than rack_count ({self.rack_count})")
        if self.row_count is not None and self.row_count > self.floor_positions():
            raise ValueError(
                f"row_count ({self.row_count}) exceeds the hall's {self.floor_positions()} rack positions: "
                "a row holds racks"
            )
        return self

    def floor_positions(self):
        """Rack positions the hall is built for."""
        return self.rack_count if self.positions is None else self.positions

    def design_servers(self):
        """Servers the hall's power and cooling are built for: its racks' and servers_per_rack in each empty
        position."""
        return self.servers() + (self.floor_positions() - self.rack_count) * self.servers_per_rack

    @model_validator(mode="after")
    def _host_order(self):
        if self.host_idle_w is not None and self.host_max_w is not None and self.host_idle_w > self.host_max_w:
            raise ValueError(f"host_idle_w ({self.host_idle_w}) exceeds host_max_w ({self.host_max_w})")
        return self

    def rows(self):
        """The hall's row count: given, or its racks in rows of the catalog's default length."""
        if self.row_count is not None:
            return self.row_count
        return max(1, -(-self.floor_positions() // catalog.load("cooling")["rows"]["racks_per_row"]))

    def server_spec(self, gpu=None):
        """(gpus_per_server, host_idle_w, host_max_w) with catalog defaults filled in; gpu: a rack group's other
        GPU model, whose catalog server it takes (the hall's overrides are for its own GPU's)."""
        if gpu is not None and gpu != self.gpu:
            server = catalog.load("gpus")[gpu]["server"]
            return server["gpus_per_server"], server["host_idle_w"], server["host_max_w"]
        server = catalog.load("gpus")[self.gpu]["server"]
        return (
            self.gpus_per_server or server["gpus_per_server"],
            server["host_idle_w"] if self.host_idle_w is None else self.host_idle_w,
            server["host_max_w"] if self.host_max_w is None else self.host_max_w,
        )
