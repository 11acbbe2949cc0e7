"""Training jobs, the scheduler (FIFO with backfill, carbon- and price-aware) and GPU failures."""

import numpy as np
import pytest
import simpy
from conftest import short_scenario
from hypothesis import given
from hypothesis import strategies as st

from twin.pipeline import execute
from twin.scenario import Scenario
from twin.sim.scheduler import Job, Scheduler, add_interval, schedule


def _training(**overrides):
    data = short_scenario(duration="14d", step="900s", start="2023-04-03")
    data["site"] = {"name": "san-jose-ca"}
    data["facility"]["halls"].append({"name": "train", "rack_count": 32, "servers_per_rack": 4, "gpu": "H100-SXM"})
    data["workload"]["training"] = {
        "hall": "train",
        "model_params_billion": 70,
        "arrivals_per_day": 10,
        "job_gpus": [64, 128, 256],
        "job_hours_mean": 4,
        "deferrable_fraction": 0.4,
        "deadline_hours": 24,
        **overrides,
    }
    return data


@given(st.floats(0.0, 5000.0), st.floats(0.0, 5000.0), st.integers(1, 64))
def test_an_interval_is_booked_exactly_once_over_the_steps(a, b, count):
    out = np.zeros(40)  # 40 steps of 100 s
    t0, t1 = sorted((a, b))
    add_interval(out, t0, t1, count, 100.0)
    assert out.sum() == pytest.approx(count * (min(t1, 4000.0) - min(t0, 4000.0)), abs=1e-6)
    assert (out >= 0.0).all() and (out <= count * 100.0 + 1e-9).all()


def test_a_small_job_backfills_past_a_head_that_does_not_fit():
    training = Scenario.model_validate(_training()).workload.training
    env = simpy.Environment()
    sched = Scheduler(env, training, 256, 60.0, 1000, None, 0.0, 3600.0, 0)
    big = Job(0, 0.0, 256, 256 * 3600.0, False, 1e9)
    head = Job(1, 0.0, 256, 256 * 3600.0, False, 1e9)
    small = Job(2, 0.0, 0 + 64, 64 * 600.0, False, 1e9)
    sched.free = 192  # 64 GPUs already busy elsewhere: the 256-GPU head must wait, the 64-GPU job fits
    sched.queue = [big, head, small]
    sched.dispatch()
    env.run(until=100.0)
    assert small.start_s == 0.0 and np.isnan(big.start_s) and np.isnan(head.start_s)


def test_carbon_aware_scheduling_lowers_carbon_per_token_against_fifo_on_a_swinging_grid():
    _, summary = execute(Scenario.model_validate(_training(policy="carbon_aware")))
    aware = summary["saiq"]["components"]["tco2e_per_token"]
    fifo = summary["training"]["fifo_baseline"]["saiq_components"]["tco2e_per_token"]
    assert aware < fifo
    assert summary["training"]["deadline_met_share"] >= 0.9
    assert summary["training"]["fifo_baseline"]["deadline_met_share"] >= 0.9


def test_deferred_jobs_start_after_arrival_and_meet_their_deadline_without_failures():
    scenario = Scenario.model_validate(_training(policy="carbon_aware", forecast_noise_cv=0.0))
    n = 14 * 96
    carbon = 300.0 + 200.0 * np.cos(2 * np.pi * np.arange(n) / 96.0)
    sched = schedule(scenario, np.array([1024.0, 1024.0]), 900, n, carbon, carbon, seed=5)
    deferred = [j for j in sched.jobs if j.deferrable and j.planned_start_s > j.arrival_s]
    assert deferred, "some deferrable jobs wait for cleaner hours"
    for j in sched.jobs:
        if np.isfinite(j.start_s):
            assert j.start_s >= j.arrival_s
    done = [j for j in deferred if np.isfinite(j.end_s)]
    assert all(j.end_s <= j.deadline_s for j in done)
    # they start in the clean half of the day
    hours = np.array([(j.start_s % 86400.0) / 3600.0 for j in deferred])
    assert np.mean(np.cos(2 * np.pi * hours / 24.0) < 0.0) > 0.8


def test_a_fault_injected_year_loses_gpu_hours_at_the_configured_rate():
    data = _training()
    data.update(duration="1y", step="3600s", start="2023-01-01")
    data["faults"] = {"gpu_failures_per_gpu_day": 0.002, "gpu_repair_hours": 6.0}
    data["workload"]["training"].update(deferrable_fraction=0.0)
    frame, summary = execute(Scenario.model_validate(data))
    for hall in summary["gpu_failures"]["halls"]:
        expected = hall["expected_failures"]
        assert abs(hall["failures"] - expected) <= 4.0 * np.sqrt(expected), hall  # Poisson, 4 sigma
        assert hall["gpu_hours_in_repair"] == pytest.approx(hall["failures"] * 6.0, rel=0.02)
    tr = summary["training"]
    assert tr["gpu_hours_lost"] > 0.0 and tr["energy_lost_facility_mwh"] > tr["energy_lost_it_mwh"] > 0.0
    # lost work earns no tokens: tokens processed = rate x (busy - lost) GPU-seconds
    rate = 0.40 * 989.4e12 / (6.0 * 70e9)
    productive_gpu_s = (tr["gpu_hours_busy"] - tr["gpu_hours_lost"]) * 3600.0
    assert summary["totals"]["tokens_training"] == pytest.approx(rate * productive_gpu_s, rel=0.01)


def test_a_grid_cap_and_a_demand_response_window_are_held_by_gpu_power_limits():
    from twin.pipeline import simulate

    free = simulate(Scenario.model_validate(short_scenario(duration="2d", step="300s")))
    data = short_scenario(duration="2d", step="300s")
    cap_mw = 0.95 * free["grid_import_w"].max() / 1e6
    data["facility"]["grid_connection_mw"] = cap_mw
    data["facility"]["demand_response"] = [{"start": "2023-04-27T18:00:00", "duration": "3h", "cap_mw": 0.7}]
    f = simulate(Scenario.model_validate(data))
    assert f["grid_import_w"].max() <= cap_mw * 1e6 * 1.001
    window = (f["timestamp"] >= "2023-04-27 18:00") & (f["timestamp"] < "2023-04-27 21:00")
    assert f.loc[window, "grid_import_w"].max() <= 0.7e6 * 1.001
    assert f.loc[window, "gpu_power_limit_fraction"].max() < 1.0 and f.loc[window, "gpu_clock_fraction"].max() < 1.0
    # capped GPUs run slower: fewer tokens in the window, the same outside the caps' reach
    assert f.loc[window, "tokens"].sum() < free.loc[window, "tokens"].sum()
    uncapped = f["gpu_power_limit_fraction"] == 1.0
    np.testing.assert_allclose(f.loc[uncapped, "tokens"].iloc[:10], free.loc[uncapped, "tokens"].iloc[:10], rtol=1e-9)
    # every step still balances
    parts = f[["it_power_w", "cooling_power_w", "power_chain_loss_w", "other_power_w"]].sum(axis=1)
    np.testing.assert_allclose(f["facility_power_w"], parts, rtol=1e-9)


def test_jobs_that_cannot_wait_queue_ahead_of_deferrable_ones():
    training = Scenario.model_validate(_training()).workload.training
    env = simpy.Environment()
    sched = Scheduler(env, training, 64, 60.0, 100, None, 0.0, 3600.0, 0)
    sched.free = 0  # nothing can start: watch the queue order
    jobs = [
        Job(0, 0.0, 64, 64.0, True, 1e9),
        Job(1, 0.0, 64, 64.0, False, 1e9),
        Job(2, 0.0, 64, 64.0, True, 1e9),
        Job(3, 0.0, 64, 64.0, False, 1e9),
    ]
    for job in jobs:
        env.process(sched.arrive(job))
    env.run(until=1.0)
    assert [j.index for j in sched.queue] == [1, 3, 0, 2]


def test_demand_grows_at_its_yearly_rate():
    from twin.sim.engine import Simulation

    flat = short_scenario(duration="30d", step="3600s")
    grown = short_scenario(duration="30d", step="3600s")
    for d in (flat, grown):
        d["workload"]["inference"]["noise_cv"] = 0.0
    grown["workload"]["inference"]["growth_per_year"] = 1.0
    a = Simulation(Scenario.model_validate(flat)).demand[:, 0]
    b = Simulation(Scenario.model_validate(grown)).demand[:, 0]
    years = np.arange(a.shape[0]) * 3600.0 / (365 * 86400.0)
    np.testing.assert_allclose(b, a * 2.0**years, rtol=1e-12)


def test_a_training_hall_of_a_gpu_without_serving_curves_runs(tmp_path):
    data = _training()
    data["facility"]["halls"][1]["gpu"] = "A100-SXM"
    frame, summary = execute(Scenario.model_validate(data))
    assert summary["energy_per_token"] is None and summary["totals"]["tokens_training"] > 0.0


def test_a_demand_response_window_with_an_offset_is_taken_in_utc():
    from twin.sim.engine import grid_cap_w

    data = short_scenario(duration="1d", step="3600s")
    data["facility"]["demand_response"] = [{"start": "2023-04-27T14:00:00-04:00", "duration": "2h", "cap_mw": 0.5}]
    scenario = Scenario.model_validate(data)
    times = np.datetime64("2023-04-27T00:00", "s") + np.arange(24) * np.timedelta64(3600, "s")
    cap = grid_cap_w(scenario, times)
    assert list(np.flatnonzero(np.isfinite(cap))) == [18, 19]  # 14:00-04:00 = 18:00 UTC


def test_a_cap_the_facility_cannot_meet_is_reported():
    data = short_scenario(duration="1d", step="900s")
    data["facility"]["grid_connection_mw"] = 0.2
    _, summary = execute(Scenario.model_validate(data))
    cap = summary["grid_cap"]
    assert cap["hours_over_cap"] > 20.0 and cap["max_excess_mw"] > 0.1 and cap["hours_gpus_capped"] == 24.0


def test_ups_modules_out_are_held_by_gpu_power_limits():
    from twin.pipeline import execute as run

    data = short_scenario(duration="1d", step="300s")
    data["facility"]["power_chain"]["ups"] = {"redundancy": "N+1", "module_kw": 250}  # 6 x 250 kW for ~1.1 MW
    data["faults"] = {"power_outages": [{"start": "2023-04-27T16:00:00", "duration": "2h", "modules_lost": 3}]}
    scenario = Scenario.model_validate(data)
    frame, summary = run(scenario)
    window = frame["ups_cap_w"].notna()
    assert window.sum() == 24  # 2 h of 5-minute steps
    carried = frame["it_power_w"] + frame["pdu_loss_w"]
    assert (carried[window] <= frame.loc[window, "ups_cap_w"] * 1.001).all()
    assert (frame.loc[window, "gpu_power_limit_fraction"] < 1.0).all()
    assert (frame.loc[~window, "gpu_power_limit_fraction"] == 1.0).all()
    assert summary["grid_cap"]["hours_over_ups_cap"] == 0.0 and summary["grid_cap"]["hours_gpus_capped"] == 2.0
