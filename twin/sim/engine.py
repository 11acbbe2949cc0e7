"""Builds the plant arrays from a Scenario and runs the simpy environment.

Events are few: the environment advances from one control boundary to the next (a
simulated day here; job arrivals, faults and control changes join them in later issues)
and between two events one numba call advances every hall and the plant over all steps.
"""

import numpy as np
import simpy

from twin import catalog
from twin.physics import cooling, power
from twin.physics.facility import Halls, PowerChainParams, Prices, advance
from twin.sim.ledger import Ledger
from twin.sim.workload import inference_demand_fraction, served_utilization
from twin.sites.library import load_site
from twin.sites.readers import HOURS_PER_YEAR

SECONDS_PER_YEAR = 365.0 * 86400.0
CONTROL_INTERVAL_S = 86400  # one simulated day between control events


def step_times_utc(scenario):
    """UTC start of every step (datetime64[s])."""
    start = np.datetime64(scenario.start.isoformat(), "s")
    return start + np.arange(scenario.n_steps, dtype=np.int64) * np.timedelta64(scenario.step_s, "s")


def hour_of_year(times_utc):
    """Fractional UTC hour-of-year of each time; 29 February folds onto 28 February."""
    days = times_utc.astype("datetime64[D]")
    years = times_utc.astype("datetime64[Y]")
    doy = (days - years.astype("datetime64[D]")).astype(np.int64)
    year = years.astype(np.int64) + 1970
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    doy = np.where(leap & (doy >= 59), doy - 1, doy)
    seconds = (times_utc - days).astype("timedelta64[s]").astype(np.int64)
    return doy * 24.0 + seconds / 3600.0


def site_per_step(site, times_utc):
    """Site series at every step: temperatures interpolated between hours, grid values held per hour."""
    h = hour_of_year(times_utc)
    i0 = np.floor(h).astype(np.int64) % HOURS_PER_YEAR
    i1 = (i0 + 1) % HOURS_PER_YEAR
    frac = h - np.floor(h)
    lerp = lambda a: a[i0] * (1.0 - frac) + a[i1] * frac  # noqa: E731
    return {
        "drybulb_c": lerp(site.drybulb_c), "wetbulb_c": lerp(site.wetbulb_c),
        "carbon_g_per_kwh": site.carbon_g_per_kwh[i0], "water_l_per_kwh": site.water_l_per_kwh[i0],
        "price_usd_per_kwh": site.price_usd_per_kwh[i0],
    }


def build_halls(scenario):
    gpus = catalog.load("gpus")
    models = catalog.load("models")
    inference = scenario.workload.inference
    rows = []
    for hall in scenario.facility.halls:
        gpus_per_server, host_idle_w, host_max_w = hall.server_spec()
        spec = gpus[hall.gpu]
        tokens = inference.tokens_per_gpu_s or models[inference.model][hall.gpu]["output_tokens_per_s_per_gpu"]
        rows.append((hall.rack_count * hall.servers_per_rack, gpus_per_server, spec["idle_w"], spec["tdp_w"],
                     host_idle_w, host_max_w, tokens))
    cols = np.array(rows, dtype=np.float64).T
    return Halls(*cols)


def design_it_power_w(halls):
    """Nameplate IT power [W]: every server at full GPU and host power."""
    return float(np.sum(halls.servers * (halls.gpus_per_server * halls.gpu_max_w + halls.host_max_w)))


def build_power_chain(scenario, design_it_w):
    pc = scenario.facility.power_chain
    other_w = pc.other_power_fraction_of_design_it * design_it_w
    return PowerChainParams(
        transformer_rating_w=0.0,  # set once the design facility load is known (build_plant)
        transformer_no_load_fraction=pc.transformer.no_load_loss_fraction,
        transformer_load_loss_fraction=pc.transformer.load_loss_fraction,
        ups_rating_w=pc.ups.sizing_factor * design_it_w,
        ups_no_load_fraction=pc.ups.no_load_fraction,
        ups_proportional_fraction=pc.ups.proportional_fraction,
        ups_square_fraction=pc.ups.square_fraction,
        pdu_rating_w=design_it_w,
        pdu_full_load_loss_fraction=pc.pdu_full_load_loss_fraction,
        other_power_w=other_w,
    )


def build_air_plant(cfg, design_heat_w):
    """Size the air plant for design_heat_w of white-space heat (catalog/cooling.yaml)."""
    air = catalog.load("cooling")["air"]
    curve_cfg = catalog.load("cooling")["chillers"][air["chiller_curve"]]
    curve = cooling.ChillerCurve(
        reference_cop=curve_cfg["reference_cop"],
        chw_min_c=curve_cfg["chw_leaving_range_c"][0], chw_max_c=curve_cfg["chw_leaving_range_c"][1],
        cw_min_c=curve_cfg["cw_entering_range_c"][0], cw_max_c=curve_cfg["cw_entering_range_c"][1],
        plr_min=curve_cfg["plr_min"], plr_max=curve_cfg["plr_max"],
        capft=np.array(curve_cfg["capft"]), eirft=np.array(curve_cfg["eirft"]), eirfplr=np.array(curve_cfg["eirfplr"]),
    )
    condenser_design_w = design_heat_w * (1.0 + 1.0 / curve.reference_cop)
    air_flow = cooling.crah_airflow_m3_s(design_heat_w, cfg.air_delta_t_k)
    rho_cp = cooling.WATER_DENSITY_KG_M3 * cooling.WATER_CP_J_KG_K
    chw_flow = design_heat_w / (rho_cp * cfg.chw_delta_t_k)
    cw_flow = condenser_design_w / (rho_cp * air["cw_range_k"])
    return cooling.AirPlantParams(
        design_heat_w=design_heat_w,
        condenser_design_heat_w=condenser_design_w,
        crah_design_power_w=cooling.fan_or_pump_design_power_w(air_flow, cfg.crah_fan_pressure_pa, cfg.crah_fan_efficiency),
        crah_min_speed_fraction=air["crah_min_speed_fraction"],
        chw_supply_temp_c=cfg.chw_supply_temp_c,
        chw_delta_t_k=cfg.chw_delta_t_k,
        chw_pump_design_power_w=cooling.fan_or_pump_design_power_w(chw_flow, air["chw_pump_head_pa"], air["pump_efficiency"]),
        cw_pump_design_power_w=cooling.fan_or_pump_design_power_w(cw_flow, air["cw_pump_head_pa"], air["pump_efficiency"]),
        pump_min_flow_fraction=air["pump_min_flow_fraction"],
        cw_range_k=air["cw_range_k"],
        tower_approach_k=cfg.tower_approach_k,
        tower_fan_design_power_w=air["tower_fan_kw_per_kw_design"] * condenser_design_w,
        tower_min_fan_fraction=air["tower_min_fan_fraction"],
        tower_min_water_temp_c=air["tower_min_water_temp_c"],
        cycles_of_concentration=cfg.cycles_of_concentration,
        drift_fraction=air["drift_fraction"],
        evaporative_fraction=air["evaporative_fraction"],
        economiser=cfg.economiser,
        economiser_hx_approach_k=cfg.economiser_hx_approach_k,
        chiller_min_condenser_temp_c=air["chiller_min_condenser_temp_c"],
        chiller_count=cfg.chiller_count,
        chiller_unit_capacity_w=design_heat_w * cfg.chiller_capacity_margin / cfg.chiller_count,
        chiller=curve,
    )


def build_prices(scenario, halls, design_it_w):
    econ = scenario.economics
    capex_table = catalog.load("economics")["server_capex_usd"]
    server_capex = sum(n * (econ.server_capex_usd if econ.server_capex_usd is not None else capex_table[h.gpu])
                       for n, h in zip(halls.servers, scenario.facility.halls))
    facility_capex = econ.facility_capex_usd_per_mw_it * design_it_w / 1e6
    per_year = (server_capex / econ.server_lifetime_years + facility_capex / econ.facility_lifetime_years
                + econ.fixed_opex_fraction_of_capex_per_year * (server_capex + facility_capex))
    return Prices(water_usd_per_m3=econ.water_price_usd_per_m3, fixed_usd_per_s=per_year / SECONDS_PER_YEAR)


class Plant:
    """Everything the kernel needs about the facility, sized from the scenario."""

    def __init__(self, scenario, site):
        self.halls = build_halls(scenario)
        self.design_it_w = design_it_power_w(self.halls)
        chain = build_power_chain(scenario, self.design_it_w)
        pdu_w = power.pdu_loss_w(self.design_it_w, chain.pdu_rating_w, chain.pdu_full_load_loss_fraction)
        ups_w = power.ups_loss_quadratic_w(self.design_it_w + pdu_w, chain.ups_rating_w, chain.ups_no_load_fraction,
                                           chain.ups_proportional_fraction, chain.ups_square_fraction)
        self.design_heat_w = self.design_it_w + pdu_w + ups_w + chain.other_power_w
        self.cooling = build_air_plant(scenario.facility.cooling, self.design_heat_w)
        # Transformer sized on the design facility load: full IT load in the site's hottest, most humid hour.
        design_cooling_w = sum(cooling.air_plant(self.design_heat_w, float(site.drybulb_c.max()),
                                                 float(site.wetbulb_c.max()), self.cooling)[:5])
        design_facility_w = self.design_heat_w + design_cooling_w
        self.chain = chain._replace(
            transformer_rating_w=scenario.facility.power_chain.transformer.sizing_factor * design_facility_w)
        self.prices = build_prices(scenario, self.halls, self.design_it_w)


class Simulation:
    """One run of a scenario: simpy events at control boundaries, kernels in between."""

    def __init__(self, scenario, progress=None):
        self.scenario = scenario
        self.progress = progress
        self.site = load_site(scenario.site.name, scenario.site.weather_file, scenario.site.grid_file)
        self.plant = Plant(scenario, self.site)
        self.times = step_times_utc(scenario)
        self.series = site_per_step(self.site, self.times)
        self.price = self._price_per_step()
        rng = np.random.default_rng(np.random.SeedSequence(scenario.seed))
        demand = inference_demand_fraction(scenario.workload.inference, self.times, self.site.utc_offset_h, rng)
        n_halls = self.plant.halls.servers.shape[0]
        self.demand = np.repeat(demand[:, None], n_halls, axis=1)  # the load balancer shares demand evenly
        self.utilization = served_utilization(self.demand, scenario.workload.inference.utilization_ceiling)
        self.ledger = Ledger(self.times)

    def _price_per_step(self):
        econ = self.scenario.economics
        base = (self.series["price_usd_per_kwh"] if econ.energy_tariff == "site_hourly"
                else np.full(self.times.shape[0], econ.flat_price_usd_per_kwh))
        return base + econ.price_adder_usd_per_kwh

    def _advance(self, i0, i1):
        s = self.series
        advance(i0, i1, float(self.scenario.step_s), self.utilization, self.demand, s["drybulb_c"], s["wetbulb_c"],
                s["carbon_g_per_kwh"], s["water_l_per_kwh"], self.price, self.plant.halls, self.plant.cooling,
                self.plant.chain, self.plant.prices, self.ledger.values)

    def _process(self, env):
        n = self.times.shape[0]
        steps_per_event = max(1, CONTROL_INTERVAL_S // self.scenario.step_s)
        i = 0
        while i < n:
            j = min(n, i + steps_per_event)
            self._advance(i, j)
            yield env.timeout((j - i) * self.scenario.step_s)
            i = j
            if self.progress is not None:
                self.progress(i, n)

    def run(self):
        env = simpy.Environment()
        env.process(self._process(env))
        env.run()
        return self.ledger
