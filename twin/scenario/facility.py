"""The site and the facility of a scenario: halls of racks, cooling, power chain, on-site supply, grid limits."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from twin import catalog
from twin.errors import clip, did_you_mean
from twin.physics.cooling import LIQUID_CLASSES_C
from twin.scenario.base import AIR_DEFAULTS, CHAIN_DEFAULTS, ScenarioModel, Window, existing_file
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


class RackGroup(ScenarioModel):
    """Racks of a hall that differ from its others in how many servers they hold (their power density)."""

    count: int = Field(ge=1, le=100_000, description="racks of this kind")
    servers_per_rack: int = Field(ge=1, le=256, description="servers in each (e.g. 128 nodes in a Frontier cabinet)")
    power_limit_kw: float | None = Field(None, gt=0.0, le=10_000.0, description="each rack's power limit")


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
        names = catalog.gpu_names()
        if value not in names:
            raise ValueError(f"unknown GPU '{value}'{did_you_mean(value, names)}; allowed: {', '.join(names)}")
        return value

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

    def rack_servers(self):
        """Servers in each rack of the hall, in row order."""
        order = self.rack_group_order()
        if order is None:
            return [self.servers_per_rack] * self.rack_count
        return [self.racks[j].servers_per_rack for j in order]

    def rack_power_limits_w(self):
        """Each rack's power limit at the wall [W], in row order (inf: none)."""
        hall = self.rack_power_limit_kw * 1e3 if self.rack_power_limit_kw is not None else float("inf")
        order = self.rack_group_order()
        if order is None:
            return [hall] * self.rack_count
        own = [g.power_limit_kw * 1e3 if g.power_limit_kw is not None else hall for g in self.racks]
        return [own[j] for j in order]

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

    def server_spec(self):
        """(gpus_per_server, host_idle_w, host_max_w) with catalog defaults filled in."""
        server = catalog.load("gpus")[self.gpu]["server"]
        return (
            self.gpus_per_server or server["gpus_per_server"],
            server["host_idle_w"] if self.host_idle_w is None else self.host_idle_w,
            server["host_max_w"] if self.host_max_w is None else self.host_max_w,
        )


class AirPath(ScenarioModel):
    """The air path: CRAH/AHU fans + water-cooled chillers + cooling tower + economisers."""

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
