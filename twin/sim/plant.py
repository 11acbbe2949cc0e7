"""The Plant: every array and parameter the facility kernel needs, sized from a Scenario and its site.

Catalog values are measured at the wall (server host power, PSU ratings); here they are turned
into the kernel's terms (DC host power behind the PSUs, thermal resistances from die rises at TDP,
plants sized on design heat), each derivation stated where it happens.
"""

import numpy as np

from twin import catalog
from twin.physics import cooling, power, rack
from twin.physics.air_plant import AirPlantParams, air_plant, air_plant_power_w
from twin.physics.columns import N_DRIVE
from twin.physics.liquid_plant import LiquidPlantParams, liquid_plant, liquid_plant_power_w
from twin.physics.state import (
    A_CHILLERS,
    A_DRYCOOLER,
    S_STORAGE,
    S_WATER,
    FacilityParams,
    FacilityState,
    OnSite,
    PowerChainParams,
    Prices,
)
from twin.physics.units import UnitState
from twin.scenario.facility import air_path_of
from twin.sim import topology, ups_groups
from twin.sim.accounting import SECONDS_PER_YEAR
from twin.sim.kinds import build_halls, cooling_settings, serving_curves, unit_kinds


def server_wall_power_w(halls, h, inlet_c):
    """Wall power of one server of hall h at full load, full clock and reference die temperature."""
    dc = (
        halls.gpus_per_server[h] * halls.gpu_tdp_w[h]
        + halls.host_max_w[h]
        + rack.fan_power_w(
            rack.fan_speed_fraction(
                inlet_c,
                (halls.gpus_per_server[h] * halls.gpu_tdp_w[h] + halls.host_max_w[h]) / halls.fan_design_dc_w[h],
                halls.fan_speed_at_ref[h],
                halls.fan_ref_temp_c[h],
                halls.fan_speed_per_k[h],
                halls.fan_min_speed[h],
            ),
            halls.fan_max_w[h],
        )
    )
    return rack.wall_power_w(dc, halls.psu_rating_w[h], halls.psu_c0[h], halls.psu_c1[h], halls.psu_c2[h])


def design_it_power_w(halls, design_servers, inlet_c=27.0):
    """Design IT power [W]: every server the halls are built for (design_servers, per hall) at full GPU and
    host power (fans at 27 C inlet)."""
    return float(sum(design_servers[h] * server_wall_power_w(halls, h, inlet_c) for h in range(halls.servers.shape[0])))


def design_liquid_heat_w(halls, design_servers, inlet_c=27.0):
    return float(
        sum(
            halls.liquid_fraction[h] * design_servers[h] * server_wall_power_w(halls, h, inlet_c)
            for h in range(halls.servers.shape[0])
        )
    )


def build_power_chain(scenario, design_it_w):
    pc = scenario.facility.power_chain
    if pc.distribution == "hvdc_800v":
        c0, c1, c2 = catalog.load("power_chain")["distribution"]["hvdc_800v"]["central"]
    else:
        c0, c1, c2 = pc.ups.coefficients()
    return PowerChainParams(
        transformer_rating_w=0.0,  # set once the design facility load is known (Plant)
        transformer_no_load_fraction=pc.transformer.no_load_loss_fraction,
        transformer_load_loss_fraction=pc.transformer.load_loss_fraction,
        ups_rating_w=power.installed_rating_w(
            pc.ups.sizing_factor * design_it_w, pc.ups.module_kw * 1e3, pc.ups.redundancy
        ),
        ups_c0=c0,
        ups_c1=c1,
        ups_c2=c2,
        pdu_rating_w=design_it_w,
        pdu_full_load_loss_fraction=pc.pdu_full_load_loss_fraction,
        other_power_w=pc.other_power_fraction_of_design_it * design_it_w,
    )


def chiller_curve(name):
    c = catalog.load("cooling")["chillers"][name]
    return cooling.ChillerCurve(
        reference_cop=c["reference_cop"],
        chw_min_c=c["chw_leaving_range_c"][0],
        chw_max_c=c["chw_leaving_range_c"][1],
        cw_min_c=c["cw_entering_range_c"][0],
        cw_max_c=c["cw_entering_range_c"][1],
        plr_min=c["plr_min"],
        plr_max=c["plr_max"],
        capft=np.array(c["capft"]),
        eirft=np.array(c["eirft"]),
        eirfplr=np.array(c["eirfplr"]),
    )


def build_air_plant(cfg, design_heat_w, design_wetbulb_c=None):
    """Size the air path for design_heat_w of white-space heat (catalog/cooling.yaml 'air'). Water-cooled chillers
    are sized to carry it with their margin at the site's design condenser water, the tower's approach above
    design_wetbulb_c (the 0.4 % annual cooling design wet-bulb; None: at the curve's reference capacity)."""
    air = catalog.load("cooling")["air"]
    curve = chiller_curve(air["chiller_curve"])
    capft_design = 1.0
    if design_wetbulb_c is not None and cfg.heat_rejection != "dry_cooler":
        cw_design_c = max(design_wetbulb_c + cfg.tower_approach_k, air["chiller_min_condenser_temp_c"])
        capft_design = cooling.chiller_capacity_fraction(curve, cfg.chw_supply_temp_c, cw_design_c)
    condenser_design_w = design_heat_w * (1.0 + 1.0 / curve.reference_cop)
    air_flow = cooling.crah_airflow_m3_s(design_heat_w, cfg.air_delta_t_k)
    rho_cp = cooling.WATER_DENSITY_KG_M3 * cooling.WATER_CP_J_KG_K
    chw_flow = design_heat_w / (rho_cp * cfg.chw_delta_t_k)
    cw_flow = condenser_design_w / (rho_cp * air["cw_range_k"])
    return AirPlantParams(
        design_heat_w=design_heat_w,
        condenser_design_heat_w=condenser_design_w,
        crah_design_power_w=cooling.fan_or_pump_design_power_w(
            air_flow, cfg.crah_fan_pressure_pa, cfg.crah_fan_efficiency
        ),
        crah_min_speed_fraction=1.0 if cfg.crah_fan_control == "constant" else air["crah_min_speed_fraction"],
        supply_air_temp_c=cfg.supply_air_temp_c,
        air_delta_t_k=cfg.air_delta_t_k,
        chw_supply_temp_c=cfg.chw_supply_temp_c,
        chw_delta_t_k=cfg.chw_delta_t_k,
        chw_pump_design_power_w=cooling.fan_or_pump_design_power_w(
            chw_flow, air["chw_pump_head_pa"], air["pump_efficiency"]
        ),
        cw_pump_design_power_w=cooling.fan_or_pump_design_power_w(
            cw_flow, air["cw_pump_head_pa"], air["pump_efficiency"]
        ),
        pump_min_flow_fraction=1.0 if cfg.pump_control == "constant" else air["pump_min_flow_fraction"],
        cw_range_k=air["cw_range_k"],
        tower_approach_k=cfg.tower_approach_k,
        tower_fan_design_power_w=air["tower_fan_kw_per_kw_design"] * condenser_design_w,
        tower_min_fan_fraction=air["tower_min_fan_fraction"],
        tower_min_water_temp_c=air["tower_min_water_temp_c"],
        cycles_of_concentration=cfg.cycles_of_concentration,
        drift_fraction=air["drift_fraction"],
        economiser=cfg.economiser,
        economiser_hx_approach_k=cfg.economiser_hx_approach_k,
        airside_economiser=cfg.airside_economiser,
        evaporative_assist=cfg.evaporative_assist,
        evaporative_effectiveness=cfg.evaporative_effectiveness,
        airside_max_wetbulb_c=air["airside_max_wetbulb_c"],
        chiller_min_condenser_temp_c=air["chiller_min_condenser_temp_c"],
        chiller_count=cfg.chiller_count,
        chiller_unit_capacity_w=design_heat_w * cfg.chiller_capacity_margin / cfg.chiller_count / capft_design,
        chiller=curve,
        heat_capacity_j_per_k=air["heat_capacity_s_per_k"] * design_heat_w,
        air_cooled=cfg.heat_rejection == "dry_cooler",
        dry_approach_k=air["dry_economiser_approach_k"],
        condenser_approach_k=air["air_cooled_condenser_approach_k"],
        air_cooled_carnot_efficiency=air["air_cooled_carnot_efficiency"],
        storage_j=cfg.thermal_storage_min * 60.0 * design_heat_w,
        storage_recharge_w=air["storage_recharge_fraction"] * design_heat_w,
    )


def build_liquid_plant(settings, design_heat_w):
    """Size the liquid path for design_heat_w of liquid heat; design_heat_w = 0 means no liquid path."""
    s = settings
    if design_heat_w <= 0.0:
        s = dict(catalog.load("cooling")["direct_to_chip"], supply_temp_c=30.0)
    design = max(design_heat_w, 1.0)
    rho_cp = cooling.WATER_DENSITY_KG_M3 * cooling.WATER_CP_J_KG_K
    flow_m3_s = design / (rho_cp * s["loop_delta_t_k"])
    ua = design / (s["loop_delta_t_k"] + s["drycooler_approach_k"])
    return LiquidPlantParams(
        design_heat_w=design_heat_w,
        supply_temp_c=s["supply_temp_c"],
        loop_delta_t_k=s["loop_delta_t_k"],
        coolant_approach_k=s["coolant_approach_k"],
        coolant_floor_c=s["coolant_floor_c"],
        pump_design_power_w=cooling.fan_or_pump_design_power_w(flow_m3_s, s["pump_head_pa"], s["pump_efficiency"]),
        pump_min_flow_fraction=s["pump_min_flow_fraction"],
        drycooler_ua_w_per_k=ua,
        drycooler_fan_design_power_w=s["drycooler_fan_kw_per_kw_design"] * design,
        drycooler_min_fan_fraction=s["drycooler_min_fan_fraction"],
        drycooler_air_effectiveness=s["drycooler_air_effectiveness"],
        adiabatic=bool(s["adiabatic"]),
        adiabatic_effectiveness=s["adiabatic_effectiveness"],
        trim_capacity_w=s["trim_chiller_capacity_fraction"] * design,
        trim_carnot_efficiency=s["trim_carnot_efficiency"],
        trim_condenser_approach_k=s["trim_condenser_approach_k"],
        # the facility water's share of the liquid path's thermal mass; the rest is in the rows' loops
        heat_capacity_j_per_k=(1.0 - catalog.load("cooling")["rows"]["secondary_heat_capacity_share"])
        * s["heat_capacity_s_per_k"]
        * design,
    )


def build_prices(scenario, halls, design_it_w, site):
    econ = scenario.economics
    capex_table = catalog.load("economics")["server_capex_usd"]
    server_capex = sum(
        n * (econ.server_capex_usd if econ.server_capex_usd is not None else capex_table[gpu])
        for n, (_, gpu) in zip(halls.servers, unit_kinds(scenario), strict=True)
    )
    per_mw = econ.facility_capex_usd_per_mw_it
    if per_mw is None:
        per_mw = catalog.load("economics")["facility_capex_usd_per_mw_it"][scenario.facility.cooling.type]
    facility_capex = per_mw * design_it_w / 1e6
    per_year = (
        server_capex / econ.server_lifetime_years
        + facility_capex / econ.facility_lifetime_years
        + econ.fixed_opex_fraction_of_capex_per_year * (server_capex + facility_capex)
    )
    water_price = econ.water_price_usd_per_m3
    if water_price is None:
        water_price = (
            site.water_price_usd_per_m3
            if site.water_price_usd_per_m3 is not None
            else catalog.load("economics")["water_price_usd_per_m3"]
        )
    return Prices(water_usd_per_m3=water_price, fixed_usd_per_s=per_year / SECONDS_PER_YEAR)


class Plant:
    """Everything the kernel needs about the facility, sized from the scenario, plus its state."""

    def __init__(self, scenario, site):
        cfg = scenario.facility.cooling
        self.kinds = unit_kinds(scenario)  # kind k < halls: hall k with its own GPU (build_halls)
        self.kind_hall = np.array([h for h, _ in self.kinds], dtype=np.int64)
        self.halls = build_halls(scenario, self.kinds)
        self.serving_curves = serving_curves(scenario, self.kinds)
        # servers each kind is built for: its racks', and in a hall's own kind its empty positions'
        self.design_servers = self.halls.servers.copy()
        self.n_halls = n_halls = len(scenario.facility.halls)
        self.design_servers[:n_halls] += [float(h.design_servers() - h.servers()) for h in scenario.facility.halls]
        self.design_it_w = design_it_power_w(self.halls, self.design_servers)
        chain = build_power_chain(scenario, self.design_it_w)
        pdu_w = power.pdu_loss_w(self.design_it_w, chain.pdu_rating_w, chain.pdu_full_load_loss_fraction)
        ups_w = power.converter_loss_w(
            self.design_it_w + pdu_w, chain.ups_rating_w, chain.ups_c0, chain.ups_c1, chain.ups_c2
        )
        self.design_liquid_heat_w = design_liquid_heat_w(self.halls, self.design_servers)
        self.design_heat_w = self.design_it_w + pdu_w + ups_w + chain.other_power_w
        # ASHRAE's 0.4 % annual cooling design wet-bulb: exceeded in 0.4 % of the year's hours (ASHRAE Handbook -
        # Fundamentals 2017, ch. 14), from the site's own hourly series
        design_wb_c = float(np.quantile(site.wetbulb_c, 0.996))
        self.air = build_air_plant(air_path_of(cfg), self.design_heat_w - self.design_liquid_heat_w, design_wb_c)
        self.liquid = build_liquid_plant(cooling_settings(cfg)[1], self.design_liquid_heat_w)
        # Transformer sized on the design facility load: full IT load in the site's hottest, most humid hour.
        hot_db, hot_wb = float(site.drybulb_c.max()), float(site.wetbulb_c.max())
        design_cooling_w = air_plant_power_w(
            air_plant(self.air.design_heat_w, hot_db, hot_wb, self.air, self.air.chiller_count)
        )
        if self.design_liquid_heat_w > 0.0:
            design_cooling_w += liquid_plant_power_w(
                liquid_plant(self.design_liquid_heat_w, self.liquid.supply_temp_c, hot_db, hot_wb, self.liquid, 1.0)
            )
        self.chain = chain._replace(
            transformer_rating_w=scenario.facility.power_chain.transformer.sizing_factor
            * (self.design_heat_w + design_cooling_w)
        )
        self.prices = build_prices(scenario, self.halls, self.design_it_w, site)
        supply = scenario.facility.onsite
        self.onsite = OnSite(
            battery_capacity_j=supply.battery_mwh * 3.6e9,
            battery_power_w=supply.battery_mw * 1e6,
            battery_round_trip_efficiency=supply.battery_round_trip_efficiency,
        )
        self.layout = topology.layout(scenario)
        kind_of = {kind: k for k, kind in enumerate(self.kinds)}
        self.rack_kind = np.array(  # each rack's kind, racks in layout order (hall by hall, row order)
            [kind_of[(h, gpu)] for h, hall in enumerate(scenario.facility.halls) for gpu in hall.rack_gpus()],
            dtype=np.int64,
        )
        self.server_design_w = np.array(  # one server of each kind at full load, 27 C inlet [W]
            [server_wall_power_w(self.halls, k, 27.0) for k in range(self.halls.servers.shape[0])]
        )
        self.rows = self._rows(scenario, pdu_w + ups_w + chain.other_power_w)
        ups = scenario.facility.power_chain.ups
        self.ups_row_group = ups_groups.row_groups(self.rows.design_it_w, ups.groups)
        self.ups_group_rating_w = ups_groups.group_ratings_w(self.ups_row_group, self.rows.design_it_w, ups.groups, ups)
        if ups.groups > 1:  # the groups' UPSs together: what the conversion loss curve runs on
            self.chain = self.chain._replace(ups_rating_w=float(self.ups_group_rating_w.sum()))
        self.params = FacilityParams(
            topology.rack_units(self.halls, self.rack_kind, self.layout, self._recirculation(scenario)),
            topology.topology(
                self.layout,
                self.liquid.coolant_floor_c,
                scenario,
                self.ups_row_group[self.layout.rack_row],
                self.rack_kind,
            ),
            self.rows,
            self.air,
            self.liquid,
            self.chain,
            self.onsite,
            self.prices,
        )
        self.state = self._initial_state()

    def _recirculation(self, scenario):
        """Each rack's inlet rise per W of a server's air heat, from its hall's containment (topology.py)."""
        shi = catalog.load("cooling")["rows"]["supply_heat_index"]
        hall_shi = np.array([shi[h.containment] for h in scenario.facility.halls])
        hall = self.layout.rack_hall
        server_air_w = (self.server_design_w * (1.0 - self.halls.liquid_fraction))[self.rack_kind]
        return topology.recirculation_k_per_w(
            self.layout, server_air_w, hall_shi[hall], air_path_of(scenario.facility.cooling).air_delta_t_k
        )

    def _rows(self, scenario, room_heat_w):
        """Each row's cooling units, sized on its racks' design heat and its share of the room's."""
        rack_it_w = self.server_design_w[self.rack_kind] * self.layout.rack_servers
        self.rack_design_it_w = rack_it_w  # provisioned: every server at full load (27 C inlet)
        rack_liquid_w = self.halls.liquid_fraction[self.rack_kind] * rack_it_w
        settings = cooling_settings(scenario.facility.cooling)[1]
        if self.design_liquid_heat_w <= 0.0:
            settings = dict(catalog.load("cooling")["direct_to_chip"])
        air_path = air_path_of(scenario.facility.cooling)
        nominal = np.array([float(h.servers_per_rack) for h in scenario.facility.halls])
        # an empty position: a nominal rack of the hall's own GPU (kind h is hall h's)
        empty_it_w = (self.server_design_w[: nominal.shape[0]] * nominal)[self.layout.row_hall]
        return topology.build_rows(
            scenario,
            self.layout,
            rack_it_w,
            rack_liquid_w,
            empty_it_w,
            self.halls.liquid_fraction[self.layout.row_hall] * empty_it_w,
            room_heat_w,
            self.air,
            air_path,
            self.liquid,
            settings,
            self.design_it_w,
        )

    def _initial_state(self):
        """Units in service and thermal state at the start, carried from one kernel call to the next: rows
        at their set points, dies at idle over their coolant, an empty battery."""
        available = np.zeros(2)
        available[A_CHILLERS] = self.air.chiller_count
        available[A_DRYCOOLER] = 1.0
        plant = np.zeros(3)
        plant[S_WATER] = self.liquid.supply_temp_c
        plant[S_STORAGE] = self.air.storage_j  # a full tank
        n_rows = len(self.layout.row_names)
        row_air_c = np.full(n_rows, self.air.supply_air_temp_c)
        row_coolant_c = np.full(n_rows, self.liquid.supply_temp_c + self.liquid.coolant_approach_k)
        units = self.params.units
        hall = self.rack_kind  # each rack's kind's parameters
        coolant = np.where(
            self.halls.liquid_fraction[hall] > 0.0,
            max(self.liquid.coolant_floor_c, self.liquid.supply_temp_c + self.liquid.coolant_approach_k),
            self.air.supply_air_temp_c,
        )
        idle_w = self.halls.gpu_idle_w[hall]
        die_temp_c = coolant + idle_w * (self.halls.die_r_k_per_w[hall] + self.halls.sink_r_k_per_w[hall])
        sink_temp_c = coolant + idle_w * self.halls.sink_r_k_per_w[hall]
        assert units.shape[1] == die_temp_c.shape[0]
        self.available = available
        return FacilityState(
            plant,
            available,
            row_air_c,
            row_coolant_c,
            self.rows.crah_units.copy(),
            self.rows.cdu_units.copy(),
            UnitState(*(np.zeros_like(die_temp_c) for _ in UnitState._fields))._replace(
                die_temp_c=die_temp_c, sink_temp_c=sink_temp_c
            ),
            np.zeros((N_DRIVE, units.shape[1])),
        )

    def chillers_lost(self, fraction):
        """Whole chillers out of service for a lost share of the installed ones (at least one)."""
        return min(self.air.chiller_count, max(1, round(fraction * self.air.chiller_count)))
