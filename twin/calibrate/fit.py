"""Fit the simulator's own GPU kernels (twin/physics/gpu.py) to a canonical trace (twin/io/gpu_trace.py).

What is fitted is what is simulated (docs/model.md#calibration-fit):

- power, gpu.power_w: P = P_idle (1 - a) + P_idle a exp(k (T - T_ref)) + (P_clk + P_dyn u) g(phi),
  g(phi) = phi max(v_floor, phi)^2,
  driven by the trace's SM-clock fraction phi = f / f_max, its measured die temperature T and the
  activity u = util (w + (1 - w) mem_util): NVML's utilization.gpu only says a kernel was running;
  how much of the chip switches follows the memory-controller load (H800 GEMM stages at util 100 %
  draw 423-568 W at mem_util 0.17-0.18 and about 690 W at 0.47-0.71; gpu_traces), so the memory weight
  w is fitted where the trace has mem_util and is 1 where it does not ([M]: an engineering mapping
  read off these traces). Fitted: P_idle, P_clk, P_dyn, v_floor, a, k, w and util_lag_s. Where the trace has no
  power limit column the GPU's catalog TDP is its limit. nvidia-smi power.draw is a 1 s average on
  Hopper (NVML API reference, nvmlDeviceGetPowerUsage), so the model's power is averaged
  over the same trailing second before it is compared; at 1 s sampling that is the sample itself, at
  7.5 ms it matters.
  Two more sensor facts of NVML, both measured on these traces, are taken into account so that
  the card's parameters are not bent to absorb them:
  * clock gating: an idle GPU at its idle clocks has its SM clock tree stopped, and the clock it
    reports is not running. The H800 draws 73.5-73.8 W at a reported 345, 780, 825, 840 or 885 MHz
    alike; the H20 draws 74.5 W at 345 and 75.9 W at 825, against 116 W at 1,980 MHz. Such samples
    are driven at phi = 0. They are those that NVML flags GpuIdle (clocks-event reason 0x1) where
    the trace logs the reasons, and else those with util 0 below half the top clock.
  * utilisation lag: utilization.gpu is the busy share over NVML's past sample period (1/6 to
    1 s by product), so it trails the work that draws the power. On the H100 PCIe bursts,
    utilisation falls to 0 about 0.3 s after power.draw.instant has dropped. The activity is the
    counters read util_lag_s later. The lag is fitted where a trace samples every 0.5 s or faster
    (twice per second, the longest NVML period); in a joint fit, one fast trace is enough, and the
    lag then applies to all the card's traces. This is a property of the sensor, as power_window_s
    is, so the simulator, which drives the kernel with the work itself, has no lag.
- temperature, gpu.temps_after_c: the two-term Foster network (fast die term, slow sink term),
  integrated exactly over each (irregular) sample interval with the power held, driven by
  power.draw.instant where the trace has it (the heat of the moment, not the sensor's 1 s mean);
  fitted: R and tau of each term, and T_cool, the coolant or inlet temperature, which no trace logs.
  Several traces fitted together share the die term and the heat sink's heat capacity; each has its own
  T_cool and sink resistance (its session's air or liquid flow), held near the others' by a weak prior.
  At a trace's first sample the faster term is taken as settled at that sample's power (it settles
  within seconds) and the rest of the rise over the coolant is the slower term's (never below zero).
  A trace that starts soon after earlier work thus starts with a warm sink that is still cooling; the
  H100 PCIe burst2 files start this way, at 55 C and 54 W.

The power fit weighs each operating state of a trace (clock-gated idle, clocked idle and ramps, load) alike,
however long the fit part dwelt in it, and, in a second step, each state by the inverse of how closely the
first fit followed it (two-step feasible weighted least squares): on the H100 PCIe burst2 files 12-21 % of the
samples at 100 % utilisation sit at ready-idle power (kernel gaps that NVML's counter cannot see), and the
H800 random-data GEMM stages scatter +-20 %; neither may pull the idle and clock-tree power that the idle
states pin to a fraction of a per cent. The second step starts from every minimum of the first (the weights
move the minima).

Each trace is split by time: the first FIT_SHARE of its samples fit, the rest are held out. The
model runs through the whole trace from its first sample (thermal state and sensor window carried
across the split) and the errors reported are those on the held-out part. Parameter uncertainty is the standard error from the
least-squares Jacobian (scipy.optimize.least_squares).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.calibrate.sensor import (
    FIT_SHARE,
    GPU_MODEL,
    LEAK_REF_TEMP_C,
    LOAD_UTIL,
    POWER_WINDOW_S,
    sensed_power_w,
    split,
    temperature_model_c,
    trace_arrays,
)
from twin.params.bounds import (
    CLOCK_W_MAX,
    COOLANT_C,
    DIE_R_K_PER_W,
    DIE_TAU_S,
    DYNAMIC_W_MAX,
    LEAK_PER_K_MAX,
    SINK_TAU_S,
    THERMAL_NAMES,
    UTIL_LAG_MAX_S,
)

# (except GA100) and newer (NVML nvmlDeviceGetPowerUsage); catalog power_sensor_window_s
# Weak priors (maximum a posteriori): a trace that never shows the idle GPU at two temperatures cannot
# tell leakage from idle power, and a free fit then extrapolates wildly; the priors hold such
# parameters near the catalog's and cost nothing where the data decide.
LEAK_PRIORS = {
    "leak_fraction": (GPU_MODEL["leak_fraction"], 0.2),  # [M] sd around catalog gpu_model.yaml's [D] value
    "leak_per_k": (GPU_MODEL["leak_per_k"], 0.01),
}  # [M] 0.01-0.03 /K, an engineering range (docs/model.md#gpu-power-and-temperature)
PRIOR_RESIDUAL = 0.2  # [M] a prior's one-sigma miss weighs as a 20 % power residual on one sample (100 samples at 2 %)
IDLE_OVER_LOWEST = 1.2  # [M] idle power is at most 1.2x the lowest power the trace shows (its 2nd percentile)
V_FLOOR_STARTS = (0.0, 0.3, 0.5, 0.7, 0.9)  # [M] voltage floors the power fit starts from: one trace at one or two
# clocks rarely pins v_floor, and its cost has several minima
# clocks are dropping to idle"
# 345-885 of 1,980 MHz, H100 PCIe at 345 of 1,755: gpu_traces)
UTIL_LAG_STARTS_S = (0.1, 0.25, 0.4)  # [M] s: lags the fit starts from, inside that period (the cost has local minima)
# power fit's operating states
STATE_MIN_SAMPLES = 2  # [M] an operating state with fewer (binned) samples in a trace's fit part keeps a sample's
# plain weight: a few transitional samples are not a state to balance
STATE_SCATTER_FLOOR = 0.005  # [M] the smallest relative scatter a state is weighted by (0.5 %; gated idle is
# followed to 0.06 % on H100 PCIe run0823), so that no state weighs without limit
FIT_BIN_S = 0.1  # [M] traces sampled faster are fitted on 0.1 s bins: 10x the sensor's resolution of its 1 s window
SINK_TAU_STARTS_S = (30.0, 120.0, 600.0)  # [M] heat-sink time constants the fit starts from (the cost has local minima)
SESSION_R_SPREAD = np.log(2.0)  # [M] one sigma of a session's sink resistance about the card's: a factor 2 (the
# H100 PCIe gemm traces fitted alone span 0.03-0.12 K/W)
SESSION_PRIOR_K = 1.0  # [M] that sigma weighs as a 1 K miss on one sample: weak wherever the trace pins R down


@dataclass
class Fit:
    params: dict
    stderr: dict
    fit_rows: int
    held_out_rows: int
    at_bound: tuple = ()  # the card's parameters the fit left on a search bound: the traces do not pin them down
    trace_at_bound: tuple = ()  # per trace of a joint fit, its own parameters left on a bound


def _stderr(result, names):
    try:
        jtj = result.jac.T @ result.jac
        dof = max(1, result.fun.shape[0] - len(names))
        cov = np.linalg.inv(jtj) * (2.0 * result.cost / dof)
        return {n: float(np.sqrt(max(cov[i, i], 0.0))) for i, n in enumerate(names)}
    except np.linalg.LinAlgError:
        return {n: float("nan") for n in names}


def _least_squares(residual, names, starts, lower, upper, fixed, minima=None):
    """(params, stderr, names of free parameters left on a bound): least_squares over the free parameters from
    each start, the lowest cost kept; fixed parameters keep their start value and a zero standard error. Each
    start's minimum, as (cost, params), is appended to minima where given."""
    from scipy.optimize import least_squares

    free = [i for i, n in enumerate(names) if n not in fixed]
    best = None
    for x0 in starts:
        full = np.clip(np.array(x0, float), lower, upper)  # a start outside the search range begins at its edge

        def expand(v, full=full):
            full[free] = v
            return dict(zip(names, full))

        result = least_squares(
            lambda v: residual(expand(v)), x0=full[free], bounds=([lower[i] for i in free], [upper[i] for i in free])
        )
        found = {n: float(v) for n, v in expand(result.x).items()}
        if minima is not None:
            minima.append((float(result.cost), found))
        if best is None or result.cost < best[0].cost:
            best = (result, found)
    result, params = best
    stderr = {n: 0.0 for n in names}
    stderr.update(_stderr(result, [names[i] for i in free]))
    return (
        params,
        stderr,
        _on_bound([names[i] for i in free], result.x, [lower[i] for i in free], [upper[i] for i in free]),
    )


def _on_bound(names, values, lower, upper):
    """The names whose value sits on its search bound, to 1e-3 of the bound (or of 1e-3 of the range where the
    bound is 0): least_squares' own active set marks only those within its xtol of 1e-8."""
    out = []
    for name, v, lo, hi in zip(names, values, lower, upper):
        for bound in (lo, hi):
            if np.isfinite(bound) and abs(v - bound) <= 1e-3 * max(abs(bound), 1e-3 * (hi - lo)):
                out.append(name)
                break
    return tuple(out)


def _binned(x, bin_s=FIT_BIN_S):
    """A fast-sampled trace on a bin_s grid, for fitting only (errors are taken at the trace's own rate):
    per bin the mean of each signal (inputs held between samples average so) and the last stamp."""
    if x["t"].shape[0] < 3 or np.median(np.diff(x["t"])) >= bin_s:
        return x
    edges = np.flatnonzero(np.diff(np.floor(x["t"] / bin_s))) + 1  # first sample of each new bin
    starts = np.concatenate(([0], edges))
    counts = np.diff(np.concatenate((starts, [x["t"].shape[0]])))
    out = {k: v for k, v in x.items() if not isinstance(v, np.ndarray)}
    for k, v in x.items():
        if isinstance(v, np.ndarray):
            out[k] = v[starts + counts - 1] if k == "t" else np.add.reduceat(v, starts) / counts
    out["bin_means"] = True
    return out


def _fit_parts(frames, share, max_clock_mhz=None, power_limit_w=np.inf):
    """Per trace (one frame or a list), the arrays of its first share; and the fit and held-out row counts.
    All traces share one f_max: the highest SM clock any of them shows, unless given."""
    frames = [frames] if isinstance(frames, pd.DataFrame) else list(frames)
    if max_clock_mhz is None:
        max_clock_mhz = max(float(np.nanmax(f["sm_clock_mhz"])) for f in frames)
    parts, fit_rows, total = [], 0, 0
    for frame in frames:
        x = trace_arrays(frame, max_clock_mhz, power_limit_w)
        fit_part = split(x["t"].shape[0], share)[0]
        parts.append(_binned({k: (v[fit_part] if isinstance(v, np.ndarray) else v) for k, v in x.items()}))
        fit_rows, total = fit_rows + fit_part.stop, total + x["t"].shape[0]
    return parts, fit_rows, total - fit_rows, max_clock_mhz


def _weights(parts):
    """Per-sample residual weights giving every trace the same say, however many samples it has."""
    sizes = np.array([x["t"].shape[0] for x in parts], float)
    return np.concatenate([np.full(int(n), np.sqrt(sizes.sum() / (len(sizes) * n))) for n in sizes])


def _states(x):
    """Each sample's operating state: 0 clock-gated idle, 1 clocked below LOAD_UTIL (ready idle, ramps), 2 load."""
    return np.where(x["phi"] == 0.0, 0, np.where(x["util"] >= LOAD_UTIL, 2, 1))


def _state_weights(states, misses=None):
    """Per-sample residual weights within one trace (mean square 1, so the trace keeps its say): every operating
    state with at least STATE_MIN_SAMPLES samples gets the same total say, whatever share of the fit part it
    held (the card's parameters split across the states: idle and leakage show gated, the clock tree ready,
    the switching power at load; how long the fit part dwelt in each is the schedule's, not the card's); with
    the first fit's relative misses, each state is further weighted by the inverse of their RMS (floored at
    STATE_SCATTER_FLOOR): the inverse-variance weights of feasible generalised least squares."""
    w = np.ones(states.shape[0])
    counts = {s: np.count_nonzero(states == s) for s in (0, 1, 2)}
    present = [s for s, n in counts.items() if n >= STATE_MIN_SAMPLES]
    for s in (0, 1, 2):
        m = states == s
        if s in present:
            w[m] = np.sqrt(states.shape[0] / (len(present) * counts[s]))
        if misses is not None and counts[s]:
            scatter = misses[m] if s in present else misses  # too few samples for a state's own scatter
            w[m] /= max(float(np.sqrt(np.mean(scatter**2))), STATE_SCATTER_FLOOR)
    return w / np.sqrt(np.mean(w**2))


def for_trace(params, k):
    """The parameters of trace k of a joint fit: the card's, with that trace's workload, coolant and sink
    resistance (the sink's heat capacity kept: its time constant scales with the resistance)."""
    out = dict(params)
    if "trace_dynamic_w" in params:
        out["dynamic_w"] = params["trace_dynamic_w"][k]
    if "trace_coolant_c" in params:
        out["coolant_c"] = params["trace_coolant_c"][k]
    if "trace_sink_r_k_per_w" in params:
        r = params["trace_sink_r_k_per_w"][k]
        out["sink_tau_s"] = _sink_tau_s(r, params["sink_c_j_per_k"])
        out["sink_r_k_per_w"] = r
    return out


def fit_power(frames, max_clock_mhz=None, power_limit_w=np.inf, share=FIT_SHARE, power_window_s=POWER_WINDOW_S):
    """Fit the power law on the first share of one trace or of several together (relative residuals:
    MAPE-like, every trace weighted alike, and within a trace its operating states: _state_weights). Idle, clock-tree, voltage-floor, leakage and memory-weight
    parameters belong to the card and are shared; the switching power dynamic_w belongs to the work the
    trace ran (GEMM precision and input data change it at the same NVML counters), so each trace has its
    own (trace_dynamic_w) and the card's dynamic_w is the largest: activity 1 is the heaviest work seen.
    util_lag_s, the card's utilisation-counter lag, is fitted where one of the traces resolves it (module
    docstring) and is 0 otherwise."""
    parts, fit_rows, held_rows, f_max = _fit_parts(frames, share, max_clock_mhz, power_limit_w)
    measured = np.concatenate([x["p"] for x in parts])
    states = [_states(x) for x in parts]
    weights = _weights(parts) * np.concatenate([_state_weights(s) for s in states])
    card = ("idle_w", "clock_w", "v_floor", "leak_fraction", "leak_per_k", "memory_weight", "util_lag_s")
    names = card + tuple(f"dynamic_w/{k}" for k in range(len(parts)))
    fixed = set() if any(np.isfinite(x["mem_util"]).any() for x in parts) else {"memory_weight"}
    p_low = np.percentile(measured, 2)
    dyn0 = [max(np.percentile(x["p"], 99.5) - p_low, 1.0) for x in parts]

    def misses(p):
        return [
            sensed_power_w({**p, "dynamic_w": p[f"dynamic_w/{k}"], "power_window_s": power_window_s}, x) / x["p"] - 1.0
            for k, x in enumerate(parts)
        ]

    def residual(p):
        prior = [PRIOR_RESIDUAL * (p[name] - mean) / sd for name, (mean, sd) in LEAK_PRIORS.items()]
        return np.concatenate((np.concatenate(misses(p)) * weights, prior))

    if not any(np.median(np.diff(x["t"])) <= 0.5 * UTIL_LAG_MAX_S for x in parts):
        fixed = fixed | {"util_lag_s"}  # no trace samples every 0.5 s or faster: no lag resolved
    lags = (0.0,) if "util_lag_s" in fixed else UTIL_LAG_STARTS_S
    starts = [
        (p_low, 0.1 * p_low, v_floor, 0.3, 0.02, 1.0 if "memory_weight" in fixed else 0.5, lag, *dyn0)
        for v_floor in V_FLOOR_STARTS
        for lag in lags
    ]
    lower = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0) + (0.0,) * len(parts)
    upper = (IDLE_OVER_LOWEST * p_low, CLOCK_W_MAX, 1.0, 1.0, LEAK_PER_K_MAX, 1.0, UTIL_LAG_MAX_S) + (
        DYNAMIC_W_MAX,
    ) * len(parts)
    minima = []
    params, _, _ = _least_squares(residual, names, starts, lower, upper, fixed, minima)
    # second step (feasible weighted least squares): each state weighted by how closely the first fit could
    # follow it, so that the scatter of one state (GEMM data patterns, kernel gaps at full utilisation) does
    # not pull parameters another state pins down; from every first-step minimum, as the weights move them
    weights = _weights(parts) * np.concatenate([_state_weights(s, r) for s, r in zip(states, misses(params))])
    params, stderr, at_bound = _least_squares(
        residual, names, [[p[n] for n in names] for _, p in minima], lower, upper, fixed
    )
    dynamic = [params.pop(f"dynamic_w/{k}") for k in range(len(parts))]
    dynamic_err = [stderr.pop(f"dynamic_w/{k}") for k in range(len(parts))]
    heaviest = int(np.argmax(dynamic))
    params.update(
        dynamic_w=dynamic[heaviest],
        max_clock_mhz=f_max,
        power_limit_w=float(power_limit_w),
        leak_ref_temp_c=LEAK_REF_TEMP_C,
        power_window_s=float(power_window_s),
    )
    stderr["dynamic_w"] = dynamic_err[heaviest]
    if len(parts) > 1:
        params["trace_dynamic_w"] = dynamic
    card_bound, trace_bound = _split_bound(at_bound, len(parts))
    if f"dynamic_w/{heaviest}" in at_bound:  # the card's dynamic_w is the heaviest trace's
        card_bound += ("dynamic_w",)
    return Fit(params, stderr, fit_rows, held_rows, card_bound, trace_bound)


def _split_bound(names, n_traces, rename=None):
    """(card names, per-trace names) of a fit's parameters on a bound: 'coolant_c/2' is trace 2's coolant_c;
    rename maps fitted names to the calibration file's."""
    rename = rename or {}
    card = tuple(rename.get(n, n) for n in names if "/" not in n)
    per_trace = tuple(tuple(n.split("/")[0] for n in names if n.endswith(f"/{k}")) for k in range(n_traces))
    return card, per_trace


def fit_thermal(frames, share=FIT_SHARE):
    """Fit the die (and sink) RC nodes on the first share of one trace or several, driven by the measured
    power. The die term and the heat sink's heat capacity belong to the card and are shared. Each trace
    has its own coolant (inlet) temperature, which no trace logs (trace_coolant_c; coolant_c is their
    median), and, fitted together, its own sink-to-coolant resistance (trace_sink_r_k_per_w; the sink's
    time constant follows as R C): that resistance is set by the air or liquid flow of the session, and
    a server's fan speed is not in an NVML trace (the H100 PCIe gemm traces alone fit 0.03-0.12 K/W)."""
    parts, fit_rows, held_rows, _ = _fit_parts(frames, share)
    if len(parts) > 1:
        return _fit_thermal_sessions(parts, fit_rows, held_rows)
    x = parts[0]

    def residual(params):
        return temperature_model_c(params, x["t"], x["p_heat"], x["temp"][0]) - x["temp"]

    starts = [(0.03, 5.0, 0.05, tau, float(np.min(x["temp"])) - 2.0) for tau in SINK_TAU_STARTS_S]
    lower = (DIE_R_K_PER_W[0], DIE_TAU_S[0], 0.0, SINK_TAU_S[0], COOLANT_C[0])
    upper = (DIE_R_K_PER_W[1], DIE_TAU_S[1], DIE_R_K_PER_W[1], SINK_TAU_S[1], COOLANT_C[1])
    params, stderr, at_bound = _least_squares(residual, THERMAL_NAMES, starts, lower, upper, set())
    if params["sink_tau_s"] < params["tau_s"]:  # the Foster terms are interchangeable: the slow one is the sink
        swap = {
            "r_k_per_w": "sink_r_k_per_w",
            "tau_s": "sink_tau_s",
            "sink_r_k_per_w": "r_k_per_w",
            "sink_tau_s": "tau_s",
        }
        for a, b in (("r_k_per_w", "sink_r_k_per_w"), ("tau_s", "sink_tau_s")):
            params[a], params[b] = params[b], params[a]
            stderr[a], stderr[b] = stderr[b], stderr[a]
        at_bound = tuple(swap.get(n, n) for n in at_bound)
    return Fit(params, stderr, fit_rows, held_rows, at_bound, ((),))


def _sink_tau_s(r_k_per_w, c_j_per_k):
    """The heat sink's time constant R C, held to the sink's search range (SINK_TAU_S)."""
    return min(max(r_k_per_w * c_j_per_k, SINK_TAU_S[0]), SINK_TAU_S[1])


def _fit_thermal_sessions(parts, fit_rows, held_rows):
    """fit_thermal of several traces: die R and tau and the sink's heat capacity shared, the sink
    resistance and the coolant per trace. The die is held the faster term (tau at most SINK_TAU_S[0]).
    A weak prior keeps the sessions' resistances near their geometric mean: where a trace cannot tell
    its resistance from its inlet temperature (steady power throughout), it takes the others'."""
    n = len(parts)
    measured = np.concatenate([x["temp"] for x in parts])
    weights = _weights(parts)
    names = (
        ("r_k_per_w", "tau_s", "sink_c_j_per_k")
        + tuple(f"sink_r_k_per_w/{k}" for k in range(n))
        + tuple(f"coolant_c/{k}" for k in range(n))
    )

    def session(p, k):
        r = p[f"sink_r_k_per_w/{k}"]
        return {
            "r_k_per_w": p["r_k_per_w"],
            "tau_s": p["tau_s"],
            "sink_r_k_per_w": r,
            "sink_tau_s": _sink_tau_s(r, p["sink_c_j_per_k"]),
            "coolant_c": p[f"coolant_c/{k}"],
        }

    def residual(p):
        model = [temperature_model_c(session(p, k), x["t"], x["p_heat"], x["temp"][0]) for k, x in enumerate(parts)]
        log_r = np.log([p[f"sink_r_k_per_w/{k}"] for k in range(n)])
        spread = SESSION_PRIOR_K * (log_r - log_r.mean()) / SESSION_R_SPREAD  # sessions of one card stay alike
        return np.concatenate(((np.concatenate(model) - measured) * weights, spread))

    cool0 = [float(np.min(x["temp"])) - 2.0 for x in parts]
    starts = [(0.03, 2.0, tau / 0.05, *(0.05,) * n, *cool0) for tau in SINK_TAU_STARTS_S]
    lower = (
        (DIE_R_K_PER_W[0], DIE_TAU_S[0], SINK_TAU_S[0] / DIE_R_K_PER_W[1])
        + (DIE_R_K_PER_W[0],) * n
        + (COOLANT_C[0],) * n
    )
    upper = (
        (DIE_R_K_PER_W[1], SINK_TAU_S[0], SINK_TAU_S[1] / DIE_R_K_PER_W[0])
        + (DIE_R_K_PER_W[1],) * n
        + (COOLANT_C[1],) * n
    )
    p, err, at_bound = _least_squares(residual, names, starts, lower, upper, set())
    sink_r = [p[f"sink_r_k_per_w/{k}"] for k in range(n)]
    coolant = [p[f"coolant_c/{k}"] for k in range(n)]
    typical_r = float(np.median(sink_r))
    params = {
        "r_k_per_w": p["r_k_per_w"],
        "tau_s": p["tau_s"],
        "sink_r_k_per_w": typical_r,
        "sink_tau_s": _sink_tau_s(typical_r, p["sink_c_j_per_k"]),
        "coolant_c": float(np.median(coolant)),
        "sink_c_j_per_k": p["sink_c_j_per_k"],
        "trace_sink_r_k_per_w": sink_r,
        "trace_coolant_c": coolant,
    }
    stderr = {
        "r_k_per_w": err["r_k_per_w"],
        "tau_s": err["tau_s"],
        "sink_r_k_per_w": float(np.median([err[f"sink_r_k_per_w/{k}"] for k in range(n)])),
        "sink_tau_s": typical_r * err["sink_c_j_per_k"],
        "coolant_c": float(np.median([err[f"coolant_c/{k}"] for k in range(n)])),
    }
    return Fit(params, stderr, fit_rows, held_rows, *_split_bound(at_bound, n, {"sink_c_j_per_k": "sink_tau_s"}))


def fit_session(frame, thermal_params, share=FIT_SHARE, air_flow=False):
    """The card's thermal parameters in one trace's session, fitted on its first share with the die held: the
    coolant (inlet) temperature, and with air_flow the sink-to-coolant resistance too (the session's air or
    liquid flow; the sink's heat capacity held, so its time constant scales with it), kept near the card's
    by the joint fit's prior (SESSION_R_SPREAD): what a joint fit gives each trace its own (fit_thermal)."""
    x = _fit_parts(frame, share)[0][0]
    card_r = thermal_params.get("sink_r_k_per_w", 0.0)
    heat_capacity = thermal_params.get("sink_tau_s", 1.0) / card_r if card_r > 0.0 else 0.0
    air_flow = air_flow and card_r > 0.0

    def session(params):
        out = {**thermal_params, **params}
        if air_flow:
            out["sink_tau_s"] = _sink_tau_s(params["sink_r_k_per_w"], heat_capacity)
        return out

    def residual(params):
        miss = temperature_model_c(session(params), x["t"], x["p_heat"], x["temp"][0]) - x["temp"]
        if not air_flow:
            return miss
        spread = SESSION_PRIOR_K * np.log(params["sink_r_k_per_w"] / card_r) / SESSION_R_SPREAD
        return np.append(miss, spread)

    names, start = ("coolant_c",), [float(np.min(x["temp"])) - 2.0]
    lower, upper = [COOLANT_C[0]], [COOLANT_C[1]]
    if air_flow:
        names, start = names + ("sink_r_k_per_w",), start + [card_r]
        lower, upper = lower + [DIE_R_K_PER_W[0]], upper + [DIE_R_K_PER_W[1]]
    params, _, _ = _least_squares(residual, names, [start], lower, upper, set())
    return session(params)


def fit_workload(frame, power_params, share=FIT_SHARE):
    """The switching power dynamic_w of one trace's work, fitted on its first share with the card's other power
    parameters held: what a joint fit frees per trace (fit_power), for a card calibrated on other work. Every
    sample weighs alike: the one parameter is the load's, and balancing the states would let the idle ones,
    which it barely moves, pull it."""
    x = _fit_parts(frame, share, power_params.get("max_clock_mhz"), power_params.get("power_limit_w", np.inf))[0][0]

    def residual(params):
        return sensed_power_w({**power_params, **params}, x) / x["p"] - 1.0

    params, _, _ = _least_squares(
        residual, ("dynamic_w",), [(power_params["dynamic_w"],)], (0.0,), (DYNAMIC_W_MAX,), set()
    )
    return params["dynamic_w"]
