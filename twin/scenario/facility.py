"""The site and the facility of a scenario: halls of racks, cooling, power chain, on-site supply, grid limits."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from twin import catalog
from twin.errors import clip, did_you_mean
from twin.physics.cooling import INLET_ALLOWABLE_MAX_C, LIQUID_CLASSES_C
from twin.scenario.base import AIR_DEFAULTS, CHAIN_DEFAULTS, ScenarioModel, Window, existing_file
from twin.scenario.hall import Hall
from twin.sites import bundled_site_names


class Site(ScenarioModel):
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
                f"unknown site '{value}'{did_you_mean(value, bundled_site_names())}; "
                f"allowed: {', '.join(bundled_site_names())}"
            )
        return value

    @field_validator("weather_file")
    @classmethod
    def _weather_exists(cls, value, info: ValidationInfo):
        return existing_file(value, info, "weather file")

    @field_validator("grid_file")
    @classmethod
    def _grid_exists(cls, value, info: ValidationInfo):
        return existing_file(value, info, "grid file")

    @model_validator(mode="after")
    def _has_grid(self):
        if self.name is None and (self.weather_file is None or self.grid_file is None):
            raise ValueError("give a bundled site 'name', or both 'weather_file' and 'grid_file'")
        return self


class AirPath(ScenarioModel):
    """The air path: CRAH/AHU fans + water-cooled chillers + cooling tower + economisers."""

    archetype: Literal["modern", "legacy"] = Field(
        "modern",
        description="modern: the catalog's air defaults; legacy: catalog/cooling.yaml air_legacy for every field "
        "not given (constant-speed CRACs and pumps, 7 C chilled water, no economiser, cold supply air)",
    )
    crah_fan_control: Literal["variable", "constant"] = Field(
        "variable", description="variable: CRAH fans on VFDs/EC motors follow the load; constant: full speed always"
    )
    pump_control: Literal["variable", "constant"] = Field(
        "variable", description="variable: chilled and condenser water flow follow the load; constant: design flow"
    )
    supply_air_temp_c: float = Field(AIR_DEFAULTS["supply_air_temp_c"], ge=10.0, le=35.0)
    air_delta_t_k: float = Field(AIR_DEFAULTS["air_delta_t_k"], ge=4.0, le=25.0)
    crah_fan_pressure_pa: float = Field(AIR_DEFAULTS["crah_fan_pressure_pa"], ge=50.0, le=2000.0)
    crah_fan_efficiency: float = Field(AIR_DEFAULTS["crah_fan_efficiency"], gt=0.1, le=0.95)
    chw_supply_temp_c: float = Field(AIR_DEFAULTS["chw_supply_temp_c"], ge=4.0, le=25.0)
    chw_delta_t_k: float = Field(AIR_DEFAULTS["chw_delta_t_k"], ge=2.0, le=15.0)
    tower_approach_k: float = Field(AIR_DEFAULTS["tower_approach_k"], ge=1.5, le=10.0)
    cycles_of_concentration: float = Field(AIR_DEFAULTS["cycles_of_concentration"], ge=1.5, le=20.0)
    economiser: bool = Field(AIR_DEFAULTS["economiser"], description="water-side economiser (plate heat exchanger)")
    economiser_hx_approach_k: float = Field(AIR_DEFAULTS["economiser_hx_approach_k"], ge=0.5, le=6.0)
    airside_economiser: bool = Field(
        AIR_DEFAULTS["airside_economiser"], description="outdoor air when cool and dry enough"
    )
    evaporative_assist: bool = Field(
        AIR_DEFAULTS["evaporative_assist"], description="direct evaporative pads on the outdoor air"
    )
    evaporative_effectiveness: float = Field(AIR_DEFAULTS["evaporative_effectiveness"], ge=0.0, le=1.0)
    heat_rejection: Literal["cooling_tower", "dry_cooler"] = Field(
        "cooling_tower",
        description="cooling_tower: water-cooled chillers + tower (evaporates water); "
        "dry_cooler: air-cooled chillers + dry-cooler economiser (no water)",
    )
    inlet_class: Literal["A1", "A2", "A3", "A4"] = Field(
        "A2",
        description="ASHRAE TC9.9 allowable server inlet class: servers shut down above its limit (hours above "
        "it are reported) and restart once back within it for catalog rows.server_restart_s",
    )
    chiller_count: int = Field(AIR_DEFAULTS["chiller_count"], ge=1, le=50)
    crah_unit_kw: float = Field(
        catalog.load("cooling")["rows"]["crah_unit_kw"], gt=0.0, le=5_000.0, description="one CRAH's rated heat"
    )
    crah_redundancy: Literal["N", "N+1", "2N"] = Field(
        catalog.load("cooling")["rows"]["crah_redundancy"], description="of each row's CRAHs"
    )
    chiller_capacity_margin: float = Field(AIR_DEFAULTS["chiller_capacity_margin"], ge=1.0, le=3.0)
    thermal_storage_min: float = Field(
        0.0,
        ge=0.0,
        le=600.0,
        description="chilled-water storage: minutes a full tank carries the air path's design heat when the "
        "chillers cannot (0: none); the summary reports its ride-through and tank volume",
    )

    @model_validator(mode="before")
    @classmethod
    def _archetype_defaults(cls, data):
        if isinstance(data, dict) and data.get("archetype") == "legacy":
            return {**catalog.load("cooling")["air_legacy"], **data}
        return data

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


class _LiquidCooling(ScenarioModel):
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
    cdu_redundancy: Literal["N", "N+1", "2N"] | None = Field(None, description="of each row's CDUs")
    cdu_unit_kw: float | None = Field(
        None, gt=0.0, le=20_000.0, description="one CDU's rated heat (default: catalog cooling.yaml rows)"
    )
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


class Ups(ScenarioModel):
    mode: Literal["double_conversion", "eco"] = CHAIN_DEFAULTS["ups"]["mode"]
    no_load_fraction: float | None = Field(None, ge=0.0, le=0.2, description="default: the mode's catalog curve")
    proportional_fraction: float | None = Field(None, ge=-0.2, le=0.2)
    square_fraction: float | None = Field(None, ge=0.0, le=0.2)
    sizing_factor: float = Field(
        CHAIN_DEFAULTS["ups"]["sizing_factor"],
        ge=0.5,
        le=4.0,
        description="UPS rating / design IT power, before redundancy",
    )
    redundancy: Literal["N", "N+1", "2N"] = CHAIN_DEFAULTS["ups"]["redundancy"]
    module_kw: float = Field(CHAIN_DEFAULTS["ups"]["module_kw"], gt=0.0, le=1e5)
    groups: int = Field(
        1,
        ge=1,
        le=1000,
        description="independent UPS systems: the rows in order are shared among them by design IT, each sized "
        "on its rows with the redundancy; modules lost in one limit its rows' racks only",
    )

    def coefficients(self):
        c = CHAIN_DEFAULTS["ups_modes"][self.mode]
        given = (self.no_load_fraction, self.proportional_fraction, self.square_fraction)
        return tuple(c[i] if v is None else v for i, v in enumerate(given))


class Transformer(ScenarioModel):
    no_load_loss_fraction: float = Field(CHAIN_DEFAULTS["transformer"]["no_load_loss_fraction"], ge=0.0, le=0.05)
    load_loss_fraction: float = Field(CHAIN_DEFAULTS["transformer"]["load_loss_fraction"], ge=0.0, le=0.1)
    sizing_factor: float = Field(CHAIN_DEFAULTS["transformer"]["sizing_factor"], ge=0.5, le=4.0)


class PowerChain(ScenarioModel):
    distribution: Literal["ac", "dc_48v_rack", "hvdc_800v"] = Field(
        "ac",
        description="ac: UPS + server PSUs; dc_48v_rack: UPS + rack 54 V shelves; hvdc_800v: DC rectifier + rack DC-DC",
    )
    transformer: Transformer = Transformer()
    ups: Ups = Ups()
    pdu_full_load_loss_fraction: float = Field(CHAIN_DEFAULTS["pdu"]["full_load_loss_fraction"], ge=0.0, le=0.1)
    other_power_fraction_of_design_it: float = Field(
        CHAIN_DEFAULTS["other"]["design_it_fraction"], ge=0.0, le=0.5, description="lighting, offices, security"
    )


COOLING_TYPES = {"air": AirCooling, "direct_to_chip": DirectToChipCooling, "immersion": ImmersionCooling}
Cooling = Annotated[AirCooling | DirectToChipCooling | ImmersionCooling, Field(discriminator="type")]


def air_path_of(cooling):
    """The air path of a facility's cooling: the air cooling itself, or a liquid design's air_path."""
    return cooling if cooling.type == "air" else cooling.air_path


def inlet_allowable_c(cooling):
    """The ASHRAE TC9.9 allowable inlet maximum [C] of the cooling's air path class: servers power off above it."""
    return INLET_ALLOWABLE_MAX_C[air_path_of(cooling).inlet_class]


class OnSiteSupply(ScenarioModel):
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


class DemandResponse(Window):
    """A window in which the grid asks the facility to draw at most cap_mw."""

    cap_mw: float = Field(ge=0.0, le=1e5, description="most the facility may draw from the grid meanwhile")


class Facility(ScenarioModel):
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
