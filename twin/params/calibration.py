"""The calibration file as a simulation reads it: what `twin calibrate` fitted for one GPU model, and what a scenario's hall
takes from it (`gpu: {model: H100-PCIe, calibration: calib.yaml}`) in place of the catalog.

    gpu: H100-PCIe
    power: {idle_w, clock_w, dynamic_w, v_floor, leak_fraction, leak_per_k, leak_ref_temp_c,
            memory_weight, max_clock_mhz, power_limit_w, power_window_s, util_lag_s, stderr: {...}}
        (power_window_s and util_lag_s describe the trace's sensors, not the GPU: --check uses them,
        a scenario does not)
    thermal: {r_k_per_w, tau_s, sink_r_k_per_w, sink_tau_s, coolant_c, stderr: {...}}
        (at_bound in each block: parameters the fit left on a search bound, which the traces do not pin down)
    held_out: [{trace, dynamic_w, coolant_c, sink_r_k_per_w, power_mape_pct, power_mape_load_pct, temp_rmse_k,
                temp_max_error_k, samples, load_samples}, ...]
        (each trace's own switching power, inlet temperature and sink resistance: those belong to the work,
        the room and the session's air or liquid flow, the rest to the card; the card's dynamic_w is the
        heaviest trace's, its sink_r_k_per_w the traces' median)
    traces: [{file, sha256, samples, gpu}, ...]

The thermal resistances are those of the card as it was cooled when traced (its own fan and heat
sink, or its cold plate); a scenario that cools it another way should not take them (the scenario
check says so when the hall's cooling differs from the calibration's `cooling`).
"""

import math
from pathlib import Path

import yaml

from twin import catalog, yaml_input
from twin.errors import InputError
from twin.params.bounds import (
    CLOCK_W_MAX,
    DIE_R_K_PER_W,
    DIE_TAU_S,
    DYNAMIC_W_MAX,
    LEAK_PER_K_MAX,
    SINK_TAU_S,
    THERMAL_NAMES,
    TRACE_BOUNDS,
    UTIL_LAG_MAX_S,
)

POWER_FIELDS = (
    "idle_w",
    "clock_w",
    "dynamic_w",
    "v_floor",
    "leak_fraction",
    "leak_per_k",
    "leak_ref_temp_c",
    "memory_weight",
    "max_clock_mhz",
    "power_limit_w",
    "power_window_s",
    "util_lag_s",
)
POWER_DEFAULTS = {"util_lag_s": 0.0}  # files written before the utilisation lag was fitted had none
THERMAL_FIELDS = THERMAL_NAMES  # the Foster network's fitted parameters
COOLING = ("air", "liquid")
BOARD_POWER_MAX_W = TRACE_BOUNDS["power_w"][1]  # W, the trace reader's plausible range
CLOCK_MAX_MHZ = TRACE_BOUNDS["sm_clock_mhz"][1]  # MHz, the same
POWER_WINDOW_MAX_S = 10.0  # [M] s: sensors average over 1 s (Hopper power.draw) or less; 10x that is no power sensor


class CalibrationError(InputError, ValueError):
    """A calibration file that cannot be used, with the file and the field."""


def _yaml(path, what):
    """The parsed YAML of a calibration file, or CalibrationError naming it."""
    try:
        return yaml_input.load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(f"{path}: {what} file not found") from None
    except yaml.MarkedYAMLError as exc:
        raise CalibrationError(f"{path}:{yaml_input.problem_line(exc)}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise CalibrationError(f"{path}: not a readable calibration YAML ({exc})") from None


def read(path, expect_gpu=None):
    """The validated calibration dict of a file; CalibrationError names the file and the field."""
    doc = _yaml(path, "calibration")
    if not isinstance(doc, dict):
        raise CalibrationError(f"{path}: a calibration is a mapping with gpu, power and thermal (see twin calibrate)")
    gpu = doc.get("gpu")
    if gpu not in catalog.gpu_names():
        raise CalibrationError(f"{path}: gpu = {gpu!r} is not a catalog GPU; allowed: {', '.join(catalog.gpu_names())}")
    if expect_gpu is not None and gpu != expect_gpu:
        raise CalibrationError(f"{path}: calibrates {gpu}, but the hall's gpu model is {expect_gpu}")
    if doc.get("cooling") not in COOLING:
        raise CalibrationError(f"{path}: cooling = {doc.get('cooling')!r}; allowed: {', '.join(COOLING)}")
    for block, fields in (("power", POWER_FIELDS), ("thermal", THERMAL_FIELDS)):
        section = doc.get(block)
        if not isinstance(section, dict):
            raise CalibrationError(f"{path}: no '{block}' section")
        if block == "power" and any(field not in section for field in POWER_DEFAULTS):
            section.update({**POWER_DEFAULTS, **section})
            doc["refit_advised"] = (
                f"{path} was fitted before twin modelled clock-gated idle and the utilisation "
                "lag; refit it (twin calibrate) for the current model"
            )
        for field in fields:
            value = section.get(field)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not _finite(value):
                raise CalibrationError(f"{path}: {block}.{field} = {repr(value)[:40]} is not a finite number")
    # the fit's own search box (calibrate/fit.py): a value outside it was not fitted, and runs away when simulated
    ranges = [
        ("power", "idle_w", 0, BOARD_POWER_MAX_W, False),
        ("power", "clock_w", 0, CLOCK_W_MAX, True),
        ("power", "dynamic_w", 0, DYNAMIC_W_MAX, False),
        ("power", "v_floor", 0, 1, True),
        ("power", "leak_fraction", 0, 1, True),
        ("power", "leak_per_k", 0, LEAK_PER_K_MAX, True),
        ("power", "memory_weight", 0, 1, True),
        ("power", "util_lag_s", 0, UTIL_LAG_MAX_S, True),
        ("power", "max_clock_mhz", 0, CLOCK_MAX_MHZ, False),
        ("power", "power_limit_w", 0, BOARD_POWER_MAX_W, False),
        ("power", "power_window_s", 0, POWER_WINDOW_MAX_S, True),
        ("power", "leak_ref_temp_c", -40, 150, True),
        ("thermal", "r_k_per_w", 0, DIE_R_K_PER_W[1], False),
        ("thermal", "tau_s", 0, DIE_TAU_S[1], False),
        ("thermal", "sink_r_k_per_w", 0, DIE_R_K_PER_W[1], True),
        ("thermal", "sink_tau_s", 0, SINK_TAU_S[1], False),
        ("thermal", "coolant_c", -40, 150, True),
    ]
    for block, name, low, high, low_allowed in ranges:
        value = doc[block][name]
        if (value < low if low_allowed else value <= low) or (high is not None and value > high):
            allowed = f"{'>=' if low_allowed else '>'} {low:g}" + ("" if high is None else f" and <= {high:g}")
            raise CalibrationError(f"{path}: {block}.{name} = {value:g} is out of its physical range ({allowed})")
    return doc


def _finite(value):
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer wider than a float
        return False


RACK_FIELDS = ("host_idle_w", "host_max_w", "fan_speed_at_ref", "fan_speed_per_k", "fan_max_w", "liquid_fraction")


def read_rack(path, expect_gpu=None):
    """The validated `rack` block of a `twin calibrate --rack` file; CalibrationError names file and field."""
    doc = _yaml(path, "rack calibration")
    block = doc.get("rack") if isinstance(doc, dict) else None
    if not isinstance(block, dict):
        raise CalibrationError(f"{path}: no 'rack' section (write one with twin calibrate --rack)")
    if expect_gpu is not None and block.get("gpu") != expect_gpu:
        raise CalibrationError(f"{path}: calibrates racks of {block.get('gpu')}, but the hall's gpu is {expect_gpu}")
    for field in RACK_FIELDS:
        value = block.get(field)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not _finite(value) or value < 0:
            raise CalibrationError(f"{path}: rack.{field} = {value!r} is not a non-negative number")
    if block["host_idle_w"] > block["host_max_w"]:
        raise CalibrationError(
            f"{path}: rack.host_idle_w = {block['host_idle_w']:g} exceeds host_max_w = {block['host_max_w']:g}"
        )
    for field in ("liquid_fraction", "fan_speed_at_ref"):
        if block[field] > 1.0:
            raise CalibrationError(f"{path}: rack.{field} = {block[field]:g} is a fraction (allowed 0..1)")
    if block.get("heat_side") not in COOLING:
        raise CalibrationError(f"{path}: rack.heat_side = {block.get('heat_side')!r}; allowed: {', '.join(COOLING)}")
    return block


def rack_hall_parameters(block, hall_has_liquid):
    """The Halls fields a rack calibration sets: DC host power, the server fan speed law and, for a
    liquid-cooled hall measured on its liquid side, the share of heat the liquid takes. The fans' full
    power stays the plant's (sim/plant.py: none under immersion, less where liquid takes the heat)."""
    out = {k: block[k] for k in ("host_idle_w", "host_max_w", "fan_speed_at_ref", "fan_speed_per_k")}
    if hall_has_liquid and block.get("heat_side") == "liquid":
        out["liquid_fraction"] = block["liquid_fraction"]
    return out


def hall_parameters(doc):
    """The Halls fields (twin/physics/facility.py) a calibration sets for its GPU."""
    p, t = doc["power"], doc["thermal"]
    return {
        "gpu_idle_w": p["idle_w"],
        "gpu_clock_w": p["clock_w"],
        "gpu_dynamic_w": p["dynamic_w"],
        "gpu_v_floor": p["v_floor"],
        "leak_fraction": p["leak_fraction"],
        "leak_per_k": p["leak_per_k"],
        "leak_ref_temp_c": p["leak_ref_temp_c"],
        "die_r_k_per_w": t["r_k_per_w"],
        "die_c_j_per_k": t["tau_s"] / t["r_k_per_w"],
        "sink_r_k_per_w": t["sink_r_k_per_w"],
        "sink_c_j_per_k": t["sink_tau_s"] / t["sink_r_k_per_w"] if t["sink_r_k_per_w"] > 0 else 1.0,
    }
