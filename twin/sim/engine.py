"""Runs one scenario: site series per step, the simpy environment, and the kernels between events.

Events are few: a daily control boundary, the start and end of every cooling or power outage,
and training jobs' arrivals, ends, GPU failures and repairs (twin/sim/scheduler.py). Any event that changes the plant first brings
the kernels up to its time (sync), so between two events one numba call advances every hall
and the plant over all the steps in between.
"""

import datetime as dt

import numpy as np
import simpy

from twin import catalog
from twin.io.hours import HOURS_PER_YEAR
from twin.io.job_trace import read_job_trace
from twin.physics.drivers import Drivers
from twin.physics.facility import advance
from twin.physics.state import Records
from twin.physics.units import U_GPUS_PER_SERVER, U_INSTALLED_STEP, U_SERVERS
from twin.sim import ups_groups
from twin.sim.faults import cooling_outage, outage_offset_s, row_name
from twin.sim.jobs import JobRunner
from twin.sim.ledger import Ledger
from twin.sim.onsite import pv_ac_w_per_w_dc
from twin.sim.plant import Plant
from twin.sim.scheduler import noisy_forecast, schedule
from twin.sim.serving import activity_for_load
from twin.sim.workload import inference_demand_fraction, served_utilization
from twin.sites.library import load_site

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
        "drybulb_c": lerp(site.drybulb_c),
        "wetbulb_c": lerp(site.wetbulb_c),
        "carbon_g_per_kwh": site.carbon_g_per_kwh[i0],
        "water_l_per_kwh": site.water_l_per_kwh[i0],
        "price_usd_per_kwh": site.price_usd_per_kwh[i0],
    }


RACK_PERIOD_S = {"hourly": 3600, "daily": 86400}


def rack_period_steps(scenario):
    """Steps per period of the per-rack series: results.rack_series hourly or daily (the nearest whole
    number of steps to the period, at least one), step, or none (0)."""
    kind = scenario.results.rack_series
    if kind == "none":
        return 0
    return 1 if kind == "step" else max(1, round(RACK_PERIOD_S[kind] / scenario.step_s))


def gpu_activity(plant, utilization):
    """(steps, kinds of rack) GPU activity at the halls' utilisation ((steps, halls)): from the fitted serving
    curve of the kind's GPU (sim/plant.py unit_kinds), or the utilisation itself where the scenario gives its
    own throughput (no curve)."""
    halls = plant.halls
    out = np.empty((utilization.shape[0], len(plant.serving_curves)))
    for k, curve in enumerate(plant.serving_curves):
        u = utilization[:, plant.kind_hall[k]]
        out[:, k] = (
            u
            if curve is None
            else activity_for_load(curve, u, halls.gpu_idle_w[k], halls.gpu_clock_w[k], halls.gpu_dynamic_w[k])
        )
    return out


ACTIVITY_GRID = np.linspace(0.0, 1.0, 101)  # rack utilisations at which a packing hall's activity is tabled


def activity_curves(plant, training_activity):
    """(kinds, grid) GPU activity at each utilisation of ACTIVITY_GRID, for halls that pack their load: the
    serving curve's, the utilisation itself (no curve), or the training activity of busy GPUs."""
    grid = np.broadcast_to(ACTIVITY_GRID, (plant.n_halls, ACTIVITY_GRID.shape[0]))
    curves = gpu_activity(plant, np.ascontiguousarray(grid.T)).T
    training = plant.halls.training > 0.0
    curves[training] = ACTIVITY_GRID * training_activity
    return np.ascontiguousarray(curves)


def _window(times_utc, event):
    """Steps inside an event's window (its start converted to UTC)."""
    at = event.start if event.start.tzinfo is None else event.start.astimezone(dt.timezone.utc).replace(tzinfo=None)
    start = np.datetime64(at, "s")
    return (times_utc >= start) & (times_utc < start + np.timedelta64(int(event.duration_s), "s"))


def grid_cap_w(scenario, times_utc):
    """Per step, the most the facility may draw from the grid [W]: the grid connection, lowered in
    demand-response windows; inf where nothing limits it."""
    facility = scenario.facility
    cap = np.full(
        times_utc.shape[0], np.inf if facility.grid_connection_mw is None else facility.grid_connection_mw * 1e6
    )
    for event in facility.demand_response:
        inside = _window(times_utc, event)
        cap[inside] = np.minimum(cap[inside], event.cap_mw * 1e6)
    return cap


def ups_cap_w(scenario, installed_w, times_utc):
    """Per step, what the UPS can carry [W]: installed capacity less the modules out; inf otherwise. A facility
    of several UPS groups caps each group's racks instead (ups_groups.group_wall_caps_w): inf here."""
    cap = np.full(times_utc.shape[0], np.inf)
    if scenario.facility.power_chain.ups.groups > 1:
        return cap
    module_w = scenario.facility.power_chain.ups.module_kw * 1e3
    for outage in scenario.faults.power_outages:
        inside = _window(times_utc, outage)
        cap[inside] = np.minimum(cap[inside], max(installed_w - outage.modules_lost * module_w, 0.0))
    return cap


def install_steps(scenario, times_utc):
    """Each rack's first step in service (racks in layout order): the step of 00:00 UTC of its group's
    `installed` day, 0 for racks in service from the start, the run's length for racks installed after it."""
    days = [day for hall in scenario.facility.halls for day in hall.rack_installed()]
    at = np.array([np.datetime64(day, "s") if day is not None else times_utc[0] for day in days])
    return np.searchsorted(times_utc, at, side="left").astype(float)


def installed_share(plant, steps):
    """(steps, halls): each hall's share of its GPUs in service at each step (racks added by date)."""
    units, hall = plant.params.units, plant.layout.rack_hall
    gpus = units[U_SERVERS] * units[U_GPUS_PER_SERVER]
    share = np.zeros((steps, plant.n_halls))
    for h in range(plant.n_halls):
        mine = hall == h
        total = gpus[mine].sum()
        for first in np.unique(units[U_INSTALLED_STEP][mine]):
            if first < steps:
                share[int(first) :, h] += gpus[mine & (units[U_INSTALLED_STEP] == first)].sum() / total
    return np.minimum(share, 1.0)


def check_row_outages(scenario, plant):
    """A row's outage takes at most the units the row has (ScenarioError naming the outage otherwise)."""
    from twin.scenario import ScenarioError

    for k, outage in enumerate(scenario.faults.cooling_outages):
        if outage.row is None:
            continue
        g = plant.layout.row_names.index(row_name(outage))
        installed = (plant.rows.crah_units if outage.unit == "crah" else plant.rows.cdu_units)[g]
        if outage.units > installed:
            raise ScenarioError(
                [
                    f"faults.cooling_outages[{k}].units = {outage.units}: row {row_name(outage)} has "
                    f"{installed:g} {outage.unit} units (allowed: 1..{installed:g})"
                ]
            )


class Simulation:
    """One run of a scenario: simpy events at control boundaries, kernels in between."""

    def __init__(self, scenario, progress=None, site=None):
        """site: a SiteSeries in place of the scenario's (a forecast's warmed, decarbonised site)."""
        self.scenario = scenario
        self.progress = progress
        self.site = site or load_site(scenario.site.name, scenario.site.weather_file, scenario.site.grid_file)
        self.plant = Plant(scenario, self.site)
        self.times = step_times_utc(scenario)
        self.plant.params.units[U_INSTALLED_STEP] = install_steps(scenario, self.times)
        self.series = site_per_step(self.site, self.times)
        self.price = self._price_per_step()
        self.solar_w = self._solar_per_step()
        rng = np.random.default_rng(np.random.SeedSequence(scenario.seed))
        demand = inference_demand_fraction(scenario.workload.inference, self.times, self.site.utc_offset_h, rng)
        plant = self.plant
        halls = plant.halls  # per kind of rack; kind h < halls is hall h's own GPU
        n_halls = plant.n_halls
        hall_gpus = np.bincount(plant.kind_hall, weights=halls.servers * halls.gpus_per_server, minlength=n_halls)
        step_s = scenario.step_s
        self.schedule = schedule(
            scenario, hall_gpus, step_s, self.times.shape[0], self.series["carbon_g_per_kwh"], self.price, scenario.seed
        )
        # GPUs in repair serve nothing, nor racks not yet installed (racks added by date)
        in_service = installed_share(self.plant, self.times.shape[0])
        available = (1.0 - self.schedule.repair_gpu_s / (step_s * hall_gpus)) * in_service
        serving = halls.training[:n_halls] == 0.0
        # the load balancer shares demand evenly over the inference halls; GPUs in repair serve nothing
        self.demand = np.where(serving, demand[:, None], 0.0)
        self.utilization = np.where(
            serving, served_utilization(self.demand, scenario.workload.inference.utilization_ceiling * available), 0.0
        )
        # from here on per GPU in service: what each installed rack's GPUs run at (the kernel's racks)
        self.utilization = np.divide(
            self.utilization, in_service, out=np.zeros_like(self.utilization), where=in_service > 0.0
        )
        self.productive = self.utilization.copy()
        self.activity = gpu_activity(self.plant, self.utilization)
        training = scenario.workload.training
        if training is not None:  # the training hall: busy GPUs at training activity; lost work is not productive
            h = [hall.name for hall in scenario.facility.halls].index(training.hall)
            busy = self.schedule.busy_gpu_s / (step_s * hall_gpus[h])
            self.utilization[:, h] = busy
            self.productive[:, h] = busy - self.schedule.lost_gpu_s / (step_s * hall_gpus[h])
            self.activity[:, h] = busy * catalog.load("workload")["training"]["gpu_activity"]
        self.cap_w = grid_cap_w(scenario, self.times)
        self.ups_cap_w = ups_cap_w(scenario, self.plant.chain.ups_rating_w, self.times)
        self.ups_group_cap_w = ups_groups.group_wall_caps_w(
            scenario, self.plant.ups_group_rating_w, lambda outage: _window(self.times, outage)
        )
        check_row_outages(scenario, self.plant)
        self.job_table = self._job_table()
        self.ledger = Ledger(
            self.times, self.plant.params.units.shape[1], rack_period_steps(scenario), len(self.plant.layout.row_names)
        )
        s = self.series
        self.drivers = Drivers(
            self.utilization,
            self.activity,
            self.productive,
            self.demand,
            s["drybulb_c"],
            s["wetbulb_c"],
            s["carbon_g_per_kwh"],
            s["water_l_per_kwh"],
            self.price,
            self.solar_w,
            self.cap_w,
            self.ups_cap_w,
            self.ups_group_cap_w,
            ACTIVITY_GRID,
            activity_curves(self.plant, catalog.load("workload")["training"]["gpu_activity"]),
        )
        ledger = self.ledger
        self.records = Records(
            ledger.values,
            ledger.rack_sums,
            ledger.rack_steps,
            max(ledger.period_steps, 1),
            ledger.rack_run,
            ledger.row_run,
        )

    def _job_table(self):
        """The job trace of workload.jobs, read for its hall (None without one)."""
        spec = self.scenario.workload.jobs
        if spec is None:
            return None
        hall = next(h for h in self.scenario.facility.halls if h.name == spec.hall)
        origin_s = float(self.times[0].astype(np.int64))
        run_s = float(self.times.shape[0] * self.scenario.step_s)
        return read_job_trace(spec, hall.server_spec()[0], hall.servers(), origin_s, run_s)

    def _start_jobs(self, env):
        """The job trace's runner on its hall, its jobs submitted and its watch started."""
        spec, scenario = self.scenario.workload.jobs, self.scenario
        h = [hall.name for hall in scenario.facility.halls].index(spec.hall)
        racks = np.flatnonzero(self.plant.layout.rack_hall == h)
        state = self.plant.state
        state.rack_load[:, racks] = 0.0
        series = {"carbon_aware": self.series["carbon_g_per_kwh"], "price_aware": self.price}.get(spec.policy)
        forecast = None
        if series is not None and spec.mode == "schedule":
            rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 0x10B5]))
            forecast = noisy_forecast(series, spec.forecast_noise_cv, scenario.step_s, rng)
        gpus_per_node = int(self.plant.params.units[U_GPUS_PER_SERVER, racks[0]])
        self.jobs = JobRunner(
            env,
            spec,
            self.job_table,
            racks,
            self.plant.params.units,
            gpus_per_node,
            (state.rack_load, self.ledger.rack_run, state.units),
            self._sync,
            forecast,
            scenario.step_s,
        )
        for job in self.jobs.jobs:
            env.process(self.jobs.submit(job))
        env.process(self.jobs.watch(self.times.shape[0] * scenario.step_s))

    def _price_per_step(self):
        econ = self.scenario.economics
        base = (
            self.series["price_usd_per_kwh"]
            if econ.energy_tariff == "site_hourly"
            else np.full(self.times.shape[0], econ.flat_price_usd_per_kwh)
        )
        if econ.energy_tariff == "site_hourly" and self.site.price_basis == "retail":
            return base  # a retail tariff already holds network charges and taxes
        return base + econ.price_adder_usd_per_kwh

    def _solar_per_step(self):
        """PV AC output [W] per step; irradiance index h is the hour ending at h (EPW/TMY3 convention)."""
        supply = self.scenario.facility.onsite
        if supply.solar_mw_dc <= 0.0:
            return np.zeros(self.times.shape[0])
        hourly = pv_ac_w_per_w_dc(self.site, supply.solar_tilt_deg, supply.solar_azimuth_deg)
        ending = (np.floor(hour_of_year(self.times)).astype(np.int64) + 1) % HOURS_PER_YEAR
        return hourly[ending] * supply.solar_mw_dc * 1e6

    def _sync(self, now_s):
        """Advance the kernels over every step that starts before now_s."""
        j = min(self.times.shape[0], int(now_s) // self.scenario.step_s)
        if j > self.done:
            advance(
                self.done,
                j,
                float(self.scenario.step_s),
                self.drivers,
                self.plant.params,
                self.plant.state,
                self.records,
            )
            self.done = j
            if self.progress is not None:
                self.progress(j, self.times.shape[0])

    def _daily(self, env):
        end_s = self.times.shape[0] * self.scenario.step_s
        while env.now < end_s:
            yield env.timeout(min(CONTROL_INTERVAL_S, end_s - env.now))
            self._sync(env.now)

    def run(self):
        env = simpy.Environment()
        self.done = 0
        self.ledger.reset_run()  # a second run() starts its per-rack sums and peaks afresh
        env.process(self._daily(env))
        if self.job_table is not None:
            self._start_jobs(env)
        for outage in self.scenario.faults.cooling_outages:
            env.process(cooling_outage(env, self._sync, self.plant, outage_offset_s(self.scenario, outage), outage))
        env.run(until=self.times.shape[0] * self.scenario.step_s)
        self._sync(self.times.shape[0] * self.scenario.step_s)
        if self.done != self.times.shape[0]:  # the ledger is not pre-filled: every step must have been advanced
            raise RuntimeError(f"simulation advanced {self.done} of {self.times.shape[0]} steps")
        return self.ledger
