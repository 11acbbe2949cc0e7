"""Calibration of the GPU kernels on every real trace in ../shared/data/gpu_traces (issue 6).

Each trace is fitted alone by twin/calibrate/fit.py (the simulator's own power law and two-node RC
model) on its first 60 %, and judged on its last 40 %: power MAPE <= 5 % and die temperature RMSE
<= 2 K (the issue's bounds). Cross-trace: the parameters fitted on one trace of a card predict the
held-out part of the next trace of the same card and the same GEMM data pattern (all-zero, random
or max-power inputs: a workload property no NVML counter shows, worth ~1.5x in switching power)
within 1.5x that trace's own held-out error.

Card calibration: all traces of a folder fitted together (card parameters shared, each trace's
switching power and inlet temperature its own), judged on each trace's held-out part.

A case that misses its bound for a reason the data make plain is marked as a known gap, and that
reason is printed beside it; none is hidden.
"""

from functools import lru_cache
from pathlib import Path

from twin import catalog
from twin.calibrate import fit
from twin.calibrate.traces import read_trace
from twin.validate import Case

TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpu_traces" / "yqg9651_cuda_test"
SOURCE = "yqg9651/cuda_test nvidia-smi traces (shared/data/gpu_traces), held-out part"
FOLDERS = {"h800_sxm_700w_dvfs_gemm": "H800-SXM", "h100_pcie_350w_gemm": "H100-PCIe",
           "h100_pcie_350w_burst": "H100-PCIe", "a100_pcie_250w_burst": "A100-PCIe", "h20_dvfs_gemm": "H20"}
POWER_BOUND_PCT = 5.0   # issue 6 acceptance
TEMP_BOUND_K = 2.0      # issue 6 acceptance
CROSS_FACTOR = 1.5      # issue 6 acceptance
PATTERNS = ("allzero", "random", "maxpower")  # GEMM input data: switching power differs ~1.5x between them
DATA_PHASE = ("the sweep runs its random-data GEMMs first and its all-zero-data GEMMs last: the held-out 40 % "
              "is a switching activity the fit part never shows, and no NVML counter sees data patterns")
SHORT_TRACE = ("a trace under 2 minutes (20-60 s bursts, 45 s H20 runs): the fit part is shorter than the heat "
               "sink's time constant, and a burst's held-out part is mostly the idle after it")
SHORT_TRACE_S = 120.0
PRECISION = ("GEMMs of another precision or mode (fp16 vs fp8, fast vs normal accumulation) switch other logic: "
             "a workload property no NVML counter shows")
KNOWN_GAPS = {"random_gemm_bf16": DATA_PHASE, "random_gemm_fp16_half": DATA_PHASE, "random_gemm_tf32": DATA_PHASE,
              "allzero_gemm_int8": "127 samples; the one load stage lies in the held-out part, so the fit part "
                                   "has no load to learn the thermal resistances from"}


def _stem(path):
    return path.name.split(".")[0]


def _gap(path):
    frame = _fitted(path)[0]
    seconds = (frame["time_utc"].iloc[-1] - frame["time_utc"].iloc[0]).total_seconds()
    return SHORT_TRACE if seconds < SHORT_TRACE_S else KNOWN_GAPS.get(_stem(path), "")


def _precision(path):
    """The GEMM type of a trace: its name less the data pattern and run labels."""
    words = [w for w in _stem(path).split("_") if w not in PATTERNS and w not in ("gemm", "burst", "burst2", "run0823")]
    return "_".join(words)


@lru_cache(maxsize=None)
def _fitted(path):
    """(frame, power fit, thermal fit, held-out errors) of one trace fitted alone."""
    gpu = FOLDERS[path.parent.name]
    frame = read_trace(path)[0]
    limit_w = catalog.load("gpus")[gpu]["tdp_w"] if gpu in catalog.gpu_names() else float("inf")
    power = fit.fit_power(frame, power_limit_w=limit_w)
    thermal = fit.fit_thermal(frame)
    return frame, power, thermal, fit.errors(frame, power.params, thermal.params)


def _bound_case(name, value, high, unit, gap, tolerance):
    return Case(name, SOURCE, f"<= {high:g}", value, 0.0, high, tolerance, unit, gap)


def _trace_cases(gpu, path):
    e = _fitted(path)[3]
    label = f"{gpu} {path.name}, {e['samples']} held-out samples"
    gap = _gap(path)
    return [_bound_case(f"{label}: power MAPE", e["power_mape_pct"], POWER_BOUND_PCT, "%", gap, "issue 6 bound"),
            _bound_case(f"{label}: temperature RMSE", e["temp_rmse_k"], TEMP_BOUND_K, "K", gap, "issue 6 bound")]


def _pattern(path):
    return next((p for p in PATTERNS if p in path.name), "")


def _cross_cases(gpu, paths):
    """Each trace's held-out part predicted by the fit of the previous trace of the same data pattern,
    against its own fit."""
    out = []
    pairs = [(a, b) for pattern in PATTERNS
             for same in [sorted((p for p in paths if _pattern(p) == pattern), key=_precision)]
             for a, b in zip(same, same[1:])]
    for donor, target in pairs:
        _, power, thermal, _ = _fitted(donor)
        frame, _, _, own = _fitted(target)
        cross = fit.errors(frame, power.params, thermal.params)
        gap = _gap(target) or _gap(donor) or (PRECISION if _precision(donor) != _precision(target) else "")
        for key, unit, what in (("power_mape_pct", "%", "power MAPE"),
                                ("temp_rmse_k", "K", "temperature RMSE")):
            high = CROSS_FACTOR * own[key]
            out.append(Case(f"{gpu} cross-trace {_stem(donor)} -> {_stem(target)}: {what}", SOURCE,
                            f"own fit {own[key]:.3g}", cross[key], 0.0, high,
                            f"<= {CROSS_FACTOR}x own fit", unit, gap))
    return out


def _card_cases(gpu, paths):
    """One calibration of the card from all traces of a folder together (what `twin calibrate` does with
    several traces: card parameters shared, each trace's switching power and inlet temperature its own),
    judged on each trace's held-out part."""
    frames = [_fitted(p)[0] for p in paths]
    limit_w = catalog.load("gpus")[gpu]["tdp_w"] if gpu in catalog.gpu_names() else float("inf")
    power = fit.fit_power(frames, power_limit_w=limit_w)
    thermal = fit.fit_thermal(frames)
    sink = [_fitted(p)[2].params["sink_r_k_per_w"] for p in paths]
    airflow = (f"{gpu} is cooled by its server's fans, whose speed no trace logs: the sink resistance fitted "
               f"on each trace alone spans {min(sink):.3f}-{max(sink):.3f} K/W, which one shared value cannot "
               f"follow") if max(sink) > 2.0 * min(sink) else ""
    out = []
    for k, (path, frame) in enumerate(zip(paths, frames)):
        e = fit.errors(frame, fit.for_trace(power.params, k), fit.for_trace(thermal.params, k))
        label = f"{gpu} card calibration from {len(paths)} traces, on {path.name}"
        gap = _gap(path)
        out += [_bound_case(f"{label}: power MAPE", e["power_mape_pct"], POWER_BOUND_PCT, "%", gap, "issue 6 bound"),
                _bound_case(f"{label}: temperature RMSE", e["temp_rmse_k"], TEMP_BOUND_K, "K", gap or airflow,
                            "issue 6 bound")]
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
        out += _card_cases(gpu, paths)
    return out
