"""Fitting the simulator's GPU kernels to traces: a trace made by the kernels is fitted back."""

import numpy as np
import pandas as pd
import pytest

from twin.calibrate.fit import errors, fit_power, fit_thermal, power_model_w
from twin.physics import gpu


def _synthetic_trace(seed=0):
    """Idle -> load -> idle cycles at several clock caps, drawn by the kernels themselves plus sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.9, 1.3, 3000))
    load = ((t // 120) % 2 == 1).astype(float)
    caps = rng.choice([1980.0, 1600.0, 1200.0], size=int(t[-1] // 120) + 1)[(t // 120).astype(int)]  # one per load period
    ready = (t % 120) > 60  # the second half of each idle period at full clock, the first at idle clocks
    clock = np.where(load > 0, caps, np.where(ready, 1980.0, 345.0))
    truth_p = {"idle_w": 72.0, "clock_w": 40.0, "dynamic_w": 560.0, "v_floor": 0.7, "leak_fraction": 0.3,
               "leak_per_k": 0.02}
    truth_t = {"r_k_per_w": 0.02, "tau_s": 3.0, "sink_r_k_per_w": 0.03, "sink_tau_s": 60.0, "coolant_c": 28.0}
    temp = np.empty_like(t)
    power = np.empty_like(t)
    temp[0] = sink = 31.0
    kernel = (truth_p["idle_w"], truth_p["clock_w"], truth_p["dynamic_w"], truth_p["v_floor"], truth_p["leak_fraction"],
              truth_p["leak_per_k"], 32.0)
    power[0] = gpu.power_w(load[0], clock[0] / 1980.0, temp[0], *kernel)
    for i in range(1, t.shape[0]):  # sample i's power is that of the interval ending at t_i, as a sensor's
        power[i] = gpu.power_w(load[i], clock[i] / 1980.0, temp[i - 1], *kernel)
        dt = t[i] - t[i - 1]
        temp[i], sink = gpu.temps_after_c(temp[i - 1], sink, truth_t["coolant_c"], power[i], truth_t["r_k_per_w"],
                                          np.exp(-dt / truth_t["tau_s"]), truth_t["sink_r_k_per_w"],
                                          np.exp(-dt / truth_t["sink_tau_s"]))
    frame = pd.DataFrame({"time_utc": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(t, unit="s"),
                          "gpu": "0", "power_w": power * (1 + rng.normal(0, 0.01, t.shape[0])),
                          "temp_c": np.round(temp), "util": load, "sm_clock_mhz": clock})
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
    params = {"idle_w": 72.0, "clock_w": 40.0, "dynamic_w": 588.0, "v_floor": 0.6, "leak_fraction": m["leak_fraction"],
              "leak_per_k": m["leak_per_k"]}
    for u, phi, temp in [(0.0, 1.0, 30.0), (0.4, 0.8, 55.0), (1.0, 1.0, 85.0), (0.7, 0.5, 160.0)]:
        kernel = power_w(u, phi, temp, 72.0, 40.0, 588.0, 0.6, m["leak_fraction"], m["leak_per_k"], m["leak_ref_temp_c"])
        assert float(power_model_w(params, np.array([u]), np.array([phi]), np.array([temp]))[0]) == pytest.approx(kernel)
