"""GPU measurement traces -> one canonical frame.

Reads `nvidia-smi --query-gpu=... --format=csv` logs (any subset and order of columns, units in
the header or the cells, "[N/A]", several GPUs by index or uuid), DCGM exporter output
(Prometheus text samples with millisecond timestamps) and twin's own canonical CSV/parquet.
The canonical frame has one row per (time, GPU):

    time_utc, gpu, power_w (the sensor's reading: power.draw, a 1 s average on Hopper), power_instant_w
    (power.draw.instant, where logged), temp_c, mem_temp_c, util (0-1), mem_util (0-1, memory-controller busy share),
    sm_clock_mhz, power_limit_w, throttle_reasons (NVML clocks-event bitmask)

What is safe to repair is repaired and reported (rows out of order, exact duplicates, a stamp
repeated with other values, truncated or unreadable lines, missing values); what is not is
refused with TraceError naming the file, the line or column and what was expected.
"""

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from twin.errors import InputError
from twin.params.bounds import TRACE_BOUNDS as BOUNDS

CANONICAL = (
    "time_utc",
    "gpu",
    "power_w",
    "power_instant_w",
    "temp_c",
    "mem_temp_c",
    "util",
    "mem_util",
    "sm_clock_mhz",
    "power_limit_w",
    "throttle_reasons",
)
VALUES = CANONICAL[2:]
# nvidia-smi query fields -> canonical column, in order of preference (the first present wins).
NVIDIA_SMI_FIELDS = {
    "power_w": ("power.draw", "power.draw.average", "power.draw.instant"),
    "power_instant_w": ("power.draw.instant",),
    "temp_c": ("temperature.gpu",),
    "mem_temp_c": ("temperature.memory",),
    "util": ("utilization.gpu",),
    "mem_util": ("utilization.memory",),
    "sm_clock_mhz": ("clocks.current.sm", "clocks.sm"),
    "power_limit_w": ("enforced.power.limit", "power.limit"),
    "throttle_reasons": ("clocks_event_reasons.active", "clocks_throttle_reasons.active"),
}
DCGM_FIELDS = {
    "DCGM_FI_DEV_POWER_USAGE": "power_w",
    "DCGM_FI_DEV_GPU_TEMP": "temp_c",
    "DCGM_FI_DEV_MEMORY_TEMP": "mem_temp_c",
    "DCGM_FI_DEV_GPU_UTIL": "util",
    "DCGM_FI_DEV_MEM_COPY_UTIL": "mem_util",
    "DCGM_FI_DEV_SM_CLOCK": "sm_clock_mhz",
    "DCGM_FI_DEV_POWER_MGMT_LIMIT": "power_limit_w",
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": "throttle_reasons",
}
# unit written in a cell or header -> factor to the canonical unit, per kind of quantity: "345 MHz" in a
# power column is a unit error, not 345 W. A bare number is taken in the canonical unit.
POWER_UNITS = {"w": 1.0, "mw": 1e-3, "kw": 1e3}
UNITS = {
    "power_w": POWER_UNITS,
    "power_instant_w": POWER_UNITS,
    "power_limit_w": POWER_UNITS,
    "temp_c": {"c": 1.0},
    "mem_temp_c": {"c": 1.0},
    "util": {"%": 0.01},
    "mem_util": {"%": 0.01},
    "sm_clock_mhz": {"mhz": 1.0, "ghz": 1e3, "khz": 1e-3},
}
BARE = {"util": 0.01, "mem_util": 0.01}  # nvidia-smi writes utilisation in percent even without the '%'
# Plausible DCGM millisecond stamps: 2000-01-01 .. 2100-01-01 UTC.
DCGM_MS_RANGE = (946_684_800_000, 4_102_444_800_000)
RELATIVE_DAYS = ("now", "today", "tomorrow", "yesterday")
UTC_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
MISSING = r"^\s*\[?\s*(n/?a|not supported|unknown|gpu is lost|no data)\s*\]?\s*$"  # matched ignoring case
NUMBER = r"^\s*(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[a-zA-Z%°]*)\s*$"


class TraceError(InputError, ValueError):
    """A trace that cannot be read, with what is wrong and where."""


def _text(path):
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: trace file not found")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        import gzip
        import zlib

        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise TraceError(f"{path}: a damaged gzip file ({exc})") from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark (Windows PowerShell redirection)
        return raw.decode("utf-16", errors="replace")
    if raw[:2] == b"\x1f\x8b" or b"\x00" in raw[:4096]:
        raise TraceError(f"{path}: binary content, not a text log (a file compressed twice, or not a trace?)")
    return raw.decode("utf-8-sig", errors="replace")


def read_trace(path, timezone="UTC"):
    """(canonical frame, list of repairs made) of a trace file; timezone: that of nvidia-smi's
    local timestamps (ignored for stamps that carry their own UTC offset, and for DCGM and canonical
    files, which are UTC)."""
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types on damaged files
            raise TraceError(f"{path}: not a readable parquet file ({exc})") from None
        return _canonical_table(path, frame)
    text = _text(path)
    if "DCGM_FI_" in text[:100_000]:
        return _dcgm(path, text)
    header = text.split("\n", 1)[0]
    if "time_utc" in header and "gpu" in header:
        return _canonical_table(path, _csv_rows(path, text)[0])
    return _nvidia_smi(path, text, timezone)


def _csv_rows(path, text):
    """(frame of strings with stripped headers, indexed by file line number; number of lines skipped as
    unreadable)."""
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    try:
        rows = [(reader.line_num, r) for r in reader if any(cell.strip() for cell in r)]
    except csv.Error as exc:  # a field over csv.field_size_limit() (131,072 characters)
        raise TraceError(f"{path}: line {reader.line_num}: not CSV text ({exc})") from None
    if len(rows) < 2:
        raise TraceError(f"{path}: no data rows (a header and at least one sample are needed)")
    header = [h.strip() for h in rows[0][1]]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise TraceError(
            f"{path}: line {rows[0][0]}: column(s) {', '.join(map(repr, repeated))} appear more than "
            f"once in the header; each field may appear once"
        )
    good = [(line, r) for line, r in rows[1:] if len(r) == len(header)]
    if not good:
        raise TraceError(f"{path}: no row has the header's {len(header)} columns")
    frame = pd.DataFrame([r for _, r in good], columns=header, index=[line for line, _ in good], dtype=str)
    return frame, len(rows) - 1 - len(good)


def _field(header):
    """'power.draw [W]' -> ('power.draw', 'w')."""
    m = re.match(r"^\s*([^\[]+?)\s*(?:\[([^\]]*)\])?\s*$", header)
    name, unit = (m.group(1), m.group(2)) if m else (header, None)
    return name.strip().lower(), (unit or "").strip().lower()


def _numbers(path, column, cells, header_unit, target):
    """Cells (a Series indexed by file line) like '56.15 W', '345 MHz', '0 %', '[N/A]' -> floats in
    canonical units (NaN where missing). Column-wise: a 500,000-line log reads in seconds."""
    text = cells.astype(object).where(cells.notna(), "").astype(str)
    array = pa.array(text.to_numpy(), type=pa.string())  # RE2 in Arrow: no Python call per cell
    missing = pd.Series(
        pc.or_(
            pc.match_substring_regex(array, r"^\s*$"), pc.match_substring_regex(array, MISSING, ignore_case=True)
        ).to_numpy(zero_copy_only=False),
        index=text.index,
    )
    groups = pc.extract_regex(array, NUMBER)
    number = pd.Series(pc.struct_field(groups, "number").to_pandas().to_numpy(), index=text.index)
    unit = pd.Series(pc.struct_field(groups, "unit").to_pandas().to_numpy(), index=text.index)
    bad = ~missing & number.isna()
    if bad.any():
        line = bad.idxmax()
        raise TraceError(f"{path}: line {line}: {column} = {text[line]!r} is not a number with a unit")
    unit = unit.fillna("").str.lower().str.replace("°", "", regex=False)
    unit = unit.where(unit != "", (header_unit or "").lower().replace("°", ""))
    allowed = UNITS[target]
    factor = unit.map({"": BARE.get(target, 1.0), **allowed})
    unknown = ~missing & factor.isna()
    if unknown.any():
        line = unknown.idxmax()
        raise TraceError(
            f"{path}: line {line}: {column} = {text[line]!r}: unit '{unit[line]}' is not one of "
            f"{target}'s (allowed: {', '.join(allowed)})"
        )
    values = pd.to_numeric(number, errors="coerce").to_numpy(float) * factor.to_numpy(float)
    return np.where(missing.to_numpy(), np.nan, values)


def _bitmask(cells):
    out = np.full(len(cells), np.nan)
    for k, cell in enumerate(cells):
        cell = (cell or "").strip()
        try:
            out[k] = float(int(cell, 16) if cell.lower().startswith("0x") else int(cell))
        except (ValueError, OverflowError):  # not a bitmask, or wider than any NVML mask
            continue
    return out


def _nvidia_smi(path, text, timezone):
    raw, skipped = _csv_rows(path, text)
    fields = {}
    for column in raw.columns:
        name, unit = _field(column)
        fields.setdefault(name, (column, unit))
    if "timestamp" not in fields:
        raise TraceError(
            f"{path}: no 'timestamp' column (query it with --query-gpu=timestamp,...); "
            f"columns: {', '.join(raw.columns)}"
        )
    frame = pd.DataFrame(index=raw.index)
    frame["time_utc"], zoned = _stamps(path, raw[fields["timestamp"][0]])
    gpu_field = (
        "index"
        if "index" in fields
        else "uuid"
        if "uuid" in fields
        else "pci.bus_id"
        if "pci.bus_id" in fields
        else None
    )
    frame["gpu"] = raw[fields[gpu_field][0]].str.strip() if gpu_field else "0"
    found = []
    for target, names in NVIDIA_SMI_FIELDS.items():
        name = next((n for n in names if n in fields), None)
        if name is None:
            frame[target] = np.nan
            continue
        column, unit = fields[name]
        cells = raw[column]
        frame[target] = (
            _bitmask(cells.tolist()) if target == "throttle_reasons" else _numbers(path, column, cells, unit, target)
        )
        found.append(target)
    if not {"power_w", "temp_c"} & set(found):
        raise TraceError(
            f"{path}: neither power (power.draw) nor temperature (temperature.gpu) among the columns "
            f"{', '.join(raw.columns)}"
        )
    repairs = [f"{skipped} truncated or malformed line(s) skipped"] if skipped else []
    bad_stamps = int(frame["time_utc"].isna().sum())
    if bad_stamps == len(frame):
        raise TraceError(f"{path}: no readable timestamp (expected e.g. 2023/07/14 13:53:16.412)")
    if bad_stamps:
        repairs.append(f"{bad_stamps} row(s) with an unreadable timestamp dropped")
        frame = frame[frame["time_utc"].notna()]
    if not zoned:
        try:
            frame["time_utc"] = frame["time_utc"].dt.tz_localize(timezone).dt.tz_convert("UTC")
        except Exception as exc:  # an unknown zone or a nonexistent local time
            raise TraceError(f"{path}: timestamps cannot be read in time zone '{timezone}' ({exc})") from None
    return _tidy(path, frame, repairs)


def _stamps(path, cells):
    """(stamps, whether they carried their own UTC offset). nvidia-smi writes local time without an offset;
    ISO stamps with 'Z' or '+08:00' are converted from their own offset. A file mixing the two is refused:
    which zone the bare ones are in cannot be known."""
    cells = cells.str.strip()
    zoned = cells.str.contains(UTC_OFFSET)
    if zoned.any() and not zoned.all():
        bare = zoned.index[~zoned][0] if zoned.iloc[0] else zoned.index[zoned][0]
        raise TraceError(
            f"{path}: line {bare}: timestamp {cells[bare]!r}: some stamps carry a UTC offset and "
            f"some do not; write all in one form"
        )
    all_zoned = bool(zoned.all())
    stamps = pd.to_datetime(cells, format="mixed", errors="coerce", utc=all_zoned)
    stamps[cells.str.lower().isin(RELATIVE_DAYS)] = pd.NaT  # pandas reads 'now' as the clock at reading time
    return stamps, all_zoned


def _dcgm(path, text):
    """Prometheus text samples: NAME{labels} value timestamp_ms."""
    pattern = re.compile(r"^(DCGM_FI_[A-Z0-9_]+)\{([^}]*)\}\s+(\S+)(?:\s+(\d+))?\s*$")
    records, skipped, no_stamp = [], 0, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("DCGM_FI_"):
            continue
        m = pattern.match(line.strip())
        if not m or m.group(1) not in DCGM_FIELDS:
            skipped += m is None
            continue
        if m.group(4) is None:
            no_stamp += 1
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        try:
            value = float(m.group(3))
        except ValueError:
            skipped += 1
            continue
        ms = int(m.group(4))
        if not DCGM_MS_RANGE[0] <= ms <= DCGM_MS_RANGE[1]:
            raise TraceError(
                f"{path}: line {number}: timestamp {ms} is not milliseconds since 1970 between the years 2000 and 2100"
            )
        records.append((ms, labels.get("gpu", labels.get("UUID", "0")), DCGM_FIELDS[m.group(1)], value))
    if not records:
        raise TraceError(
            f'{path}: no DCGM samples with timestamps (lines \'DCGM_FI_DEV_POWER_USAGE{{gpu="0",...}} '
            f"123.4 1690000000000'); {no_stamp} sample(s) without a timestamp"
        )
    long = pd.DataFrame(records, columns=["ms", "gpu", "field", "value"])
    repeated = long.duplicated(["ms", "gpu", "field"], keep="last") & ~long.duplicated(keep="last")
    frame = long.pivot_table(index=["ms", "gpu"], columns="field", values="value", aggfunc="last").reset_index()
    frame["time_utc"] = pd.to_datetime(frame["ms"], unit="ms", utc=True)
    for column in ("util", "mem_util"):
        if column in frame:
            frame[column] = frame[column] / 100.0  # DCGM reports percent
    for column in VALUES:
        if column not in frame:
            frame[column] = np.nan
    repairs = [f"{skipped} unreadable DCGM line(s) skipped"] if skipped else []
    if no_stamp:
        repairs.append(f"{no_stamp} sample(s) without a timestamp skipped")
    if repeated.any():
        repairs.append(
            f"{int(repeated.sum())} sample(s) repeating a field's timestamp with another value dropped (last kept)"
        )
    return _tidy(path, frame[list(CANONICAL)], repairs)


def _canonical_table(path, frame):
    missing = [c for c in ("time_utc", "gpu") if c not in frame.columns]
    if missing:
        raise TraceError(
            f"{path}: canonical trace without {', '.join(missing)}; columns: {', '.join(map(str, frame.columns))}"
        )
    if pd.api.types.is_numeric_dtype(frame["time_utc"]):
        raise TraceError(f"{path}: time_utc holds numbers, not times; write UTC times (ISO 8601 or a timestamp column)")
    out = pd.DataFrame(
        {
            "time_utc": pd.to_datetime(frame["time_utc"], utc=True, errors="coerce", format="mixed"),
            "gpu": frame["gpu"].astype(str),
        }
    )
    for column in VALUES:
        out[column] = pd.to_numeric(frame[column], errors="coerce") if column in frame else np.nan
    repairs = []
    if out["time_utc"].isna().all():
        raise TraceError(f"{path}: no readable time_utc (expected ISO 8601 UTC, e.g. 2024-01-01T00:00:00.100Z)")
    if out["time_utc"].isna().any():
        repairs.append(f"{int(out['time_utc'].isna().sum())} row(s) with an unreadable time_utc dropped")
        out = out[out["time_utc"].notna()]
    return _tidy(path, out, repairs)


def _seconds(stamps):
    """UTC stamps (a tz-aware Series) -> float seconds since the epoch."""
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9


def _tidy(path, frame, repairs):
    """Bounds, order, duplicates, missing values: repair what is safe, report it, refuse the rest."""
    for column, (lo, hi) in BOUNDS.items():
        values = frame[column]
        bad = values.notna() & ~values.between(lo, hi)
        if bad.any():
            first = values[bad].iloc[0]
            raise TraceError(
                f"{path}: {column} = {first:g} outside {lo:g}..{hi:g} in {int(bad.sum())} row(s): "
                f"a unit mistake (e.g. mW as W, F as C)?"
            )
    n = len(frame)
    frame = frame.dropna(subset=["power_w", "temp_c"], how="all")
    if len(frame) < n:
        repairs.append(f"{n - len(frame)} row(s) with neither power nor temperature dropped")
    if frame.empty:
        raise TraceError(f"{path}: no sample has a power or a temperature value")
    if (np.diff(_seconds(frame["time_utc"])) < 0).any():
        repairs.append("rows out of time order: sorted")
    frame = frame.sort_values(["gpu", "time_utc"], kind="stable")
    n = len(frame)
    frame = frame.drop_duplicates()
    if len(frame) < n:
        repairs.append(f"{n - len(frame)} exact duplicate row(s) dropped")
    n = len(frame)
    frame = frame.drop_duplicates(subset=["gpu", "time_utc"], keep="first")
    if len(frame) < n:
        repairs.append(f"{n - len(frame)} row(s) repeating a GPU's timestamp with other values dropped (first kept)")
    for gpu, rows in frame.groupby("gpu"):
        dt_s = np.diff(_seconds(rows["time_utc"]))
        if dt_s.size >= 3 and (dt_s > 10.0 * np.median(dt_s)).any():
            repairs.append(
                f"GPU {gpu}: {int((dt_s > 10.0 * np.median(dt_s)).sum())} gap(s) over 10x the median "
                f"interval ({np.median(dt_s):.3g} s), the longest {dt_s.max():.3g} s: not filled"
            )
    frame = frame.reset_index(drop=True)
    frame["gpu"] = frame["gpu"].astype(str)
    return frame[list(CANONICAL)], repairs
