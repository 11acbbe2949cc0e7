"""Writing the calibration file that `twin calibrate` fitted; its format, and how a simulation reads
and checks it, are in twin/params/calibration.py."""

import hashlib
import math
from pathlib import Path

import yaml

from twin.calibrate.sensor import FIT_SHARE
from twin.files import write_file
from twin.params.calibration import POWER_FIELDS, THERMAL_FIELDS


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _plain(value):
    """numpy scalars and nested containers -> YAML-safe Python (inf kept as .inf)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return value if not math.isfinite(value) else float(f"{value:.6g}")
    return value


def document(gpu, cooling, power_fit, thermal_fit, held_out, traces):
    """The calibration as a dict (the YAML's content)."""
    return _plain(
        {
            "gpu": gpu,
            "cooling": cooling,
            "power": {
                **{k: power_fit.params[k] for k in POWER_FIELDS},
                "stderr": power_fit.stderr,
                "at_bound": list(power_fit.at_bound),
            },
            "thermal": {
                **{k: thermal_fit.params[k] for k in THERMAL_FIELDS},
                "stderr": thermal_fit.stderr,
                "at_bound": list(thermal_fit.at_bound),
            },
            "held_out": held_out,
            "traces": traces,
            "made_by": "python -m twin calibrate (twin/calibrate/fit.py): the simulator's own GPU kernels, "
            f"least squares on the first {FIT_SHARE:.0%} of each trace, errors on the rest",
        }
    )


def write(path, doc):
    """Write a calibration YAML atomically, with a header saying what it holds."""
    write_file(
        path,
        "# twin calibration (python -m twin calibrate): fitted parameters of the simulator's kernels;\n"
        "# stderr: 1-sigma from the least-squares Jacobian; held_out: errors on the part of each trace\n"
        "# not used to fit.\n" + yaml.safe_dump(doc, sort_keys=False),
    )
