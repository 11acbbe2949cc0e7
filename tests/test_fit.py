"""Fitting the simulator's GPU kernels to traces: a trace made by the kernels is fitted back."""

import numpy as np
import pandas as pd
import pytest

from twin.calibrate.evaluate import errors
from twin.calibrate.fit import fit_power, fit_thermal
from twin.calibrate.sensor import power_model_w
from twin.physics import gpu


def _synthetic_trace(seed=0, sink_r_k_per_w=0.03, coolant_c=28.0):
    """Idle -> load -> idle cycles at several clock caps, drawn by the kernels themselves plus sensor noise;
    the heat sink has 2,000 J/K (60 s at the default 0.03 K/W)."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.9, 1.3, 3000))
    load = ((t // 120) % 2 == 1).astype(float)
    caps = rng.choice([1980.0, 1600.0, 1200.0], size=int(t[-1] // 120) + 1)[
        (t // 120).astype(int)
    ]  # one per load period
    ready = (t % 120) > 60  # the second half of each idle period at full clock, the first at idle clocks
    clock = np.where(load > 0, caps, np.where(ready, 1980.0, 345.0))
    phi = np.where(
        (load == 0) & ~ready, 0.0, clock / 1980.0
    )  # at idle clocks the clock tree is gated (sensor.trace_arrays)
    truth_p = {
        "idle_w": 72.0,
        "clock_w": 40.0,
        "dynamic_w": 560.0,
        "v_floor": 0.7,
        "leak_fraction": 0.3,
        "leak_per_k": 0.02,
    }
    truth_t = {
        "r_k_per_w": 0.02,
        "tau_s": 3.0,
        "sink_r_k_per_w": sink_r_k_per_w,
        "sink_tau_s": 2000.0 * sink_r_k_per_w,
        "coolant_c": coolant_c,
    }
    temp = np.empty_like(t)
    power = np.empty_like(t)
    temp[0] = sink = 31.0
    kernel = (
        truth_p["idle_w"],
        truth_p["clock_w"],
        truth_p["dynamic_w"],
        truth_p["v_floor"],
        truth_p["leak_fraction"],
        truth_p["leak_per_k"],
        32.0,
    )
    power[0] = gpu.power_w(load[0], phi[0], temp[0], *kernel)
    for i in range(1, t.shape[0]):  # sample i's power is that of the interval ending at t_i, as a sensor's
        power[i] = gpu.power_w(load[i], phi[i], temp[i - 1], *kernel)
        dt = t[i] - t[i - 1]
        temp[i], sink = gpu.temps_after_c(
            temp[i - 1],
            sink,
            truth_t["coolant_c"],
            power[i],
            truth_t["r_k_per_w"],
            np.exp(-dt / truth_t["tau_s"]),
            truth_t["sink_r_k_per_w"],
            np.exp(-dt / truth_t["sink_tau_s"]),
        )
    frame = pd.DataFrame(
        {
            "time_utc": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(t, unit="s"),
            "gpu": "0",
            "power_w": power * (1 + rng.normal(0, 0.01, t.shape[0])),
            "temp_c": np.round(temp),
            "util": load,
            "sm_clock_mhz": clock,
        }
    )
    return frame, truth_p, truth_t


def test_a_trace_drawn_by_the_kernels_is_fitted_back():
    frame, truth_p, truth_t = _synthetic_trace()
    power, thermal = fit_power(frame, 1980.0), fit_thermal(frame)
    for name in ("idle_w", "clock_w", "dynamic_w", "v_floor"):
        assert power.params[name] == pytest.approx(truth_p[name], rel=0.05), name
    for name in ("r_k_per_w", "sink_r_k_per_w", "sink_tau_s"):
        assert thermal.params[name] == pytest.approx(truth_t[name], rel=0.15), name
    e = errors(frame, power.params, thermal.params)
    assert e["power_mape_pct"] < 2.0 and e["temp_rmse_k"] < 1.0  # 1 % power noise, 1 K temperature resolution
    assert power.fit_rows + power.held_out_rows == len(frame)
    assert all(np.isfinite(v) for v in power.stderr.values())


def test_the_fitted_power_law_is_the_kernels():
    from twin import catalog
    from twin.physics.gpu import power_w

    m = catalog.load("gpu_model")
    params = {
        "idle_w": 72.0,
        "clock_w": 40.0,
        "dynamic_w": 588.0,
        "v_floor": 0.6,
        "leak_fraction": m["leak_fraction"],
        "leak_per_k": m["leak_per_k"],
    }
    for u, phi, temp in [(0.0, 1.0, 30.0), (0.4, 0.8, 55.0), (1.0, 1.0, 85.0), (0.7, 0.5, 160.0)]:
        kernel = power_w(
            u, phi, temp, 72.0, 40.0, 588.0, 0.6, m["leak_fraction"], m["leak_per_k"], m["leak_ref_temp_c"]
        )
        assert float(power_model_w(params, np.array([u]), np.array([phi]), np.array([temp]))[0]) == pytest.approx(
            kernel
        )


def _frame(t, **columns):
    return pd.DataFrame(
        {
            "time_utc": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(t, unit="s"),
            "gpu": "0",
            "temp_c": 40.0,
            **columns,
        }
    )


def test_an_idle_gpu_at_idle_clocks_is_driven_with_its_clock_tree_stopped():
    from twin.calibrate.sensor import trace_arrays

    t = np.arange(24.0)  # six cases, four times over (a fit needs 20 samples)
    clock = np.tile([885.0, 345.0, 1980.0, 345.0, 885.0, 1980.0], 4)
    util = np.tile([0.0, 0.0, 0.0, 0.5, 0.0, 1.0], 4)
    # without clocks-event reasons: util 0 below half the top clock is the idle state
    x = trace_arrays(_frame(t, power_w=100.0, util=util, sm_clock_mhz=clock))
    assert x["phi"][:6].tolist() == pytest.approx([0.0, 0.0, 1.0, 345 / 1980, 0.0, 1.0])
    # with them, NVML's GpuIdle bit decides: sample 4 reports 885 MHz at util 0 but is not flagged idle
    reasons = np.tile([0x1, 0x1, 0x0, 0x0, 0x4, 0x0], 4).astype(float)
    x = trace_arrays(_frame(t, power_w=100.0, util=util, sm_clock_mhz=clock, throttle_reasons=reasons))
    assert x["phi"][:6].tolist() == pytest.approx([0.0, 0.0, 1.0, 345 / 1980, 885 / 1980, 1.0])
    reasons[2] = 0x1  # flagged idle at full clock: gated too
    assert (
        trace_arrays(_frame(t, power_w=100.0, util=util, sm_clock_mhz=clock, throttle_reasons=reasons))["phi"][2] == 0.0
    )


@pytest.mark.parametrize("window_s", [1.0, 0.0])  # Hopper's 1 s power.draw mean; GA100's instantaneous reading
def test_the_lag_of_nvml_utilisation_behind_the_power_is_fitted(window_s):
    """Bursts sampled every 20 ms whose utilisation counter reads the work 0.3 s late: the fit (on 0.1 s
    bins) finds the lag, and with it the power through the edges."""
    from twin.calibrate.sensor import as_sensed

    rng = np.random.default_rng(1)
    t = np.arange(0.0, 80.0, 0.02)
    work = ((t % 8.0) > 4.0).astype(float)
    util = np.interp(t - 0.3, t, work, left=0.0)
    kernel = (60.0, 30.0, 250.0, 0.8, 0.2, 0.02, 32.0)
    truth = np.array([gpu.power_w(w, 1.0, 40.0, *kernel) for w in work])
    power = (as_sensed(t, truth, window_s) if window_s else truth) * (1 + rng.normal(0, 0.005, t.shape[0]))
    frame = _frame(t, power_w=power, util=util, sm_clock_mhz=1755.0)
    fitted = fit_power(frame, 1755.0, power_window_s=window_s)
    assert fitted.params["util_lag_s"] == pytest.approx(0.3, abs=0.03)
    assert (
        errors(
            frame,
            fitted.params,
            {"r_k_per_w": 0.02, "tau_s": 1.0, "sink_r_k_per_w": 0.0, "sink_tau_s": 1.0, "coolant_c": 30.0},
        )["power_mape_pct"]
        < 1.5
    )


def test_slow_traces_fit_no_utilisation_lag():
    frame, _, _ = _synthetic_trace()  # sampled every 0.9-1.3 s: less than twice per NVML period
    assert fit_power(frame, 1980.0).params["util_lag_s"] == 0.0


def test_a_trace_that_starts_warm_cools_with_its_heat_sink():
    """At the first sample the fast die term is settled at that sample's power and the rest of the rise is the
    sink's: a GPU found 10 K above its steady temperature at constant power cools with the sink's time constant."""
    from twin.calibrate.sensor import temperature_model_c

    params = {"r_k_per_w": 0.02, "tau_s": 1.0, "sink_r_k_per_w": 0.05, "sink_tau_s": 60.0, "coolant_c": 30.0}
    t = np.arange(0.0, 300.0, 0.5)
    p = np.full_like(t, 100.0)
    steady = 30.0 + 100.0 * 0.07
    temp = temperature_model_c(params, t, p, steady + 10.0)
    assert temp[t == 60.0][0] - steady == pytest.approx(10.0 * np.exp(-1.0), rel=1e-6)
    assert temperature_model_c(params, t, p, steady) == pytest.approx(np.full_like(t, steady))


def test_which_foster_term_is_called_the_die_does_not_change_the_temperatures():
    """fit_thermal names the slower term the sink after fitting; the start (the faster term settled) and the
    integration are symmetric in the two terms, so the swap leaves the model as it was."""
    from twin.calibrate.sensor import temperature_model_c

    t = np.arange(0.0, 200.0, 0.5)
    p = np.where((t % 80.0) < 40.0, 300.0, 80.0)
    one = {"r_k_per_w": 0.02, "tau_s": 3.0, "sink_r_k_per_w": 0.05, "sink_tau_s": 60.0, "coolant_c": 30.0}
    swapped = {"r_k_per_w": 0.05, "tau_s": 60.0, "sink_r_k_per_w": 0.02, "sink_tau_s": 3.0, "coolant_c": 30.0}
    for temp0 in (45.0, 52.0, 31.0):  # a warm sink, a hot one, one colder than the power's steady state
        np.testing.assert_allclose(
            temperature_model_c(one, t, p, temp0), temperature_model_c(swapped, t, p, temp0), atol=1e-9
        )


def test_power_and_temperature_solved_together_start_as_the_temperature_model_does():
    """The coupled run (--check, the simulator's way) and the temperature model start the heat sink alike:
    driven by the coupled run's own power, the temperature model gives the coupled run's temperatures."""
    from twin.calibrate.sensor import coupled_run as _coupled
    from twin.calibrate.sensor import temperature_model_c, trace_arrays

    frame, truth_p, truth_t = _synthetic_trace(2)
    frame["temp_c"] = frame["temp_c"] + 6.0  # start warm: the sink holds heat from earlier work
    power = {**truth_p, "memory_weight": 1.0, "util_lag_s": 0.0, "leak_ref_temp_c": 32.0, "power_window_s": 1.0}
    x = trace_arrays(frame, 1980.0)
    temp, p = _coupled(power, truth_t, x)
    np.testing.assert_allclose(temperature_model_c(truth_t, x["t"], p, x["temp"][0]), temp, atol=1e-9)


def test_a_parameter_the_fit_leaves_on_its_bound_is_named_in_the_report():
    from twin.calibrate.fit import _least_squares
    from twin.calibrate.session import report_text

    params, _, at_bound = _least_squares(
        lambda p: np.array([p["a"] - 5.0, p["b"] - 0.5]), ("a", "b"), [(0.5, 0.2)], (0.0, 0.0), (1.0, 1.0), set()
    )
    assert params["a"] == pytest.approx(1.0) and params["b"] == pytest.approx(0.5) and at_bound == ("a",)
    doc = {
        "gpu": "H100-PCIe",
        "cooling": "air",
        "held_out": [],
        "power": {"v_floor": 1.0, "idle_w": 45.0, "stderr": {"v_floor": 0.1, "idle_w": 1.0}, "at_bound": ["v_floor"]},
        "thermal": {"tau_s": 2.0, "stderr": {"tau_s": 0.1}, "at_bound": []},
    }
    lines = report_text(doc).splitlines()
    assert "on its search bound" in next(line for line in lines if "v_floor" in line)
    assert "on its search bound" not in next(line for line in lines if "idle_w" in line)


def test_a_card_fitted_on_two_sessions_keeps_each_sessions_air_flow():
    """Two traces of one card whose fans moved different air (sink resistance 0.03 and 0.06 K/W, one heat
    sink of 2,000 J/K) and whose rooms differ: the joint fit finds each session's resistance and inlet,
    and the shared heat capacity; for_trace gives each trace its own."""
    from twin.calibrate.fit import for_trace

    (a, _, _), (b, _, truth_b) = _synthetic_trace(3), _synthetic_trace(4, sink_r_k_per_w=0.06, coolant_c=24.0)
    thermal = fit_thermal([a, b])
    sink_r = thermal.params["trace_sink_r_k_per_w"]
    assert sink_r[0] == pytest.approx(0.03, rel=0.15) and sink_r[1] == pytest.approx(0.06, rel=0.15)
    assert thermal.params["trace_coolant_c"][1] == pytest.approx(24.0, abs=1.0)
    assert thermal.params["sink_tau_s"] / thermal.params["sink_r_k_per_w"] == pytest.approx(2000.0, rel=0.2)
    second = for_trace(thermal.params, 1)
    assert second["sink_r_k_per_w"] == sink_r[1] and second["sink_tau_s"] == pytest.approx(
        truth_b["sink_tau_s"], rel=0.2
    )


def test_parameters_on_their_bounds_are_named_as_the_calibration_file_has_them(monkeypatch):
    """A switching power the search range cannot hold is flagged as the card's dynamic_w (a single trace's is
    the card's), and a value within 1e-3 of its bound counts as on it (least_squares marks only 1e-8)."""
    from twin.calibrate import fit as fitting

    assert fitting._on_bound(["a", "b", "c"], [0.99992, 0.5, -19.9999997], [0.0, 0.0, -20.0], [1.0, 1.0, 80.0]) == (
        "a",
        "c",
    )
    monkeypatch.setattr(fitting, "DYNAMIC_W_MAX", 100.0)  # the synthetic card's is 560 W
    frame, _, _ = _synthetic_trace()
    power = fit_power(frame, 1980.0)
    assert power.params["dynamic_w"] == pytest.approx(100.0) and "dynamic_w" in power.at_bound
    assert power.trace_at_bound == (("dynamic_w",),)


def test_each_operating_state_has_the_same_say_in_the_power_fit_and_the_steadier_more():
    from twin.calibrate.fit import STATE_SCATTER_FLOOR, _state_weights

    states = np.array([0] * 10 + [1] * 30 + [2] * 160)  # a fit part that dwelt mostly at load
    w = _state_weights(states)
    assert np.mean(w**2) == pytest.approx(1.0)  # the trace keeps its say against the others of a joint fit
    say = [np.sum(w[states == s] ** 2) for s in (0, 1, 2)]
    assert say == pytest.approx([say[0]] * 3)
    misses = np.where(states == 2, 0.10, np.where(states == 1, 0.02, 0.001))  # load scatters 10 %, idle follows
    w2 = _state_weights(states, misses)
    say2 = [np.sum(w2[states == s] ** 2) for s in (0, 1, 2)]
    assert say2[1] / say2[2] == pytest.approx((0.10 / 0.02) ** 2)  # inverse variance
    assert say2[0] / say2[1] == pytest.approx((0.02 / STATE_SCATTER_FLOOR) ** 2)  # 0.1 % counts as the floor
    lone = _state_weights(np.array([0] + [2] * 99))  # one gated sample is not a state of its own
    assert lone[0] == pytest.approx(lone[1], rel=0.01)  # not sqrt(50) times: half the say


def test_new_work_on_a_calibrated_card_needs_only_its_switching_power():
    from twin.calibrate.fit import fit_workload

    frame, truth_p, _ = _synthetic_trace()
    card = {**fit_power(frame, 1980.0).params, "dynamic_w": 300.0}  # calibrated on lighter work
    assert fit_workload(frame, card) == pytest.approx(truth_p["dynamic_w"], rel=0.03)


def test_a_session_with_other_air_flow_refits_its_inlet_and_sink_resistance():
    from twin.calibrate.fit import fit_session

    frame, _, truth_t = _synthetic_trace(sink_r_k_per_w=0.06, coolant_c=24.0)  # half the air flow, a cooler room
    card = {
        "r_k_per_w": truth_t["r_k_per_w"],
        "tau_s": truth_t["tau_s"],
        "sink_r_k_per_w": 0.03,
        "sink_tau_s": 60.0,
        "coolant_c": 28.0,
    }  # the card as fitted in another session: 2,000 J/K
    session = fit_session(frame, card, air_flow=True)
    assert session["sink_r_k_per_w"] == pytest.approx(0.06, rel=0.1)
    assert session["sink_tau_s"] == pytest.approx(120.0, rel=0.1)  # the heat capacity is the card's
    assert session["coolant_c"] == pytest.approx(24.0, abs=1.0)
    inlet_only = fit_session(frame, card)
    assert inlet_only["sink_r_k_per_w"] == 0.03
    e = errors(frame, fit_power(frame, 1980.0).params, session)
    assert e["temp_rmse_k"] < errors(frame, fit_power(frame, 1980.0).params, inlet_only)["temp_rmse_k"]
