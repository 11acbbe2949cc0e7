"""The card as NVML reports it: the simulator's GPU kernels (twin/physics/gpu.py) driven by a canonical trace,
with the sensors' own behaviour (the 1 s power window, clock gating at idle, the utilisation lag), and the
split of each trace into the part that fits and the part held out (docs/model.md#calibration-fit)."""

import numpy as np
import pandas as pd
from numba import njit

from twin import catalog
from twin.physics.gpu import LEAK_TEMP_CAP_C, temps_after_c
from twin.physics.gpu import power_w as gpu_power_w

GPU_MODEL = catalog.load("gpu_model")
LEAK_REF_TEMP_C = GPU_MODEL["leak_ref_temp_c"]  # the temperature the leakage share a is defined at

POWER_WINDOW_S = 1.0  # [V] s: nvidia-smi power.draw / DCGM POWER_USAGE average over the trailing second on Ampere

GPU_IDLE_REASON = 0x1  # [V] NVML nvmlClocksEventReasonGpuIdle: "nothing is running on the GPU and the

IDLE_CLOCK_SHARE = 0.5  # [M] an idle GPU below half its top clock is in its idle state (H800 and H20 idle at

LOAD_UTIL = 0.5  # [M] samples at or above this utilisation count as load in the errors' load MAPE and the

FIT_SHARE = 0.6  # [M] share of each trace, from its start, that fits; the rest is held out


def trace_arrays(frame, max_clock_mhz=None, power_limit_w=np.inf):
    """Float arrays of a one-GPU canonical frame (rows with power, temperature, util and clock only):
    t [s from the first sample], p, p_heat (power.draw.instant where logged, else p), temp, util,
    mem_util (NaN where absent), phi (the SM clock fraction, 0 where the GPU is clock-gated idle:
    _clock_gated, from throttle_reasons where logged), limit_w (the trace's power limit, power_limit_w
    where it has none)."""
    ok = frame[["power_w", "temp_c", "util", "sm_clock_mhz"]].notna().all(axis=1) & (frame["power_w"] > 0)
    f = frame[ok]
    if len(f) < 20:
        raise ValueError(
            f"only {len(f)} samples have power, temperature, utilisation and SM clock together "
            f"(at least 20 are needed to fit)"
        )
    t = f["time_utc"]
    clock = f["sm_clock_mhz"].to_numpy(float)
    f_max = max_clock_mhz or float(np.nanmax(clock))
    missing = pd.Series(np.nan, index=f.index)
    instant = f.get("power_instant_w", missing)
    util = np.clip(f["util"].to_numpy(float), 0.0, 1.0)
    phi = np.clip(clock / f_max, 0.0, 1.0)
    return {
        "t": (t - t.iloc[0]).dt.total_seconds().to_numpy(),
        "p": f["power_w"].to_numpy(float),
        "p_heat": np.where(instant.notna() & (instant > 0), instant, f["power_w"]).astype(float),
        "temp": f["temp_c"].to_numpy(float),
        "util": util,
        "mem_util": np.clip(f.get("mem_util", missing).to_numpy(float), 0.0, 1.0),
        "phi": np.where(_clock_gated(util, phi, f.get("throttle_reasons", missing).to_numpy(float)), 0.0, phi),
        "limit_w": f.get("power_limit_w", missing).fillna(power_limit_w).to_numpy(float),
        "max_clock_mhz": f_max,
    }


def _clock_gated(util, phi, reasons):
    """Samples where the GPU sits in its idle state with the SM clock tree stopped: NVML's GpuIdle
    clocks-event reason where the trace logs the reasons, else no kernel running at an idle clock."""
    flagged = np.isfinite(reasons)
    idle_bit = (np.where(flagged, reasons, 0.0).astype(np.int64) & GPU_IDLE_REASON) != 0
    return np.where(flagged, idle_bit, (util == 0.0) & (phi < IDLE_CLOCK_SHARE))


def split(n, share=FIT_SHARE):
    """(fit slice, held-out slice) of n time-ordered samples."""
    k = int(round(n * share))
    return slice(0, k), slice(k, n)


def activity(util, mem_util, memory_weight):
    """The kernel's activity from NVML counters: util (w + (1 - w) mem_util); util alone without mem_util."""
    mem = np.where(np.isfinite(mem_util), mem_util, 1.0)
    return util * (memory_weight + (1.0 - memory_weight) * mem)


def trace_activity(params, x):
    """The activity behind a trace's power: the NVML utilisations read util_lag_s later. NVML reports the
    busy share over its past sample period (1/6 to 1 s by product: nvmlDeviceGetUtilizationRates), so
    its counters trail the work that draws the power; the lag is the sensor's, as power_window_s is, and
    the simulator, whose activity is the work itself, has none."""
    lag = params.get("util_lag_s", 0.0)
    u = activity(x["util"], x["mem_util"], params["memory_weight"])  # NaN-free, so the lag spreads no gap
    return np.interp(x["t"] + lag, x["t"], u) if lag > 0.0 else u  # linear between samples: the cost moves with the lag


def power_model_w(params, u, phi, temp_c):
    """gpu.power_w over arrays (the same law, written for numpy; a test holds them equal)."""
    idle, a, k = params["idle_w"], params["leak_fraction"], params["leak_per_k"]
    return (
        idle * (1.0 - a)
        + idle * a * np.exp(k * (np.minimum(temp_c, LEAK_TEMP_CAP_C) - LEAK_REF_TEMP_C))
        + (params["clock_w"] + params["dynamic_w"] * np.clip(u, 0.0, 1.0))
        * phi
        * np.maximum(params["v_floor"], phi) ** 2
    )


def trailing_mean(t_s, values, window_s=POWER_WINDOW_S):
    """Mean over the trailing window ending at each sample of a signal whose sample i holds over the
    interval (t_{i-1}, t_i] before it; the window is cut at the first sample."""
    area = np.concatenate(([0.0], np.cumsum(values[1:] * np.diff(t_s))))  # integral from t_0 to each stamp
    start = np.maximum(t_s - window_s, t_s[0])
    j = np.clip(np.searchsorted(t_s, start, side="right"), 1, t_s.shape[0] - 1)  # the interval holding start
    area_start = area[j - 1] + values[j] * (start - t_s[j - 1])
    width = t_s - start
    return np.where(width > 0.0, (area - area_start) / np.where(width > 0.0, width, 1.0), values)


def card(gpu):
    """fit_power's keyword arguments for a GPU: its catalog power limit (none for a GPU not in the catalog)
    and how long its power.draw averages (catalog/gpus.yaml power_sensor_window_s, 1 s by default)."""
    spec = catalog.load("gpus").get(gpu, {})
    return {
        "power_limit_w": float(spec.get("tdp_w", np.inf)),
        "power_window_s": float(spec.get("power_sensor_window_s", POWER_WINDOW_S)),
    }


def catalog_power_w(gpu, utilization, die_temp_c):
    """Board power [W] of a catalog GPU by the kernel's law at full clock (catalog/gpus.yaml, gpu_model.yaml):
    no clock-tree power, P_dyn = TDP - P_idle, the pure cube law (v_floor 0). Not held to the TDP."""
    spec = catalog.load("gpus")[gpu]
    params = {
        "idle_w": spec["idle_w"],
        "clock_w": 0.0,
        "dynamic_w": spec["tdp_w"] - spec["idle_w"],
        "v_floor": 0.0,
        "leak_fraction": GPU_MODEL["leak_fraction"],
        "leak_per_k": GPU_MODEL["leak_per_k"],
    }
    utilization = np.asarray(utilization, float)
    return power_model_w(params, utilization, 1.0, np.broadcast_to(np.asarray(die_temp_c, float), utilization.shape))


def as_sensed(t_s, power_w, window_s=POWER_WINDOW_S, median_dt_s=None):
    """Power as the sensor reports it: its trailing-window mean where samples come faster than the window."""
    median_dt_s = np.median(np.diff(t_s)) if median_dt_s is None else median_dt_s
    return trailing_mean(t_s, power_w, window_s) if median_dt_s < window_s else power_w


def _median_dt_s(x):
    """A trace's median sampling interval, worked out once per trace (a fit asks for it at every step)."""
    if "median_dt_s" not in x:
        x["median_dt_s"] = float(np.median(np.diff(x["t"])))
    return x["median_dt_s"]


def sensed_power_w(params, x, temp_c=None):
    """Model power as the sensor reports it: the kernel's power at the trace's activity, clock and
    temperature, held to the trace's power limit, averaged over the sensor's window."""
    p = power_model_w(params, trace_activity(params, x), x["phi"], x["temp"] if temp_c is None else temp_c)
    window_s = params.get("power_window_s", POWER_WINDOW_S)
    held = np.where(np.isfinite(x["limit_w"]), np.minimum(p, x["limit_w"]), p)
    sensed = as_sensed(x["t"], held, window_s, _median_dt_s(x))
    if x.get("bin_means", False) and window_s > _median_dt_s(x):
        # a bin holds the mean of the readings over it; the window mean of a power held per bin is linear
        # across a bin, so its mean over the bin is that of its values at the bin's two ends
        sensed = 0.5 * (sensed + np.concatenate((sensed[:1], sensed[:-1])))
    return sensed


@njit(cache=True)
def _start_sink_c(temp0_c, power0_w, r_die, tau_die, r_sink, tau_sink, coolant_c):
    """The sink temperature at a trace's first sample: the faster Foster term settled at that sample's power,
    the rest of the rise over the coolant the slower term's, neither term below zero (so which term is
    called the die does not matter)."""
    if r_sink <= 0.0:
        return coolant_c
    rise = max(temp0_c - coolant_c, 0.0)
    if tau_die <= tau_sink:
        return coolant_c + max(rise - power0_w * r_die, 0.0)
    return coolant_c + min(power0_w * r_sink, rise)


@njit(cache=True)
def _temperatures(t_s, power_w, temp0_c, r_die, tau_die, r_sink, tau_sink, coolant_c):
    out = np.empty_like(power_w)
    die = temp0_c
    sink = _start_sink_c(temp0_c, power_w[0], r_die, tau_die, r_sink, tau_sink, coolant_c)
    out[0] = die
    for i in range(1, power_w.shape[0]):
        dt = t_s[i] - t_s[i - 1]
        sink_decay = np.exp(-dt / tau_sink) if r_sink > 0.0 else 0.0
        die, sink = temps_after_c(die, sink, coolant_c, power_w[i], r_die, np.exp(-dt / tau_die), r_sink, sink_decay)
        out[i] = die
    return out


def temperature_model_c(params, t_s, power_w, temp0_c):
    """Die temperature through the trace from its first value, the two RC nodes integrated exactly."""
    return _temperatures(
        np.asarray(t_s, float),
        np.asarray(power_w, float),
        float(temp0_c),
        params["r_k_per_w"],
        params["tau_s"],
        params.get("sink_r_k_per_w", 0.0),
        params.get("sink_tau_s", 1.0),
        params["coolant_c"],
    )


def coupled_run(power_params, thermal_params, x):
    """Power and temperature solved together, step by step (the simulator's way), from the trace's
    activity, clock and power limit and its first temperature: gpu.power_w at each interval's starting
    die temperature, then the two RC nodes over the interval."""
    pp, tp = power_params, thermal_params
    temp, p = _coupled_kernel(
        x["t"],
        trace_activity(pp, x),
        x["phi"],
        x["limit_w"],
        pp["idle_w"],
        pp["clock_w"],
        pp["dynamic_w"],
        pp["v_floor"],
        pp["leak_fraction"],
        pp["leak_per_k"],
        pp["leak_ref_temp_c"],
        tp["r_k_per_w"],
        tp["tau_s"],
        tp["sink_r_k_per_w"],
        tp["sink_tau_s"],
        tp["coolant_c"],
        x["temp"][0],
    )
    return temp, as_sensed(x["t"], p, power_params.get("power_window_s", POWER_WINDOW_S))


@njit(cache=True)
def _coupled_kernel(
    t_s,
    u,
    phi,
    limit_w,
    idle_w,
    clock_w,
    dynamic_w,
    v_floor,
    leak_fraction,
    leak_per_k,
    leak_ref_temp_c,
    r_die,
    tau_die,
    r_sink,
    tau_sink,
    coolant_c,
    temp0_c,
):
    n = t_s.shape[0]
    temp = np.empty(n)
    p = np.empty(n)
    die = temp0_c
    p0 = min(
        gpu_power_w(
            u[0], phi[0], temp0_c, idle_w, clock_w, dynamic_w, v_floor, leak_fraction, leak_per_k, leak_ref_temp_c
        ),
        limit_w[0],
    )
    sink = _start_sink_c(temp0_c, p0, r_die, tau_die, r_sink, tau_sink, coolant_c)
    for i in range(n):  # sample i's power: the interval ending at t_i, from the die temperature it started at
        p[i] = min(
            gpu_power_w(
                u[i], phi[i], die, idle_w, clock_w, dynamic_w, v_floor, leak_fraction, leak_per_k, leak_ref_temp_c
            ),
            limit_w[i],
        )
        if i > 0:
            dt = t_s[i] - t_s[i - 1]
            sink_decay = np.exp(-dt / tau_sink) if r_sink > 0.0 else 0.0
            die, sink = temps_after_c(die, sink, coolant_c, p[i], r_die, np.exp(-dt / tau_die), r_sink, sink_decay)
        temp[i] = die
    return temp, p
