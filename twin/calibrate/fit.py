"""Fit the simulator's own GPU kernels to a canonical trace (twin/calibrate/traces.py).

What is fitted is what is simulated (DESIGN.md):

- power, twin/physics/gpu.power_w: P = P_idle (1 - a) + P_idle a exp(k (T - T_ref)) + D u phi^3,
  driven by the trace's utilisation u, SM-clock fraction phi = f / f_max and measured die
  temperature T; fitted: P_idle, a, k and the dynamic range D (= P_TDP - P_idle in the catalog);
- temperature, the one-node RC model of gpu.die_temp_after_c: C dT/dt = P - (T - T_cool) / R,
  integrated exactly over each (irregular) sample interval with the measured power held;
  fitted: R, the time constant tau = R C, and T_cool (the coolant or inlet temperature, a
  constant when the trace does not have it).

Each trace is split by time: the first FIT_SHARE of its samples fit, the rest are held out; the
errors reported are on the held-out part. Parameter uncertainty is the standard error from the
least-squares Jacobian (scipy.optimize.least_squares).
"""

from dataclasses import dataclass

import numpy as np

from twin import catalog
from twin.physics.gpu import LEAK_TEMP_CAP_C, die_temp_after_c

FIT_SHARE = 0.6  # [M] share of each trace, from its start, that fits; the rest is held out
LEAK_REF_TEMP_C = catalog.load("gpu_model")["leak_ref_temp_c"]  # the temperature the leakage share a is defined at


@dataclass
class Fit:
    params: dict
    stderr: dict
    fit_rows: int
    held_out_rows: int


def _arrays(frame, max_clock_mhz=None):
    t = frame["time_utc"]
    seconds = (t - t.iloc[0]).dt.total_seconds().to_numpy()
    clock = frame["sm_clock_mhz"].to_numpy(float)
    f_max = max_clock_mhz or np.nanmax(clock)
    return {"t": seconds, "p": frame["power_w"].to_numpy(float), "temp": frame["temp_c"].to_numpy(float),
            "u": np.clip(frame["util"].to_numpy(float), 0.0, 1.0), "phi": np.clip(clock / f_max, 0.0, 1.0)}


def split(n, share=FIT_SHARE):
    """(fit slice, held-out slice) of n time-ordered samples."""
    k = int(round(n * share))
    return slice(0, k), slice(k, n)


def power_model_w(params, u, phi, temp_c):
    """gpu.power_w over arrays (the same law, written for numpy; a test holds them equal), with fitted
    parameters: dynamic_w is the catalog's tdp_w - idle_w."""
    idle, a, k, dyn = params["idle_w"], params["leak_fraction"], params["leak_per_k"], params["dynamic_w"]
    return (idle * (1.0 - a) + idle * a * np.exp(k * (np.minimum(temp_c, LEAK_TEMP_CAP_C) - LEAK_REF_TEMP_C))
            + dyn * u * phi**3)


def temperature_model_c(params, t_s, power_w, temp0_c):
    """Die temperature through the trace from its first value, the RC node integrated exactly."""
    r, tau, cool = params["r_k_per_w"], params["tau_s"], params["coolant_c"]
    out = np.empty_like(power_w)
    out[0] = temp0_c
    decay = np.exp(-np.diff(t_s) / tau)
    for i in range(1, power_w.shape[0]):
        out[i] = die_temp_after_c(out[i - 1], cool, power_w[i - 1], r, decay[i - 1])
    return out


def _stderr(result, names):
    try:
        jtj = result.jac.T @ result.jac
        dof = max(1, result.fun.shape[0] - len(names))
        cov = np.linalg.inv(jtj) * (2.0 * result.cost / dof)
        return {n: float(np.sqrt(max(cov[i, i], 0.0))) for i, n in enumerate(names)}
    except np.linalg.LinAlgError:
        return {n: float("nan") for n in names}


def fit_power(frame, max_clock_mhz=None, share=FIT_SHARE):
    """Fit the power model on the first share of a trace (relative residuals: MAPE-like)."""
    from scipy.optimize import least_squares

    x = _arrays(frame, max_clock_mhz)
    ok = np.isfinite(x["p"]) & np.isfinite(x["temp"]) & np.isfinite(x["u"]) & np.isfinite(x["phi"]) & (x["p"] > 0)
    fit_part, held = split(ok.shape[0], share)
    sel = np.zeros_like(ok)
    sel[fit_part] = True
    sel &= ok
    names = ("idle_w", "leak_fraction", "leak_per_k", "dynamic_w")

    def residual(v):
        params = dict(zip(names, v))
        return power_model_w(params, x["u"][sel], x["phi"][sel], x["temp"][sel]) / x["p"][sel] - 1.0

    p_low = np.nanpercentile(x["p"][sel], 2)
    p_high = np.nanpercentile(x["p"][sel], 99.5)
    result = least_squares(residual, x0=(p_low, 0.3, 0.02, max(p_high - p_low, 1.0)),
                           bounds=([1.0, 0.0, 0.0, 0.0], [2000.0, 1.0, 0.1, 5000.0]))
    return Fit(dict(zip(names, map(float, result.x))), _stderr(result, names), int(sel.sum()),
               int(ok[held].sum()))


def fit_thermal(frame, share=FIT_SHARE):
    """Fit R, tau and the coolant temperature on the first share of a trace, driven by its power."""
    from scipy.optimize import least_squares

    x = _arrays(frame)
    ok = np.isfinite(x["p"]) & np.isfinite(x["temp"])
    t, p, temp = x["t"][ok], x["p"][ok], x["temp"][ok]
    fit_part, held = split(t.shape[0], share)
    names = ("r_k_per_w", "tau_s", "coolant_c")

    def residual(v):
        params = dict(zip(names, v))
        return temperature_model_c(params, t[fit_part], p[fit_part], temp[fit_part][0]) - temp[fit_part]

    result = least_squares(residual, x0=(0.05, 20.0, float(np.nanmin(temp[fit_part])) - 2.0),
                           bounds=([1e-4, 0.5, -20.0], [1.0, 3600.0, 80.0]))
    return Fit(dict(zip(names, map(float, result.x))), _stderr(result, names), int(t[fit_part].shape[0]),
               int(t[held].shape[0]))


def errors(frame, power_params, thermal_params, max_clock_mhz=None, share=FIT_SHARE, held_out=True):
    """Power MAPE [%] and temperature RMSE / max error [K] of the fitted kernels on a trace's held-out
    part (or on the whole trace with held_out=False); the temperature is simulated from the first
    held-out sample on, driven by the measured power."""
    x = _arrays(frame, max_clock_mhz)
    ok = np.isfinite(x["p"]) & np.isfinite(x["temp"]) & np.isfinite(x["u"]) & np.isfinite(x["phi"]) & (x["p"] > 0)
    t, p, temp, u, phi = (v[ok] for v in (x["t"], x["p"], x["temp"], x["u"], x["phi"]))
    part = split(t.shape[0], share)[1] if held_out else slice(0, t.shape[0])
    model_p = power_model_w(power_params, u[part], phi[part], temp[part])
    model_t = temperature_model_c(thermal_params, t[part], p[part], temp[part][0])
    return {"power_mape_pct": float(np.mean(np.abs(model_p / p[part] - 1.0)) * 100.0),
            "temp_rmse_k": float(np.sqrt(np.mean((model_t - temp[part]) ** 2))),
            "temp_max_error_k": float(np.max(np.abs(model_t - temp[part]))), "samples": int(model_p.shape[0])}
