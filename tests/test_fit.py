"""Fitting the simulator's GPU kernels to traces: a trace made by the kernels is fitted back."""

import numpy as np
import pandas as pd
import pytest

from twin.calibrate.fit import errors, fit_power, fit_thermal, power_model_w, temperature_model_c


def _synthetic_trace(seed=0):
    """Idle -> load -> idle cycles at several clock caps, drawn by the kernels themselves plus sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.9, 1.3, 3000))
    load = ((t // 120) % 2 == 1).astype(float)
    clock = np.where(load > 0, rng.choice([1980.0, 1600.0, 1200.0], size=t.shape[0]), 1980.0)
    clock = pd.Series(clock).rolling(200, min_periods=1).median().to_numpy()  # caps held for minutes
    truth_p = {"idle_w": 72.0, "leak_fraction": 0.3, "leak_per_k": 0.02, "dynamic_w": 600.0}
    truth_t = {"r_k_per_w": 0.04, "tau_s": 15.0, "coolant_c": 28.0}
    temp = np.empty_like(t)
    power = np.empty_like(t)
    temp[0] = 31.0
    for i in range(t.shape[0]):
        power[i] = power_model_w(truth_p, load[i], clock[i] / 1980.0, temp[i])
        if i + 1 < t.shape[0]:
            temp[i + 1] = temperature_model_c(truth_t, t[i:i + 2], power[i:i + 2], temp[i])[1]
    frame = pd.DataFrame({"time_utc": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(t, unit="s"),
                          "gpu": "0", "power_w": power * (1 + rng.normal(0, 0.01, t.shape[0])),
                          "temp_c": np.round(temp), "util": load, "sm_clock_mhz": clock})
    return frame, truth_p, truth_t


def test_a_trace_drawn_by_the_kernels_is_fitted_back():
    frame, truth_p, truth_t = _synthetic_trace()
    power, thermal = fit_power(frame, 1980.0), fit_thermal(frame)
    assert power.params["idle_w"] == pytest.approx(truth_p["idle_w"], rel=0.05)
    assert power.params["dynamic_w"] == pytest.approx(truth_p["dynamic_w"], rel=0.05)
    assert thermal.params["r_k_per_w"] == pytest.approx(truth_t["r_k_per_w"], rel=0.1)
    assert thermal.params["tau_s"] == pytest.approx(truth_t["tau_s"], rel=0.25)
    e = errors(frame, power.params, thermal.params, 1980.0)
    assert e["power_mape_pct"] < 2.0 and e["temp_rmse_k"] < 1.0  # 1 % power noise, 1 K temperature resolution
    assert power.fit_rows + power.held_out_rows == len(frame)
    assert all(np.isfinite(v) for v in power.stderr.values())


def test_the_fitted_power_law_is_the_kernels():
    from twin import catalog
    from twin.physics.gpu import power_w

    m = catalog.load("gpu_model")
    params = {"idle_w": 72.0, "leak_fraction": m["leak_fraction"], "leak_per_k": m["leak_per_k"], "dynamic_w": 628.0}
    for u, phi, temp in [(0.0, 1.0, 30.0), (0.4, 0.8, 55.0), (1.0, 1.0, 85.0), (0.7, 0.5, 160.0)]:
        kernel = power_w(u, phi, temp, 72.0, 700.0, m["leak_fraction"], m["leak_per_k"], m["leak_ref_temp_c"])
        assert float(power_model_w(params, np.array([u]), np.array([phi]), np.array([temp]))[0]) == pytest.approx(kernel)
