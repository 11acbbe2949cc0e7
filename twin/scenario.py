"""Scenario: the validated, frozen description of one run, loaded from YAML.

Every numeric field carries its unit in its name and a validated range; defaults come from
twin/catalog/*.yaml where each value names its source. Loading never raises anything but
ScenarioError, which lists every problem with file, line, field path, value and what is allowed.
"""

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from twin import catalog, yaml_input
from twin.errors import InputError, clip
from twin.physics.cooling import LIQUID_CLASSES_C
from twin.sites import bundled_site_names

_AIR = catalog.load("cooling")["air"]
_CHAIN = catalog.load("power_chain")
_ECON = catalog.load("economics")
_WORKLOAD = catalog.load("workload")
_INFERENCE = _WORKLOAD["inference"]
_TRAINING = _WORKLOAD["training"]

DURATION_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwy])\s*$")


def parse_duration_s(text):
    """'60s', '15m', '1h', '7d', '2w', '1y' (365 days) -> seconds (int)."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError("expected a duration string such as '60s', '15m', '7d' or '1y'")
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration; use a number and one of s, m, h, d, w, y (e.g. '7d')")
    seconds = float(match.group(1)) * DURATION_UNITS_S[match.group(2)]
    if seconds != int(seconds):
        raise ValueError(f"'{text}' is not a whole number of seconds")
    return int(seconds)


class _Model(BaseModel):
    # strict: a boolean is not a number (rack_count: true was 1 rack), a float is not a count (2.5 racks), a
    # string is not a number; paths and times keep pydantic's conversion from YAML strings (strict=False)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


def _existing_file(value, info: ValidationInfo, what):
    if value is None:
        return None
    base = (info.context or {}).get("base_dir", Path("."))
    path = Path(value)
    path = path if path.is_absolute() else Path(base) / path
    if path.exists() and not path.is_file():
        raise ValueError(f"{what} '{clip(value)}' is not a regular file ({path.resolve()} is a folder or a device)")
    if not path.is_file():
        raise ValueError(f"{what} '{clip(value)}' not found (looked for {path.resolve()})")
    return path


class Site(_Model):
    """Where the facility stands: a bundled site, or the user's own weather and grid files."""

    name: str | None = Field(None, description="bundled site name (python -m twin sites lists them)")
    weather_file: Path | None = Field(None, strict=False, description="EPW weather file replacing the bundled weather")
    grid_file: Path | None = Field(
        None,
        strict=False,
        description="hourly CSV: timestamp_utc, carbon_g_per_kwh, price_usd_per_kwh "
        "and optionally water_l_per_kwh (README: bring your own site)",
    )
    renewable_contract_fraction: float = Field(
        0.0, ge=0.0, le=1.0, description="share of energy matched by renewable contracts (PPAs/RECs); gives REF"
    )

    @field_validator("name")
    @classmethod
    def _known_site(cls, value):
        if value is not None and value not in bundled_site_names():
            raise ValueError(
                f"unknown site '{value}'{_did_you_mean(value, bundled_site_names())}; "
                f"allowed: {', '.join(bundled_site_names())}"
            )
        return value

    @field_validator("weather_file")
    @classmethod
    def _weather_exists(cls, value, info: ValidationInfo):
        return _existing_file(value, info, "weather file")

    @field_validator("grid_file")
    @classmethod
    def _grid_exists(cls, value, info: ValidationInfo):
        return _existing_file(value, info, "grid file")

    @model_validator(mode="after")
    def _has_grid(self):
        if self.name is None and (self.weather_file is None or self.grid_file is None):
            raise ValueError("give a bundled site 'name', or both 'weather_file' and 'grid_file'")
        return self


class Hall(_Model):
    """A hall of identical racks of GPU servers."""

    name: str = Field("hall-1", min_length=1, max_length=64, description="names the hall in results and training")
    rack_count: int = Field(ge=1, le=100_000, description="racks in the hall")
    servers_per_rack: int = Field(ge=1, le=64)
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
        path = _existing_file(value, info, "gpu calibration file" if gpu_file else "rack calibration file")
        if path is not None:
            try:
                (calibration.read if gpu_file else calibration.read_rack)(path, expect_gpu=info.data.get("gpu"))
            except calibration.CalibrationError as exc:
                raise ValueError(str(exc)) from None
        return path

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value):
        names = catalog.gpu_names()
        if value not in names:
            raise ValueError(f"unknown GPU '{value}'{_did_you_mean(value, names)}; allowed: {', '.join(names)}")
        return value

    @model_validator(mode="after")
    def _host_order(self):
        if self.host_idle_w is not None and self.host_max_w is not None and self.host_idle_w > self.host_max_w:
            raise ValueError(f"host_idle_w ({self.host_idle_w}) exceeds host_max_w ({self.host_max_w})")
        return self

    def server_spec(self):
        """(gpus_per_server, host_idle_w, host_max_w) with catalog defaults filled in."""
        server = catalog.load("gpus")[self.gpu]["server"]
        return (
            self.gpus_per_server or server["gpus_per_server"],
            server["host_idle_w"] if self.host_idle_w is None else self.host_idle_w,
            server["host_max_w"] if self.host_max_w is None else self.host_max_w,
        )


class AirPath(_Model):
    """The air path: CRAH/AHU fans + water-cooled chillers + cooling tower + economisers."""

    supply_air_temp_c: float = Field(_AIR["supply_air_temp_c"], ge=10.0, le=35.0)
    air_delta_t_k: float = Field(_AIR["air_delta_t_k"], ge=4.0, le=25.0)
    crah_fan_pressure_pa: float = Field(_AIR["crah_fan_pressure_pa"], ge=50.0, le=2000.0)
    crah_fan_efficiency: float = Field(_AIR["crah_fan_efficiency"], gt=0.1, le=0.95)
    chw_supply_temp_c: float = Field(_AIR["chw_supply_temp_c"], ge=4.0, le=25.0)
    chw_delta_t_k: float = Field(_AIR["chw_delta_t_k"], ge=2.0, le=15.0)
    tower_approach_k: float = Field(_AIR["tower_approach_k"], ge=1.5, le=10.0)
    cycles_of_concentration: float = Field(_AIR["cycles_of_concentration"], ge=1.5, le=20.0)
    economiser: bool = Field(_AIR["economiser"], description="water-side economiser (plate heat exchanger)")
    economiser_hx_approach_k: float = Field(_AIR["economiser_hx_approach_k"], ge=0.5, le=6.0)
    airside_economiser: bool = Field(_AIR["airside_economiser"], description="outdoor air when cool and dry enough")
    evaporative_assist: bool = Field(
        _AIR["evaporative_assist"], description="direct evaporative pads on the outdoor air"
    )
    evaporative_effectiveness: float = Field(_AIR["evaporative_effectiveness"], ge=0.0, le=1.0)
    heat_rejection: Literal["cooling_tower", "dry_cooler"] = Field(
        "cooling_tower",
        description="cooling_tower: water-cooled chillers + tower (evaporates water); "
        "dry_cooler: air-cooled chillers + dry-cooler economiser (no water)",
    )
    inlet_class: Literal["A1", "A2", "A3", "A4"] = Field(
        "A2", description="ASHRAE TC9.9 allowable server inlet class; hours above its limit are reported"
    )
    chiller_count: int = Field(_AIR["chiller_count"], ge=1, le=50)
    chiller_capacity_margin: float = Field(_AIR["chiller_capacity_margin"], ge=1.0, le=3.0)

    @model_validator(mode="after")
    def _air_above_water(self):
        if self.supply_air_temp_c < self.chw_supply_temp_c + 2.0:
            raise ValueError(
                f"supply_air_temp_c ({self.supply_air_temp_c}) must be at least 2 K above "
                f"chw_supply_temp_c ({self.chw_supply_temp_c}): the CRAH coil needs an approach"
            )
        return self


class AirCooling(AirPath):
    """Air-cooled halls: all server heat through the air path."""

    type: Literal["air"]


class _LiquidCooling(_Model):
    """Shared fields of liquid cooling; None takes the catalog default of the architecture."""

    coolant_approach_k: float | None = Field(None, ge=0.5, le=20.0, description="GPU coolant - facility water supply")
    liquid_fraction: float | None = Field(None, ge=0.0, le=1.0, description="share of server heat captured by liquid")
    adiabatic: bool | None = Field(None, description="adiabatic pads on the dry coolers")
    drycooler_approach_k: float | None = Field(
        None, ge=1.0, le=20.0, description="dry cooler leaving fluid - air at design"
    )
    trim_chiller_capacity_fraction: float | None = Field(
        None, ge=0.0, le=2.0, description="trim chiller / design liquid heat; 0 for none"
    )
    cdu_redundancy: Literal["N", "N+1", "2N"] | None = None
    air_path: AirPath = Field(
        AirPath(heat_rejection="dry_cooler"),
        description="the air path for heat not captured by liquid (default: dry rejection)",
    )

    def settings(self, catalog_key):
        """Catalog defaults of the architecture with this scenario's choices laid over them."""
        merged = dict(catalog.load("cooling")[catalog_key])
        merged.update(
            {
                k: v
                for k, v in self.model_dump(exclude={"type", "air_path", "phase", "liquid_class"}).items()
                if v is not None
            }
        )
        return merged


class DirectToChipCooling(_LiquidCooling):
    """Cold plates on GPUs and CPUs fed by CDUs; facility water to dry coolers (adiabatic, trim chiller)."""

    type: Literal["direct_to_chip"]
    liquid_class: Literal["W17", "W27", "W32", "W40", "W45"] = Field(
        catalog.load("cooling")["direct_to_chip"]["liquid_class"],
        description="ASHRAE TC9.9 liquid class: the facility-water supply temperature in C",
    )

    def liquid_settings(self):
        merged = self.settings("direct_to_chip")
        merged["supply_temp_c"] = LIQUID_CLASSES_C[self.liquid_class]
        return merged


class ImmersionCooling(_LiquidCooling):
    """Servers in dielectric fluid tanks: single-phase (pumped fluid) or two-phase (boiling, condenser)."""

    type: Literal["immersion"]
    phase: Literal["single", "two"] = "single"
    supply_temp_c: float | None = Field(None, ge=10.0, le=50.0, description="facility water supply to tanks")

    def liquid_settings(self):
        return self.settings(f"immersion_{self.phase}_phase")


class Ups(_Model):
    mode: Literal["double_conversion", "eco"] = _CHAIN["ups"]["mode"]
    no_load_fraction: float | None = Field(None, ge=0.0, le=0.2, description="default: the mode's catalog curve")
    proportional_fraction: float | None = Field(None, ge=-0.2, le=0.2)
    square_fraction: float | None = Field(None, ge=0.0, le=0.2)
    sizing_factor: float = Field(
        _CHAIN["ups"]["sizing_factor"], ge=0.5, le=4.0, description="UPS rating / design IT power, before redundancy"
    )
    redundancy: Literal["N", "N+1", "2N"] = _CHAIN["ups"]["redundancy"]
    module_kw: float = Field(_CHAIN["ups"]["module_kw"], gt=0.0, le=1e5)

    def coefficients(self):
        c = _CHAIN["ups_modes"][self.mode]
        given = (self.no_load_fraction, self.proportional_fraction, self.square_fraction)
        return tuple(c[i] if v is None else v for i, v in enumerate(given))


class Transformer(_Model):
    no_load_loss_fraction: float = Field(_CHAIN["transformer"]["no_load_loss_fraction"], ge=0.0, le=0.05)
    load_loss_fraction: float = Field(_CHAIN["transformer"]["load_loss_fraction"], ge=0.0, le=0.1)
    sizing_factor: float = Field(_CHAIN["transformer"]["sizing_factor"], ge=0.5, le=4.0)


class PowerChain(_Model):
    distribution: Literal["ac", "dc_48v_rack", "hvdc_800v"] = Field(
        "ac",
        description="ac: UPS + server PSUs; dc_48v_rack: UPS + rack 54 V shelves; hvdc_800v: DC rectifier + rack DC-DC",
    )
    transformer: Transformer = Transformer()
    ups: Ups = Ups()
    pdu_full_load_loss_fraction: float = Field(_CHAIN["pdu"]["full_load_loss_fraction"], ge=0.0, le=0.1)
    other_power_fraction_of_design_it: float = Field(
        _CHAIN["other"]["design_it_fraction"], ge=0.0, le=0.5, description="lighting, offices, security"
    )


COOLING_TYPES = {"air": AirCooling, "direct_to_chip": DirectToChipCooling, "immersion": ImmersionCooling}
Cooling = Annotated[AirCooling | DirectToChipCooling | ImmersionCooling, Field(discriminator="type")]


class OnSiteSupply(_Model):
    """Behind-the-meter supply: PV modelled from the site's weather (PVWatts via pvlib) and a battery
    that stores PV surplus for the facility."""

    solar_mw_dc: float = Field(0.0, ge=0.0, le=10_000.0, description="PV array DC rating")
    solar_tilt_deg: float | None = Field(None, ge=0.0, le=90.0, description="default: the site's latitude")
    solar_azimuth_deg: float | None = Field(None, ge=0.0, lt=360.0, description="default: facing the equator")
    battery_mwh: float = Field(0.0, ge=0.0, le=100_000.0)
    battery_mw: float = Field(0.0, ge=0.0, le=10_000.0)
    battery_round_trip_efficiency: float = Field(
        0.85, gt=0.0, le=1.0, description="NREL Annual Technology Baseline, utility-scale Li-ion: 85 %"
    )


YEARS = (1900, 2200)  # [M] a planning horizon: weather, grids and prices exist for no year outside it


def _plausible_year(value):
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"year {value.year} is outside {YEARS[0]}..{YEARS[1]}")
    return value


class _Window(_Model):
    """A stretch of the run: from start (UTC unless an offset is given) for duration."""

    start: dt.datetime = Field(
        strict=False, description="date and time it begins, UTC unless an offset is given, e.g. 2023-07-20T14:00"
    )
    duration: Annotated[str, Field(description="e.g. '1h'")]

    @field_validator("duration", mode="before")
    @classmethod
    def _duration_string(cls, value):
        if parse_duration_s(value) <= 0:
            raise ValueError(f"'{clip(value)}' is no time at all; a window lasts at least 1s")
        return value

    @field_validator("start")
    @classmethod
    def _plausible_time(cls, value):
        return _plausible_year(value)

    @property
    def duration_s(self):
        return parse_duration_s(self.duration)


class DemandResponse(_Window):
    """A window in which the grid asks the facility to draw at most cap_mw."""

    cap_mw: float = Field(ge=0.0, le=1e5, description="most the facility may draw from the grid meanwhile")


class Facility(_Model):
    halls: list[Hall] = Field(min_length=1, max_length=100)
    cooling: Cooling
    power_chain: PowerChain = PowerChain()
    heat_reuse_fraction: float = Field(
        0.0, ge=0.0, le=1.0, description="share of rejected heat exported for reuse; gives ERF"
    )
    onsite: OnSiteSupply = OnSiteSupply()
    grid_connection_mw: float | None = Field(
        None,
        gt=0.0,
        le=1e5,
        description="most the facility may draw from the grid; GPUs are power-capped to stay below it",
    )
    demand_response: list[DemandResponse] = Field(default_factory=list, max_length=10_000)

    @field_validator("halls")
    @classmethod
    def _unique_hall_names(cls, halls):
        seen = {}
        for k, hall in enumerate(halls):
            if hall.name in seen:
                raise ValueError(
                    f"halls[{k}].name '{clip(hall.name)}' is also the name of halls[{seen[hall.name]}]; "
                    f"each hall needs its own name (results and training refer to halls by name)"
                )
            seen[hall.name] = k
        return halls

    @model_validator(mode="after")
    def _liquid_gpus_need_liquid(self):
        gpus = catalog.load("gpus")
        for k, hall in enumerate(self.halls):
            needs = gpus[hall.gpu].get("default_cooling")
            if needs and self.cooling.type == "air":
                raise ValueError(
                    f"halls[{k}].gpu '{hall.gpu}' is built for liquid cooling ({needs}); "
                    f"cooling.type 'air' cannot cool it: use direct_to_chip or immersion"
                )
        return self

    @model_validator(mode="after")
    def _calibrations_match_cooling(self):
        """A GPU calibration's thermal path is the card as it was cooled when traced (calibrate/calibration.py)."""
        for k, hall in enumerate(self.halls):
            if hall.gpu_calibration is not None:
                from twin.params.calibration import read

                traced = read(hall.gpu_calibration)["cooling"]
                here = "air" if self.cooling.type == "air" else "liquid"
                if traced != here:
                    raise ValueError(
                        f"halls[{k}].gpu calibration {hall.gpu_calibration} was traced on a {traced}-cooled "
                        f"card; its thermal resistances do not hold under cooling.type "
                        f"'{self.cooling.type}' ({here})"
                    )
        return self


class CoolingOutage(_Window):
    """Cooling units out of service for a while (failure or maintenance)."""

    unit: Literal["chiller", "cdu", "dry_cooler"] = Field(
        description="chiller (air path), cdu or dry_cooler (liquid path)"
    )
    fraction: float = Field(1.0, gt=0.0, le=1.0, description="share of the installed units lost (1 = all)")


class PowerOutage(_Window):
    """UPS modules out of service: the UPS carries less, and the GPUs are power-limited to fit."""

    unit: Literal["ups"] = Field("ups", description="ups (modules of power_chain.ups.module_kw)")
    modules_lost: int = Field(ge=1, le=10_000, description="UPS modules out")


class Faults(_Model):
    cooling_outages: list[CoolingOutage] = Field(default_factory=list, max_length=10_000)
    power_outages: list[PowerOutage] = Field(default_factory=list, max_length=10_000)
    gpu_failures_per_gpu_day: float = Field(
        0.0, ge=0.0, le=1.0, description="GPU failure rate (Llama 3 pre-training: 4.74e-4, catalog workload.yaml)"
    )
    gpu_repair_hours: float = Field(
        _WORKLOAD["gpu_repair_hours"], gt=0.0, le=24 * 365.0, description="how long a failed GPU is out of service"
    )


class Inference(_Model):
    """LLM serving demand, as a share of the fleet's serving capacity."""

    model: str = Field(_INFERENCE["model"], description="served model from twin/catalog/models.yaml")
    tokens_per_gpu_s: float | None = Field(
        None, gt=0.0, le=1e6, description="output tokens/s of one GPU at utilisation 1 (default: catalog)"
    )
    utilization_ceiling: float = Field(
        _INFERENCE["utilization_ceiling"],
        gt=0.0,
        le=1.0,
        description="highest GPU utilisation the serving layer allows",
    )
    peak_demand_fraction: float = Field(
        _INFERENCE["peak_demand_fraction"], ge=0.0, le=2.0, description="demand at the daily peak / fleet capacity"
    )
    trough_demand_fraction: float = Field(
        _INFERENCE["trough_demand_fraction"], ge=0.0, le=2.0, description="demand at the daily trough / fleet capacity"
    )
    peak_hour_local: float = Field(_INFERENCE["peak_hour_local"], ge=0.0, lt=24.0)
    weekend_factor: float = Field(
        _INFERENCE["weekend_factor"], ge=0.0, le=2.0, description="weekend demand / weekday demand"
    )
    growth_per_year: float = Field(
        0.0,
        ge=-0.99,
        le=100.0,
        description="demand growth over the run, compounded continuously from its start (0.5: +50 %/yr)",
    )
    noise_cv: float = Field(
        _INFERENCE["noise_cv"], ge=0.0, le=1.0, description="coefficient of variation of hourly demand noise"
    )
    throughput_scale: float = Field(
        1.0,
        gt=0.0,
        le=1e4,
        description="output tokens per GPU-second relative to the catalog at the same power (efficiency projections)",
    )
    input_tokens_per_output_token: float | None = Field(
        None,
        ge=0.0,
        le=1e4,
        description="prompt tokens served per output token (default: the trace's ratio); "
        "needed for saiq.token_basis input_and_output without a trace",
    )
    trace: str | None = Field(
        None,
        description="a request trace (catalog demand_traces.yaml: azure-conv, azure-code, "
        "mooncake-conv) whose per-minute output tokens, looped, shape demand "
        "within the hour",
    )

    @field_validator("trace")
    @classmethod
    def _known_trace(cls, value):
        names = sorted(catalog.load("demand_traces"))
        if value is not None and value not in names:
            raise ValueError(f"unknown trace '{value}'{_did_you_mean(value, names)}; allowed: {', '.join(names)}")
        return value

    @field_validator("model")
    @classmethod
    def _known_model(cls, value):
        names = sorted(catalog.load("models"))
        if value not in names:
            raise ValueError(f"unknown model '{value}'{_did_you_mean(value, names)}; allowed: {', '.join(names)}")
        return value

    @model_validator(mode="after")
    def _trough_below_peak(self):
        if self.trough_demand_fraction > self.peak_demand_fraction:
            raise ValueError(
                f"trough_demand_fraction ({self.trough_demand_fraction}) exceeds "
                f"peak_demand_fraction ({self.peak_demand_fraction})"
            )
        return self


class Training(_Model):
    """Training jobs on one hall's GPUs: Poisson arrivals, scheduled FIFO with backfill, or shifted to
    cleaner or cheaper hours within their deadline (twin/sim/scheduler.py)."""

    hall: str = Field(description="name of the facility hall whose GPUs run training")
    model_params_billion: float = Field(gt=0.0, le=1e5, description="parameters N: 6 N FLOPs per token processed")
    mfu: float = Field(_TRAINING["mfu"], gt=0.0, le=1.0, description="model FLOPs utilisation")
    arrivals_per_day: float = Field(gt=0.0, le=1e5)
    job_gpus: list[int] = Field(min_length=1, description="job sizes in GPUs, drawn uniformly")
    job_hours_mean: float = Field(gt=0.0, le=24 * 365.0, description="mean run time at full speed (exponential)")
    deferrable_fraction: float = Field(0.0, ge=0.0, le=1.0, description="share of jobs that may wait for better hours")
    deadline_hours: float = Field(24.0, gt=0.0, le=24 * 365.0, description="from arrival to required completion")
    policy: Literal["fifo", "carbon_aware", "price_aware"] = "fifo"
    forecast_noise_cv: float = Field(0.1, ge=0.0, le=2.0, description="error of the grid forecast the scheduler uses")
    checkpoint_interval_min: float = Field(_TRAINING["checkpoint_interval_min"], gt=0.0, le=1e5)
    restart_min: float = Field(_TRAINING["restart_min"], ge=0.0, le=1e5)

    @field_validator("job_gpus")
    @classmethod
    def _positive_sizes(cls, value):
        if any(g < 1 for g in value):
            raise ValueError("job sizes must be 1 GPU or more")
        return value


class Workload(_Model):
    inference: Inference
    training: Training | None = None


class Economics(_Model):
    energy_tariff: Literal["site_hourly", "flat"] = "site_hourly"
    flat_price_usd_per_kwh: float | None = Field(None, ge=0.0, le=5.0)
    price_adder_usd_per_kwh: float = Field(
        0.0,
        ge=-1.0,
        le=5.0,
        description="added to every hour of a wholesale site price (network charges, "
        "taxes, supplier margin); not to a site whose price is a retail tariff",
    )
    demand_charge_usd_per_kw_month: float = Field(
        0.0, ge=0.0, le=500.0, description="charged on each month's highest grid draw (step mean)"
    )
    water_price_usd_per_m3: float | None = Field(
        None, ge=0.0, le=100.0, description="default: the bundled site's water price, else the catalog's"
    )
    facility_capex_usd_per_mw_it: float | None = Field(
        None, ge=0.0, le=1e9, description="default: the catalog's figure for the cooling type"
    )
    server_capex_usd: float | None = Field(None, ge=0.0, le=1e8, description="per server (default: catalog per GPU)")
    server_lifetime_years: float = Field(_ECON["server_lifetime_years"], gt=0.0, le=30.0)
    facility_lifetime_years: float = Field(_ECON["facility_lifetime_years"], gt=0.0, le=60.0)
    fixed_opex_fraction_of_capex_per_year: float = Field(_ECON["fixed_opex_fraction_of_capex_per_year"], ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _flat_needs_price(self):
        if self.energy_tariff == "flat" and self.flat_price_usd_per_kwh is None:
            raise ValueError("energy_tariff 'flat' needs flat_price_usd_per_kwh")
        return self


class SaiqWeights(_Model):
    w1: float = Field(1.0, ge=0.0, le=1e12, description="weight of USD/token")
    w2: float = Field(1.0, ge=0.0, le=1e12, description="weight of MWh/token")
    w3: float = Field(1.0, ge=0.0, le=1e12, description="weight of tCO2e/token")
    w4: float = Field(1.0, ge=0.0, le=1e12, description="weight of m3 water/token")

    @model_validator(mode="after")
    def _some_weight(self):
        if not (self.w1 or self.w2 or self.w3 or self.w4):
            raise ValueError("w1..w4 are all 0: SAIQ would be 0 for any design; give at least one a positive weight")
        return self


class SaiqComponents(_Model):
    usd_per_token: float = Field(gt=0.0)
    mwh_per_token: float = Field(gt=0.0)
    tco2e_per_token: float = Field(gt=0.0)
    m3_per_token: float = Field(gt=0.0)


class SaiqReference(_Model):
    """What the SAIQ index compares with: a reference scenario file, or its four components."""

    scenario: Path | None = Field(None, strict=False)
    components: SaiqComponents | None = None

    @field_validator("scenario")
    @classmethod
    def _scenario_exists(cls, value, info: ValidationInfo):
        return _existing_file(value, info, "reference scenario")

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.scenario is None) == (self.components is None):
            raise ValueError("give exactly one of 'scenario' (a reference scenario file) or 'components'")
        return self


class Saiq(_Model):
    weights: SaiqWeights = SaiqWeights()
    token_basis: Literal["output", "input_and_output"] = Field(
        "output", description="tokens a SAIQ component is per: output tokens, or prompt and output tokens"
    )
    embodied_carbon: bool = Field(
        False,
        description="add servers' and facility's embodied carbon, amortised over their lives, to the carbon component",
    )
    reference: SaiqReference | None = None


class Results(_Model):
    """What a run keeps besides the facility's per-step series."""

    rack_series: Literal["hourly", "step", "none"] = Field(
        "hourly",
        description="per-rack means of each hall (power, utilisation, clock, die and coolant temperature): "
        "per hour (default), per step, or none; written to racks.parquet",
    )


class Scenario(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="names the results folder")
    seed: int = Field(0, ge=0, le=2**63 - 1)
    start: dt.date = Field(description="ISO date, simulation starts at 00:00 UTC")
    duration: Annotated[str, Field(description="e.g. '7d', '1y' (365 d)")]
    step: Annotated[str, Field(description="e.g. '60s', '15m'; 1 s to 1 h")] = "60s"
    site: Site
    facility: Facility
    workload: Workload
    economics: Economics = Economics()
    saiq: Saiq = Saiq()
    faults: Faults = Faults()
    results: Results = Results()
    sites: list[str] | None = Field(
        None, min_length=1, max_length=200, description="bundled sites that `twin compare` runs this design at"
    )

    @field_validator("sites")
    @classmethod
    def _known_sites(cls, value):
        names = bundled_site_names()
        unknown = [v for v in (value or []) if v not in names]
        if unknown:
            raise ValueError(
                f"unknown site(s) {', '.join(repr(u) + _did_you_mean(u, names) for u in unknown)}; "
                f"allowed: {', '.join(names)}"
            )
        if value and len(set(value)) != len(value):
            raise ValueError("a site is listed twice")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _iso_date(cls, value):
        if isinstance(value, dt.datetime):
            raise ValueError("start is a date (YYYY-MM-DD); the run starts at 00:00 UTC")
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"'{clip(value)}' is not an ISO date (YYYY-MM-DD)") from None
        return value

    @field_validator("start")
    @classmethod
    def _plausible_start(cls, value):
        return _plausible_year(value)

    @field_validator("duration", "step", mode="before")
    @classmethod
    def _duration_string(cls, value):
        parse_duration_s(value)
        return value

    @model_validator(mode="after")
    def _steps_fit(self):
        step_s, duration_s = parse_duration_s(self.step), parse_duration_s(self.duration)
        if not 1 <= step_s <= 3600:
            raise ValueError(f"step '{self.step}' must be between 1s and 1h")
        if not step_s <= duration_s <= 10 * 365 * 86400:
            raise ValueError(f"duration '{self.duration}' must be at least one step and at most 10y")
        if duration_s % step_s:
            raise ValueError(f"duration '{self.duration}' is not a whole number of steps of '{self.step}'")
        if 3600 % step_s:
            raise ValueError(f"step '{self.step}' must divide one hour (hourly site series)")
        return self

    @model_validator(mode="after")
    def _model_runs_on_gpus(self):
        inference = self.workload.inference
        if inference.tokens_per_gpu_s is None:
            served_on = catalog.load("models")[inference.model]
            training = self.workload.training
            for k, hall in enumerate(self.facility.halls):
                if training is not None and hall.name == training.hall:
                    continue
                if hall.gpu not in served_on:
                    raise ValueError(
                        f"workload.inference.model '{inference.model}' has no measured throughput on "
                        f"facility.halls[{k}].gpu '{hall.gpu}' (catalog has: {', '.join(served_on)}); "
                        f"set workload.inference.tokens_per_gpu_s"
                    )
        return self

    @model_validator(mode="after")
    def _training_hall_fits(self):
        training = self.workload.training
        if training is None:
            return self
        halls = {h.name: h for h in self.facility.halls}
        if training.hall not in halls:
            raise ValueError(
                f"workload.training.hall '{training.hall}' is not a facility hall (halls: {', '.join(halls)})"
            )
        hall = halls[training.hall]
        gpus = hall.rack_count * hall.servers_per_rack * hall.server_spec()[0]
        if max(training.job_gpus) > gpus:
            raise ValueError(
                f"workload.training.job_gpus {max(training.job_gpus)} exceeds the {gpus} GPUs of hall '{hall.name}'"
            )
        if hall.gpu not in _TRAINING["bf16_dense_tflops"]:
            raise ValueError(
                f"workload.training: hall '{hall.name}' GPU '{hall.gpu}' has no BF16 peak in the catalog "
                f"(known: {', '.join(_TRAINING['bf16_dense_tflops'])})"
            )
        if len(self.facility.halls) < 2:
            raise ValueError("workload.training needs its own hall besides the inference hall(s)")
        return self

    def _halls_in(self, table, what, then, prefix=""):
        """Every hall's GPU in a catalog table, or a ValueError naming the hall and what to do."""
        for k, hall in enumerate(self.facility.halls):
            if hall.gpu not in table:
                raise ValueError(
                    f"{prefix}facility.halls[{k}].gpu '{hall.gpu}' has no {what} in the catalog "
                    f"(known: {', '.join(table)}); {then}"
                )

    @model_validator(mode="after")
    def _gpus_have_prices(self):
        if self.economics.server_capex_usd is None:
            self._halls_in(
                catalog.load("economics")["server_capex_usd"], "server price", "set economics.server_capex_usd"
            )
        return self

    @model_validator(mode="after")
    def _embodied_carbon_known(self):
        if self.saiq.embodied_carbon:
            self._halls_in(
                catalog.load("embodied")["server_kgco2e"],
                "embodied carbon",
                "add it to catalog embodied.yaml or turn saiq.embodied_carbon off",
                "saiq.embodied_carbon: ",
            )
        return self

    @model_validator(mode="after")
    def _input_tokens_known(self):
        inference = self.workload.inference
        if (
            self.saiq.token_basis == "input_and_output"
            and inference.trace is None
            and inference.input_tokens_per_output_token is None
        ):
            raise ValueError(
                "saiq.token_basis 'input_and_output' needs workload.inference.trace or "
                "workload.inference.input_tokens_per_output_token"
            )
        return self

    @model_validator(mode="after")
    def _outages_fit(self):
        start = dt.datetime.combine(self.start, dt.time())
        end = start + dt.timedelta(seconds=parse_duration_s(self.duration))
        for kind, outages in (
            ("cooling_outages", self.faults.cooling_outages),
            ("power_outages", self.faults.power_outages),
        ):
            for k, outage in enumerate(outages):
                at = (
                    outage.start.replace(tzinfo=None)
                    if outage.start.tzinfo is None
                    else outage.start.astimezone(dt.timezone.utc).replace(tzinfo=None)
                )
                if not start <= at < end:
                    raise ValueError(
                        f"faults.{kind}[{k}].start {outage.start.isoformat()} is outside the run "
                        f"({start.isoformat()} to {end.isoformat()} UTC)"
                    )
        for k, outage in enumerate(self.faults.cooling_outages):
            if outage.unit in ("cdu", "dry_cooler") and self.facility.cooling.type == "air":
                raise ValueError(
                    f"faults.cooling_outages[{k}].unit '{outage.unit}' needs liquid cooling; "
                    f"an air-cooled facility has: chiller"
                )
        self._outages_within_units()
        return self

    def _outages_within_units(self):
        """Cooling outages of one unit that overlap may together take out at most all of its units (the
        plant's available count would go negative)."""
        outages = self.faults.cooling_outages
        spans = [
            (
                o.start.timestamp() if o.start.tzinfo else o.start.replace(tzinfo=dt.timezone.utc).timestamp(),
                o.duration_s,
            )
            for o in outages
        ]
        for k, (at, _) in enumerate(spans):
            active = [
                j
                for j, (start_j, dur_j) in enumerate(spans)
                if outages[j].unit == outages[k].unit and start_j <= at < start_j + dur_j
            ]
            share = sum(outages[j].fraction for j in active)
            if share > 1.0 + 1e-9:
                raise ValueError(
                    f"faults.cooling_outages[{k}] overlaps "
                    f"{', '.join(f'cooling_outages[{j}]' for j in active if j != k)}: together they take "
                    f"{share:.0%} of the {outages[k].unit} units out at {outages[k].start.isoformat()}; "
                    f"allowed: at most 100 % at any time"
                )

    def input_files(self):
        """The files this scenario reads besides itself: a results folder must never hold one."""
        files = [self.site.weather_file, self.site.grid_file, self.saiq.reference and self.saiq.reference.scenario]
        for hall in self.facility.halls:
            files += [hall.gpu_calibration, hall.rack_calibration]
        return [Path(f) for f in files if f]

    @property
    def step_s(self):
        return parse_duration_s(self.step)

    @property
    def n_steps(self):
        return parse_duration_s(self.duration) // self.step_s


# ---------------------------------------------------------------- loading and errors


class ScenarioError(InputError):
    """Every problem found in a scenario file, each naming file, line, field and what is allowed."""


def _did_you_mean(value, options):
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _node_at(root, loc):
    """The YAML node at a pydantic location, and whether the last key was found."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node = value
                    break
            else:
                return node, False
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node, False
    return node, True


_FIELD_PATH = re.compile(r"[A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*")


def _mentioned_loc(root, loc, msg):
    """loc, or the location of the first field that a model-level message names below it and that the
    YAML holds (a check of step against duration names 'step': its line, not the top level's)."""
    node, found = _node_at(root, loc)
    if not found or not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return loc
    for match in _FIELD_PATH.finditer(msg.removeprefix("Value error, ")):
        parts = tuple(int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]", match.group(0)) if p)
        for base in (loc[:k] for k in range(len(loc), -1, -1)):  # the message may name it from a parent
            if _node_at(root, base + parts)[1]:
                return base + parts
    return loc


def _path_at(node, mark, path=()):
    """The dotted field path of the key or value that starts at a YAML mark, or None."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = path + (str(key.value),) if isinstance(key, yaml.ScalarNode) else path
            if key.start_mark.index == mark.index or value.start_mark.index == mark.index:
                return ".".join(here).replace(".[", "[")
            found = _path_at(value, mark, here)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for k, item in enumerate(node.value):
            if item.start_mark.index == mark.index:
                return ".".join(path + (f"[{k}]",)).replace(".[", "[")
            found = _path_at(item, mark, path + (f"[{k}]",))
            if found:
                return found
    return None


def _key_line(root, loc):
    """1-based line of the key (or the nearest enclosing node) at loc."""
    if not loc:
        return 1
    parent, found = _node_at(root, loc[:-1])
    if found and isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(loc[-1]):
                return key.start_mark.line + 1
    return parent.start_mark.line + 1 if parent is not None else 1


def _model_at(loc):
    """The pydantic model class whose fields sit at loc (for did-you-mean on unknown keys)."""
    model = Scenario
    for k, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if k and loc[k - 1] == "cooling" and part in COOLING_TYPES:
            model = COOLING_TYPES[part]
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        candidates += [a for c in candidates for a in getattr(c, "__args__", ())]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return None
        model = nxt
    return model


def _without_tags(loc):
    """Drop the discriminator tag pydantic puts after 'cooling' (the YAML has no such key)."""
    return tuple(p for k, p in enumerate(loc) if not (k and loc[k - 1] == "cooling" and p in COOLING_TYPES))


def _format_error(err, source, root):
    tagged = tuple(err["loc"])
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        tag = (err.get("ctx") or {}).get("tag")
        allowed = ", ".join(f"'{t}'" for t in COOLING_TYPES)
        err = {
            "type": "value_error",
            "loc": tagged + ("type",),
            "input": tag,
            "msg": (
                f"unknown type{_did_you_mean(tag, COOLING_TYPES)}; allowed: {allowed}"
                if tag is not None
                else f"required field is missing; allowed: {allowed}"
            ),
        }
        tagged = err["loc"]
    loc = _without_tags(tagged)
    if err["type"] == "value_error" and root is not None:  # a check across fields: point at the one it names
        loc = _mentioned_loc(root, loc, err["msg"])
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[") or "(top level)"
    line = _key_line(root, loc) if root is not None else 1
    where = f"{source}:{line}: {path}"
    if err["type"] == "extra_forbidden":
        model = _model_at(tagged[:-1])
        allowed = sorted(model.model_fields) if model else []
        return f"{where}: unknown key '{loc[-1]}'{_did_you_mean(loc[-1], allowed)}; allowed keys: {', '.join(allowed)}"
    if err["type"] == "missing":
        return f"{where}: required field is missing"
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, bool) and err["type"] in ("int_type", "float_type"):
        msg = f"a number is needed here, not the boolean {str(value).lower()}"
    elif err["type"] == "string_type":
        kind = (
            "a list"
            if isinstance(value, list)
            else "a mapping"
            if isinstance(value, dict)
            else "a number"
            if isinstance(value, (int, float))
            else "nothing"
        )
        msg = f"text is needed here, not {kind}"
    elif err["type"] == "string_pattern_mismatch" and loc == ("name",):
        msg = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters (it names the results folder)"
    elif isinstance(value, float) and err["type"] == "int_type":
        msg = "a whole number is needed here"
    elif isinstance(value, str) and err["type"] in ("int_type", "float_type"):
        try:
            float(value)
            msg = (
                f"a number is needed here; YAML reads {clip(value)} as text (an exponent needs a dot: write "
                f"1.0e3, not 1e3)"
            )
        except ValueError:
            msg = "a number is needed here, not text (write it without quotes or units)"
    text = (
        value.isoformat()
        if isinstance(value, (dt.date, dt.datetime))
        else str(value).lower()
        if isinstance(value, bool)
        else repr(value)
    )
    shown = "" if isinstance(value, (dict, list)) else f" = {clip(text)}"
    return f"{where}{shown}: {msg}"


def _drop_misspelt_missing(errors):
    """A 'missing' field next to an unknown key that is its near-spelling is one mistake, reported once."""
    unknown = {(e["loc"][:-1], str(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden" and e["loc"]}

    def misspelt(e):
        if e["type"] != "missing" or not e["loc"]:
            return False
        parent, name = e["loc"][:-1], str(e["loc"][-1])
        return any(p == parent and difflib.get_close_matches(k, [name], n=1, cutoff=0.6) for p, k in unknown)

    return [e for e in errors if not misspelt(e)]


def load_scenario_text(text, source="<scenario>", base_dir=None):
    """Parse and validate scenario YAML text; raises ScenarioError listing every problem."""
    root = None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml_input.load(text)
    except yaml.MarkedYAMLError as exc:
        line, _, problem = yaml_input.problem_line(exc).partition(": ")
        path = _path_at(root, exc.problem_mark) if root is not None and exc.problem_mark else None
        raise ScenarioError([f"{source}:{line}: {path + ': ' if path else ''}{problem}"]) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise ScenarioError([f"{source}: not readable as YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                f"{source}:1: a scenario is a YAML mapping of keys (name, start, site, ...), "
                f"not {'an empty file' if data is None else 'a list' if isinstance(data, list) else 'a single value'}"
            ]
        )
    if {"base", "axes"} <= set(data):
        raise ScenarioError([f"{source}:1: this is a sweep file (base, axes): run it with python -m twin sweep"])
    context = {"base_dir": Path(base_dir) if base_dir is not None else Path(".")}
    try:
        return Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError([_format_error(e, source, root) for e in _drop_misspelt_missing(exc.errors())]) from None
    except RecursionError:
        raise ScenarioError([f"{source}: the scenario is nested too deeply"]) from None


def load_scenario(path):
    """Load a scenario file; relative paths inside it resolve against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: scenario file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: cannot read scenario file ({exc})"]) from None
    return load_scenario_text(text, source=str(path), base_dir=path.parent)
