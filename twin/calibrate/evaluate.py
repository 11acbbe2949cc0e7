"""How well calibrated kernels follow a trace: power MAPE (overall and at load) and temperature RMSE and maximum
error on the held-out part, open loop or coupled as the simulator runs them."""

import numpy as np

from twin.calibrate.sensor import (
    FIT_SHARE,
    LOAD_UTIL,
    coupled_run,
    sensed_power_w,
    split,
    temperature_model_c,
    trace_arrays,
)


def errors(frame, power_params, thermal_params, share=FIT_SHARE, held_out=True, coupled=False):
    """Power MAPE [%] and temperature RMSE / max error [K] of the kernels on a trace's held-out part (or
    the whole trace with held_out=False), and the power MAPE of its samples at load (utilisation at least
    LOAD_UTIL; None without any): a trace that idles most of the time can hide a poor fit under load.
    The model runs from the trace's first sample: the temperature driven by the measured power and the
    power by the measured temperature; with coupled=True each by the model's own other, the way the
    simulator runs them."""
    x = trace_arrays(frame, power_params.get("max_clock_mhz"), power_params.get("power_limit_w", np.inf))
    part = split(x["t"].shape[0], share)[1] if held_out else slice(0, x["t"].shape[0])
    if x["t"][part].shape[0] < 2:
        raise ValueError("the held-out part has fewer than 2 samples")
    if coupled:
        model_t, model_p = coupled_run(power_params, thermal_params, x)
    else:
        model_p = sensed_power_w(power_params, x)
        model_t = temperature_model_c(thermal_params, x["t"], x["p_heat"], x["temp"][0])
    err_t = model_t[part] - x["temp"][part]
    err_p = np.abs(model_p[part] / x["p"][part] - 1.0) * 100.0
    load = x["util"][part] >= LOAD_UTIL
    return {
        "power_mape_pct": float(np.mean(err_p)),
        "power_mape_load_pct": float(np.mean(err_p[load])) if load.any() else None,
        "temp_rmse_k": float(np.sqrt(np.mean(err_t**2))),
        "temp_max_error_k": float(np.max(np.abs(err_t))),
        "samples": int(err_t.shape[0]),
        "load_samples": int(load.sum()),
        "duration_s": float(x["t"][part][-1] - x["t"][part][0]),
    }
