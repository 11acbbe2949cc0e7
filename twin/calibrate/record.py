"""Record a GPU trace from live NVML on every GPU of this machine, in twin's canonical form.

Samples each GPU on a fixed schedule through nvidia-ml-py (`import pynvml`) and writes one parquet
file that `twin.io.gpu_trace.read_trace` reads back. NVML calls and units follow the NVML API
reference, https://docs.nvidia.com/deploy/nvml-api/ (Device Queries; Field Value Queries):

    nvmlDeviceGetPowerUsage (mW; a 1 s average on Ampere except GA100 and newer), nvmlDeviceGetTemperature
    (C), NVML_FI_DEV_MEMORY_TEMP (C) and NVML_FI_DEV_POWER_INSTANT (mW) via nvmlDeviceGetFieldValues, nvmlDeviceGetUtilizationRates (%),
    nvmlDeviceGetClockInfo(NVML_CLOCK_SM) (MHz), nvmlDeviceGetEnforcedPowerLimit (mW),
    nvmlDeviceGetCurrentClocksEventReasons (bitmask; ...ThrottleReasons before driver 535)

A reading the GPU or driver does not support is stored as NaN.
"""

import json
import math
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twin.errors import InputError
from twin.io.gpu_trace import CANONICAL

METADATA_KEY = b"twin.record"
DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$", re.IGNORECASE)
SECONDS_PER_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


class RecordError(InputError):
    """Recording is impossible here (no nvidia-ml-py, no driver, no GPU) or NVML failed mid-run."""


def parse_duration(text):
    """'10m', '90s', '1h', '2.5m' or '600' (seconds) -> seconds."""
    m = DURATION.match(str(text))
    seconds = float(m.group(1)) * SECONDS_PER_UNIT[m.group(2).lower()] if m else 0.0
    if seconds <= 0.0:
        raise ValueError(
            f"duration {text!r} not understood: use a positive number of seconds ('600', '90s'), "
            f"minutes ('10m', '2.5m') or hours ('1h')"
        )
    return seconds


def write_samples(rows, out_path, metadata):
    """Sample dicts (time_utc as an aware datetime, gpu, values in canonical units; absent keys -> NaN)
    -> canonical parquet at out_path, with metadata as JSON under METADATA_KEY. Written to a temporary
    file in the same folder and renamed, so a crash never leaves a half-written trace."""
    frame = pd.DataFrame(list(rows), columns=list(CANONICAL))
    frame["time_utc"] = pd.to_datetime(frame["time_utc"], utc=True)
    frame["gpu"] = frame["gpu"].astype(str)
    # float64 like read_trace's columns: NaN marks a reading the GPU did not give (bitmask included)
    for column in CANONICAL[2:]:
        frame[column] = frame[column].astype(np.float64)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**table.schema.metadata, METADATA_KEY: json.dumps(metadata)})
    out_path = Path(out_path)
    # named by process rather than made by mkstemp, whose 0600 mode the finished trace would keep
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out_path


def record(out_path, interval_s=0.1, duration_s=600.0, progress=None):
    """Sample all GPUs every interval_s for duration_s and write a canonical parquet trace to out_path.
    Ctrl-C stops early and keeps what was gathered. progress(elapsed_s, duration_s) is called after
    each round. Returns a summary: path, samples, rounds, missed_rounds (late ticks skipped), gpus,
    gpu_names, gpu_uuids, duration_s (as sampled), interval_s, driver_version, nvml_version, interrupted."""
    out_path = Path(out_path)
    if interval_s <= 0 or duration_s <= 0:
        raise ValueError(f"interval_s ({interval_s}) and duration_s ({duration_s}) must be positive")
    # checked before sampling, not after ten minutes of it
    if out_path.suffix != ".parquet":
        raise RecordError(f"{out_path}: the trace must be a .parquet file (read_trace tells formats by suffix)")
    if not out_path.parent.is_dir():
        raise RecordError(f"{out_path.parent}: no such folder for the trace")
    try:
        import pynvml
    except ImportError:
        raise RecordError("twin record needs nvidia-ml-py: pip install 'twin[nvml]'") from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise RecordError(
            f"no NVIDIA driver/GPU found (NVML: {exc}); twin record needs a machine with NVIDIA GPUs"
        ) from None
    try:
        return _record(pynvml, out_path, float(interval_s), float(duration_s), progress)
    finally:
        pynvml.nvmlShutdown()


def _record(nvml, out_path, interval_s, duration_s, progress):
    count = nvml.nvmlDeviceGetCount()
    if count == 0:
        raise RecordError("NVML found no GPU on this machine; twin record needs a machine with NVIDIA GPUs")
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    gpus = [
        {"gpu": str(i), "name": _str(nvml.nvmlDeviceGetName(h)), "uuid": _str(nvml.nvmlDeviceGetUUID(h))}
        for i, h in enumerate(handles)
    ]
    metadata = {
        "recorded_by": "twin record",
        "driver_version": _str(nvml.nvmlSystemGetDriverVersion()),
        "nvml_version": _str(nvml.nvmlSystemGetNVMLVersion()),
        "interval_s": interval_s,
        "gpus": gpus,
    }
    reasons = _reasons_function(nvml, handles[0])
    rows, rounds, missed, interrupted, failure = [], 0, 0, False, None
    start = time.monotonic()
    try:
        tick = 0
        while tick * interval_s < duration_s:
            for gpu, handle in zip(gpus, handles):
                rows.append(_sample(nvml, handle, reasons, gpu["gpu"]))
            rounds += 1
            if progress:
                progress(min(time.monotonic() - start, duration_s), duration_s)
            # the next tick on the fixed grid; ticks already past are skipped (counted), not bunched up
            late = math.floor((time.monotonic() - start) / interval_s) + 1
            missed += max(0, late - tick - 1)
            tick = max(tick + 1, late)
            time.sleep(max(0.0, start + tick * interval_s - time.monotonic()))
    except KeyboardInterrupt:
        interrupted = True
    except nvml.NVMLError as exc:  # e.g. a GPU fallen off the bus: keep the samples taken so far
        failure = exc
    elapsed_s = time.monotonic() - start
    if not rows:
        raise RecordError(f"no sample taken ({failure or 'interrupted'}); nothing written")
    write_samples(rows, out_path, metadata)
    if failure:
        raise RecordError(f"NVML failed after {rounds} round(s) ({failure}); the samples so far are in {out_path}")
    return {
        "path": str(out_path),
        "samples": len(rows),
        "rounds": rounds,
        "missed_rounds": missed,
        "gpus": count,
        "gpu_names": [g["name"] for g in gpus],
        "gpu_uuids": [g["uuid"] for g in gpus],
        "duration_s": elapsed_s,
        "interval_s": interval_s,
        "driver_version": metadata["driver_version"],
        "nvml_version": metadata["nvml_version"],
        "interrupted": interrupted,
    }


def _str(value):
    """Older bindings return bytes."""
    return value.decode() if isinstance(value, bytes) else value


def _reasons_function(nvml, handle):
    """nvmlDeviceGetCurrentClocksEventReasons, or its predecessor where the bindings or driver lack it."""
    events = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if events is not None:
        try:
            events(handle)
            return events
        except nvml.NVMLError_FunctionNotFound:
            pass
        except nvml.NVMLError_NotSupported:
            return events
    return nvml.nvmlDeviceGetCurrentClocksThrottleReasons


def _get(nvml, function, *args):
    """function(*args), or None where this GPU or driver does not support it."""
    try:
        return function(*args)
    except nvml.NVMLError_NotSupported:
        return None


def _scaled(value, factor=1.0):
    return math.nan if value is None else float(value) * factor


def _field_values(nvml, handle, field_ids):
    """NVML field values (nvmlDeviceGetFieldValues) as floats, NaN where the GPU does not report one."""
    values = _get(nvml, nvml.nvmlDeviceGetFieldValues, handle, list(field_ids))
    if values is None:
        return [math.nan] * len(field_ids)
    return [_field_float(nvml, field) if field.nvmlReturn == nvml.NVML_SUCCESS else math.nan for field in values]


def _field_float(nvml, field):
    member = {
        nvml.NVML_VALUE_TYPE_DOUBLE: "dVal",
        nvml.NVML_VALUE_TYPE_UNSIGNED_INT: "uiVal",
        nvml.NVML_VALUE_TYPE_UNSIGNED_LONG: "ulVal",
        nvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: "ullVal",
        nvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG: "sllVal",
        nvml.NVML_VALUE_TYPE_SIGNED_INT: "siVal",
        nvml.NVML_VALUE_TYPE_UNSIGNED_SHORT: "usVal",
    }.get(field.valueType)
    return float(getattr(field.value, member)) if member else math.nan


def _sample(nvml, handle, reasons, gpu):
    """One GPU's readings in canonical units, stamped with the UTC wall clock as they start."""
    time_utc = datetime.now(timezone.utc)
    util = _get(nvml, nvml.nvmlDeviceGetUtilizationRates, handle)
    # power.draw is a 1 s average on Ampere and later; the instantaneous reading is what heats the die
    mem_temp_c, instant_mw = _field_values(nvml, handle, (nvml.NVML_FI_DEV_MEMORY_TEMP, nvml.NVML_FI_DEV_POWER_INSTANT))
    return {
        "time_utc": time_utc,
        "gpu": gpu,
        "power_w": _scaled(_get(nvml, nvml.nvmlDeviceGetPowerUsage, handle), 1e-3),
        "temp_c": _scaled(_get(nvml, nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)),
        "mem_temp_c": mem_temp_c,
        "power_instant_w": _scaled(instant_mw, 1e-3),
        "util": math.nan if util is None else util.gpu / 100.0,
        "sm_clock_mhz": _scaled(_get(nvml, nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM)),
        "power_limit_w": _scaled(_get(nvml, nvml.nvmlDeviceGetEnforcedPowerLimit, handle), 1e-3),
        "throttle_reasons": _scaled(_get(nvml, reasons, handle)),
        "mem_util": math.nan if util is None else util.memory / 100.0,
    }
