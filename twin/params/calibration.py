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
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

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

COOLING = ("air", "liquid")
BOARD_POWER_MAX_W = TRACE_BOUNDS["power_w"][1]  # W, the trace reader's plausible range
CLOCK_MAX_MHZ = TRACE_BOUNDS["sm_clock_mhz"][1]  # MHz, the same
POWER_WINDOW_MAX_S = 10.0  # [M] s: sensors average over 1 s (Hopper power.draw) or less; 10x that is no power sensor
POWER_DEFAULTS = {"util_lag_s": 0.0}  # files written before the utilisation lag was fitted had none


class CalibrationError(InputError, ValueError):
    """A calibration file that cannot be used, with the file and the field."""


def _finite(value):
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer wider than a float
        return False


def _finite_number(value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not _finite(value):
        raise ValueError(f"= {repr(value)[:40]} is not a finite number")
    return float(value)


def _number(low, high, low_allowed=True):
    """A finite number in [low, high] (or (low, high] where low itself is not allowed): the fit's own search
    box (calibrate/fit.py), since a value outside it was not fitted and runs away when simulated."""

    def within(value):
        if (value < low if low_allowed else value <= low) or value > high:
            allowed = f"{'>=' if low_allowed else '>'} {low:g} and <= {high:g}"
            raise ValueError(f"= {value:g} is out of its physical range ({allowed})")
        return value

    return Annotated[float, BeforeValidator(_finite_number), AfterValidator(within)]


class _Block(BaseModel):
    model_config = ConfigDict(extra="allow")  # stderr and at_bound ride along


class PowerBlock(_Block):
    """The GPU power model's fitted parameters (twin/physics/gpu.py); power_window_s and util_lag_s describe
    the trace's sensors, not the GPU: --check uses them, a scenario does not."""

    idle_w: _number(0, BOARD_POWER_MAX_W, False)
    clock_w: _number(0, CLOCK_W_MAX)
    dynamic_w: _number(0, DYNAMIC_W_MAX, False)
    v_floor: _number(0, 1)
    leak_fraction: _number(0, 1)
    leak_per_k: _number(0, LEAK_PER_K_MAX)
    leak_ref_temp_c: _number(-40, 150)
    memory_weight: _number(0, 1)
    max_clock_mhz: _number(0, CLOCK_MAX_MHZ, False)
    power_limit_w: _number(0, BOARD_POWER_MAX_W, False)
    power_window_s: _number(0, POWER_WINDOW_MAX_S)
    util_lag_s: _number(0, UTIL_LAG_MAX_S)


class ThermalBlock(_Block):
    """The Foster network's fitted parameters (twin/physics/gpu.py)."""

    r_k_per_w: _number(0, DIE_R_K_PER_W[1], False)
    tau_s: _number(0, DIE_TAU_S[1], False)
    sink_r_k_per_w: _number(0, DIE_R_K_PER_W[1])
    sink_tau_s: _number(0, SINK_TAU_S[1], False)
    coolant_c: _number(-40, 150)


def _non_negative(value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not _finite(value) or value < 0:
        raise ValueError(f"= {value!r} is not a non-negative number")
    return float(value)


def _fraction(value):
    if value > 1.0:
        raise ValueError(f"= {value:g} is a fraction (allowed 0..1)")
    return value


_NonNegative = Annotated[float, BeforeValidator(_non_negative)]
_Fraction = Annotated[float, BeforeValidator(_non_negative), AfterValidator(_fraction)]


class RackBlock(_Block):
    """What `twin calibrate --rack` fits for a server: DC host power, the fan speed law, the liquid share."""

    gpu: str | None = None
    host_idle_w: _NonNegative
    host_max_w: _NonNegative
    fan_speed_at_ref: _Fraction
    fan_speed_per_k: _NonNegative
    fan_max_w: _NonNegative
    liquid_fraction: _Fraction
    heat_side: Literal["air", "liquid"]

    @model_validator(mode="after")
    def _idle_below_max(self):
        if self.host_idle_w > self.host_max_w:
            raise ValueError(f"rack.host_idle_w = {self.host_idle_w:g} exceeds host_max_w = {self.host_max_w:g}")
        return self


POWER_FIELDS = tuple(PowerBlock.model_fields)
THERMAL_FIELDS = tuple(ThermalBlock.model_fields)
RACK_FIELDS = tuple(f for f in RackBlock.model_fields if f not in ("gpu", "heat_side"))
assert THERMAL_FIELDS == tuple(THERMAL_NAMES), "the schema and the fit name the same thermal parameters"


def _checked(model, data, path, block):
    """data validated by model as a plain dict (extra fields kept), or CalibrationError naming the file and
    the first field at fault, in the words of the validators above."""
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in (block, *error["loc"]))
        if error["type"] == "missing":
            raise CalibrationError(f"{path}: {field} = None is not a finite number") from None
        if error["type"] == "literal_error":
            allowed = ", ".join(COOLING)
            raise CalibrationError(f"{path}: {field} = {error['input']!r}; allowed: {allowed}") from None
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:  # a check across fields says it all
            raise CalibrationError(f"{path}: {message}") from None
        raise CalibrationError(f"{path}: {field} {message}") from None


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
    for block in ("power", "thermal"):
        if not isinstance(doc.get(block), dict):
            raise CalibrationError(f"{path}: no '{block}' section")
    if any(field not in doc["power"] for field in POWER_DEFAULTS):
        doc["power"] = {**POWER_DEFAULTS, **doc["power"]}
        doc["refit_advised"] = (
            f"{path} was fitted before twin modelled clock-gated idle and the utilisation "
            "lag; refit it (twin calibrate) for the current model"
        )
    doc["power"] = _checked(PowerBlock, doc["power"], path, "power")
    doc["thermal"] = _checked(ThermalBlock, doc["thermal"], path, "thermal")
    return doc


def read_rack(path, expect_gpu=None):
    """The validated `rack` block of a `twin calibrate --rack` file; CalibrationError names file and field."""
    doc = _yaml(path, "rack calibration")
    block = doc.get("rack") if isinstance(doc, dict) else None
    if not isinstance(block, dict):
        raise CalibrationError(f"{path}: no 'rack' section (write one with twin calibrate --rack)")
    if expect_gpu is not None and block.get("gpu") != expect_gpu:
        raise CalibrationError(f"{path}: calibrates racks of {block.get('gpu')}, but the hall's gpu is {expect_gpu}")
    return _checked(RackBlock, block, path, "rack")


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
