"""What `twin calibrate` does: read traces, fit the GPU kernels, report the held-out errors, and
check an existing calibration on other traces without refitting."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin import catalog
from twin.calibrate import calibration, evaluate, fit, sensor
from twin.io import gpu_trace
from twin.params.calibration import read as read_calibration


@dataclass
class Trace:
    label: str  # file name, with '#gpu' where the file holds several GPUs
    path: Path
    frame: object  # canonical frame of one GPU
    repairs: list


def load(paths, timezone="UTC"):
    """One Trace per (file, GPU); TraceError for a file that cannot be read."""
    out = []
    for path in map(Path, paths):
        frame, repairs = gpu_trace.read_trace(path, timezone)
        gpus = sorted(frame["gpu"].unique())
        for gpu in gpus:
            label = path.name if len(gpus) == 1 else f"{path.name}#{gpu}"
            out.append(Trace(label, path, frame[frame["gpu"] == gpu].reset_index(drop=True), repairs))
    return out


# canonical column -> the nvidia-smi field that logs it, for telling a user what to add to --query-gpu
FIT_COLUMNS = {
    "power_w": "power.draw",
    "temp_c": "temperature.gpu",
    "util": "utilization.gpu",
    "sm_clock_mhz": "clocks.current.sm",
}
MIN_IDLE_W = 5.0  # [M] W, far under any data-center GPU's idle board power (the shared A100/H100/H800/H20 traces'
# 2nd-percentile power: 50-81 W)
MIN_LOAD_SAMPLES = 20  # [M] samples at load (utilisation >= sensor.LOAD_UTIL) in the fit parts, all traces together:
# fewer leave the dynamic power and the thermal resistance undetermined (NaN uncertainty)


def drivable(loaded):
    """ValueError naming the trace and what it lacks where the kernels cannot be driven by it: a column
    absent or empty, fewer than 20 complete samples, or an SM clock that never leaves 0."""
    for t in loaded:
        present = {c: int(t.frame[c].notna().sum()) for c in FIT_COLUMNS}
        empty = [f"{c} ({FIT_COLUMNS[c]})" for c, n in present.items() if n == 0]
        if empty:
            raise ValueError(
                f"{t.label}: no value of {', '.join(empty)}: the fit needs power, temperature, "
                f"utilisation and SM clock (nvidia-smi --query-gpu=timestamp,"
                f"{','.join(FIT_COLUMNS.values())})"
            )
        complete = t.frame[list(FIT_COLUMNS)].notna().all(axis=1) & (t.frame["power_w"] > 0)
        if complete.sum() < 20:
            raise ValueError(
                f"{t.label}: only {int(complete.sum())} samples have power (above 0 W), temperature, "
                f"utilisation and SM clock together (at least 20 are needed to fit)"
            )
        lowest_w = float(np.percentile(t.frame["power_w"][complete], 2))
        if lowest_w < MIN_IDLE_W:
            raise ValueError(
                f"{t.label}: power_w ({FIT_COLUMNS['power_w']}) is {lowest_w:.3g} W or less on 2 % of "
                f"the samples; no GPU board idles under {MIN_IDLE_W:g} W (the shared traces' lowest 2 %: "
                f"50-81 W): power in kW or mW written as W?"
            )
        if not (t.frame["sm_clock_mhz"] > 0).any():
            raise ValueError(
                f"{t.label}: sm_clock_mhz ({FIT_COLUMNS['sm_clock_mhz']}) is 0 in every sample: the "
                f"clock fraction the power model is driven by cannot be formed"
            )


def fittable(loaded):
    """drivable, and load somewhere in the fitted parts: ValueError otherwise."""
    drivable(loaded)
    at_load = 0
    for t in loaded:
        util = t.frame["util"].dropna().to_numpy()
        at_load += int((util[sensor.split(util.shape[0])[0]] >= sensor.LOAD_UTIL).sum())
    peak = max(float(t.frame["util"].max()) for t in loaded)
    fraction_hint = (
        f" (utilisation peaks at {peak:.0%}: a column logged as a 0-1 fraction? nvidia-smi and DCGM write percent)"
        if 0.0 < peak <= 0.01
        else ""
    )
    if at_load < MIN_LOAD_SAMPLES:
        raise ValueError(
            f"{', '.join(t.label for t in loaded)}: {at_load} sample(s) at load (utilisation >= "
            f"{sensor.LOAD_UTIL:.0%}) in the fitted first {sensor.FIT_SHARE:.0%}; at least "
            f"{MIN_LOAD_SAMPLES} are needed to fit the dynamic power and thermal resistance: record "
            f"through idle, load and cool-down{fraction_hint}"
        )


def _series(trace, power_params, thermal_params):
    """Measured and simulated power and temperature through a trace, for the report's plot."""
    x = sensor.trace_arrays(trace.frame, power_params["max_clock_mhz"], power_params["power_limit_w"])
    return {
        "t_s": x["t"],
        "power_w": x["p"],
        "model_power_w": sensor.sensed_power_w(power_params, x),
        "temp_c": x["temp"],
        "model_temp_c": sensor.temperature_model_c(thermal_params, x["t"], x["p_heat"], x["temp"][0]),
        "fit_until_s": float(x["t"][sensor.split(x["t"].shape[0])[0].stop - 1]),
    }


def calibrate(paths, gpu, cooling="air", timezone="UTC"):
    """(calibration document, per-trace plot series) of the GPU kernels fitted to the traces together."""
    if gpu not in catalog.gpu_names():
        raise ValueError(f"unknown GPU '{gpu}'; allowed: {', '.join(catalog.gpu_names())}")
    loaded = load(paths, timezone)
    fittable(loaded)
    frames = [t.frame for t in loaded]
    power = fit.fit_power(frames, **sensor.card(gpu))
    thermal = fit.fit_thermal(frames)
    held_out, series = [], {}
    for k, t in enumerate(loaded):
        p_k, t_k = fit.for_trace(power.params, k), fit.for_trace(thermal.params, k)
        held_out.append(
            {
                "trace": t.label,
                "dynamic_w": p_k["dynamic_w"],
                "coolant_c": t_k["coolant_c"],
                "sink_r_k_per_w": t_k["sink_r_k_per_w"],
                **evaluate.errors(t.frame, p_k, t_k),
                "at_bound": list(power.trace_at_bound[k] + thermal.trace_at_bound[k]),
            }
        )
        series[t.label] = _series(t, p_k, t_k)
    sources = [
        {"file": t.label, "sha256": calibration.sha256(t.path), "samples": len(t.frame), "repairs": t.repairs}
        for t in loaded
    ]
    return calibration.document(gpu, cooling, power, thermal, held_out, sources), series


def check(calibration_path, paths, timezone="UTC"):
    """Errors of an existing calibration on whole traces, no refitting: the kernels driven by each trace's
    own utilisation, clocks and power limit, power and temperature solved together as the simulator does."""
    doc = read_calibration(calibration_path)
    power = doc["power"]
    results, loaded = [], load(paths, timezone)
    drivable(loaded)
    for t in loaded:
        coupled = evaluate.errors(t.frame, power, doc["thermal"], held_out=False, coupled=True)
        alone = evaluate.errors(t.frame, power, doc["thermal"], held_out=False)
        results.append(
            {
                "trace": t.label,
                "repairs": t.repairs,
                "power_mape_pct": coupled["power_mape_pct"],
                "power_mape_load_pct": coupled["power_mape_load_pct"],
                "temp_rmse_k": coupled["temp_rmse_k"],
                "temp_max_error_k": coupled["temp_max_error_k"],
                "power_mape_pct_at_measured_temp": alone["power_mape_pct"],
                "temp_rmse_k_at_measured_power": alone["temp_rmse_k"],
                "samples": coupled["samples"],
                "duration_s": coupled["duration_s"],
            }
        )
    out = {"calibration": str(calibration_path), "gpu": doc["gpu"], "traces": results}
    if "refit_advised" in doc:
        out["note"] = doc["refit_advised"]
    return out


def repair_lines(rows, key):
    """'file: what was repaired' for each repair the reader made, once per file (its GPUs share them)."""
    seen, out = set(), []
    for row in rows:
        name = row[key].split("#")[0]
        for repair in row.get("repairs", []):
            if (name, repair) not in seen:
                seen.add((name, repair))
                out.append(f"{name}: {repair}")
    return out


def _repairs_block(rows, key):
    lines = repair_lines(rows, key)
    return ["  repairs made in reading the traces:"] + [f"    {line}" for line in lines] if lines else []


def _error_table(rows, extra=()):
    """The per-trace error lines of the fit report and --check: trace, power MAPE (all and at load), temperature
    RMSE and max error, each (heading, key) of extra, then the sample count."""
    lines = [
        f"    {'trace':44s} {'power MAPE %':>12s} {'at load %':>9s} {'T RMSE K':>9s} {'T max K':>8s} "
        + "".join(f"{heading:>{len(heading)}s} " for heading, _ in extra)
        + f"{'samples':>8s}"
    ]
    for row in rows:
        load = row.get("power_mape_load_pct")
        lines.append(
            f"    {row['trace'][:44]:44s} {row['power_mape_pct']:12.2f} "
            f"{'-' if load is None else f'{load:.2f}':>9s} {row['temp_rmse_k']:9.2f} "
            f"{row['temp_max_error_k']:8.2f} "
            + "".join(f"{row[key]:{len(heading)}.2f} " for heading, key in extra)
            + f"{row['samples']:8d}"
        )
    return lines


def report_text(doc):
    """The fit report: parameters with standard errors, and the held-out errors per trace."""
    lines = [
        f"GPU {doc['gpu']} ({doc['cooling']}-cooled when traced); fitted on the first {sensor.FIT_SHARE:.0%} of each trace"
    ]
    for block in ("power", "thermal"):
        lines.append(f"  {block}:")
        bound = doc[block].get("at_bound", [])
        for name, value in doc[block].items():
            if name in ("stderr", "at_bound"):
                continue
            err = doc[block]["stderr"].get(name)
            spread = (
                ""
                if not err
                else "  ± ? (undetermined: the traces do not pin it down)"
                if err != err
                else f"  ± {err:.3g}"
            )
            lines.append(
                f"    {name:16s} {value:12.5g}"
                + spread
                + ("  (on its search bound: the traces do not pin it down)" if name in bound else "")
            )
    lines.append(f"  held-out errors (the last {1 - sensor.FIT_SHARE:.0%} of each trace):")
    notes = [
        f"    {row['trace']}: its own {', '.join(row['at_bound'])} on the search bound"
        for row in doc["held_out"]
        if row.get("at_bound")
    ]
    return "\n".join(lines + _error_table(doc["held_out"]) + notes + _repairs_block(doc.get("traces", []), "file"))


def check_text(result):
    """The --check table: per trace, the coupled power MAPE (all and at load) and temperature errors, and the
    temperature RMSE at the measured power, which tells a thermal miss from one carried over from the power."""
    lines = [
        f"calibration {result['calibration']} ({result['gpu']}), no refit: power and temperature solved "
        f"together over each whole trace"
    ]
    extra = (("T RMSE K at measured power", "temp_rmse_k_at_measured_power"),)
    return "\n".join(lines + _error_table(result["traces"], extra) + _repairs_block(result["traces"], "trace"))
