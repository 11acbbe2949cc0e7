"""A rack's PDU and coolant measurements as a CSV: the columns it may have, their units and plausible ranges, and
the reader that refuses a file it cannot use, naming the file, the line, the column and what is allowed
(calibrate/rack.py fits the kernels to what it reads)."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import InputError

CANONICAL = (
    "time_utc",
    "rack",
    "pdu_power_w",
    "inlet_c",
    "outlet_c",
    "airflow_m3_per_s",
    "supply_c",
    "return_c",
    "flow_m3_per_s",
    "gpu_util",
    "gpu_power_w",
)
SOURCES = {
    "pdu_power_w": (("pdu_power_w", 1.0), ("pdu_power_kw", 1e3)),
    "inlet_c": (("inlet_c", 1.0),),
    "outlet_c": (("outlet_c", 1.0),),
    "airflow_m3_per_s": (("airflow_m3_per_s", 1.0),),
    "supply_c": (("supply_c", 1.0),),
    "return_c": (("return_c", 1.0),),
    "flow_m3_per_s": (("flow_l_per_min", 1.0 / 60_000.0), ("flow_m3_per_s", 1.0)),
    "gpu_util": (("gpu_util", 1.0),),
    "gpu_power_w": (("gpu_power_w", 1.0), ("gpu_power_kw", 1e3)),
}
AIR_SIDE = ("inlet_c", "outlet_c")
LIQUID_SIDE = ("supply_c", "return_c", "flow_l_per_min")  # or flow_m3_per_s in place of flow_l_per_min
# Plausible ranges in canonical units, and what a value outside them most likely is.
BOUNDS = {
    # [M] one idle server draws some hundreds of W; 1 MW is above any announced rack (NVIDIA Kyber, ~600 kW, 2027 [S])
    "pdu_power_w": (
        50.0,
        1.0e6,
        "W",
        ("a kW column named *_w (name it pdu_power_kw), a rack switched off (drop those lines) or W in a *_kw column?"),
    ),
    # [M] below one idle data-centre GPU (A100 PCIe 35 W, catalog/gpus.yaml)
    "gpu_power_w": (10.0, 1.0e6, "W", "a kW column named *_w (name it gpu_power_kw) or W in a *_kw column?"),
    # ASHRAE TC9.9 thermal guidelines: air inlet 5-45 C (class A4 allowable), facility water up to W45 / W+ [V]
    "inlet_c": (0.0, 60.0, "C", "degrees F instead of C?"),
    "outlet_c": (0.0, 90.0, "C", "degrees F instead of C?"),
    "supply_c": (0.0, 80.0, "C", "degrees F instead of C?"),
    "return_c": (0.0, 95.0, "C", "degrees F instead of C?"),
    "airflow_m3_per_s": (1e-4, 20.0, "m3/s", "CFM or m3/h instead of m3/s?"),
    "flow_m3_per_s": (1e-6, 0.05, "m3/s", "m3/h or l/s instead of l/min?"),
    "gpu_util": (0.0, 100.0, "", "utilisation is 0-1 or 0-100 %"),
}


class RackDataError(InputError, ValueError):
    """Rack measurements that cannot be used, with the file, the line or column and what is allowed."""


def _lines(path):
    """[(line number, cells)] of the non-blank lines, the header first."""
    path = Path(path)
    if not path.is_file():
        raise RackDataError(f"{path}: rack measurement file not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            lines = [(k, row) for k, row in enumerate(reader, start=1) if any(c.strip() for c in row)]
        except UnicodeDecodeError as exc:
            raise RackDataError(
                f"{path}: byte {exc.start} is not UTF-8 text: a rack measurement file is a "
                f"UTF-8 CSV (a binary or other-encoded file?)"
            ) from None
        except csv.Error as exc:  # a field over csv.field_size_limit() (131,072 characters)
            raise RackDataError(f"{path}: line {reader.line_num}: not CSV text ({exc})") from None
    if len(lines) < 2:
        raise RackDataError(f"{path}: no data lines (a header and at least one line of measurements are needed)")
    return lines


def _require_columns(path, header):
    power = any(c in header for c, _ in SOURCES["pdu_power_w"])
    missing = [c for c in ("timestamp", "rack") if c not in header] + ([] if power else ["pdu_power_w"])
    flow = any(c in header for c, _ in SOURCES["flow_m3_per_s"])
    air, liquid = all(c in header for c in AIR_SIDE), flow and all(c in header for c in LIQUID_SIDE[:2])
    if missing or not (air or liquid):
        sides = (
            ""
            if air or liquid
            else (
                f"; and the air side ({', '.join(AIR_SIDE)}, optionally airflow_m3_per_s) "
                f"or the liquid side ({', '.join(LIQUID_SIDE)})"
            )
        )
        raise RackDataError(
            f"{path}: missing column(s) {', '.join(missing) or '-'}{sides}; required: timestamp, rack, "
            f"pdu_power_w or pdu_power_kw; optional: gpu_util (0-1 or %), gpu_power_w; "
            f"columns found: {', '.join(header)}"
        )


def _numbers(path, raw, column, line_no):
    cells = raw[column].str.strip()
    values = pd.to_numeric(cells, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        cell = cells.iloc[k]
        what = (
            "is empty or NaN"
            if cell.lower() in ("", "nan", "na", "n/a", "null", "none")
            else f"= {cell!r} is not a number"
        )
        raise RackDataError(
            f"{path}: line {line_no[k]}: column '{column}' {what} ({int(bad.sum())} line(s)); every "
            f"line needs a number in every measured column (drop the line or the column)"
        )
    return values.to_numpy(float)


def _check_bounds(path, column, source, values, line_no):
    lo, hi, unit, hint = BOUNDS[column]
    if column.endswith("power_w") and (values < 0.0).any():
        k = int(np.argmax(values < 0.0))
        raise RackDataError(
            f"{path}: line {line_no[k]}: {source} = {values[k]:g} W is negative; power is drawn, "
            f"never returned (allowed {lo:g}..{hi:g} W)"
        )
    bad = ~((values >= lo) & (values <= hi))
    if bad.any():
        k = int(np.argmax(bad))
        raise RackDataError(
            f"{path}: line {line_no[k]}: {source} gives {column} = {values[k]:g} {unit}, outside the "
            f"allowed {lo:g}..{hi:g} {unit} ({int(bad.sum())} line(s)): {hint}"
        )


def read_rack_csv(path):
    """Canonical frame of a rack measurement CSV, one row per (rack, time), sorted.

    Columns in: timestamp (ISO 8601; naive stamps are UTC), rack, pdu_power_w or pdu_power_kw, and
    the air side (inlet_c, outlet_c, optionally airflow_m3_per_s) or the liquid side (supply_c,
    return_c, flow_l_per_min), optionally gpu_util (0-1, or % when any value exceeds 1) and
    gpu_power_w (the sum of the rack's GPU board power, e.g. from NVML). Out: CANONICAL, absent
    columns NaN; frame.attrs["source"] is [file name], frame.attrs["repairs"] what was repaired
    (lines out of time order are sorted). Everything else wrong is refused with RackDataError.
    """
    path = Path(path)
    lines = _lines(path)
    header = [h.strip().lower() for h in lines[0][1]]
    _require_columns(path, header)
    for k, row in lines[1:]:
        if len(row) != len(header):
            raise RackDataError(f"{path}: line {k}: {len(row)} fields, the header has {len(header)}")
    line_no = np.array([k for k, _ in lines[1:]])
    raw = pd.DataFrame([row for _, row in lines[1:]], columns=header, dtype=str)
    stamps = pd.to_datetime(raw["timestamp"].str.strip(), format="ISO8601", utc=True, errors="coerce")
    if stamps.isna().any():
        k = int(np.argmax(stamps.isna().to_numpy()))
        raise RackDataError(
            f"{path}: line {line_no[k]}: timestamp {raw['timestamp'].iloc[k]!r} is not an ISO 8601 "
            f"time (e.g. 2025-03-04T08:00:00Z; without an offset it is read as UTC)"
        )
    frame = pd.DataFrame({"time_utc": stamps, "rack": raw["rack"].str.strip()})
    if (frame["rack"] == "").any():
        k = int(np.argmax((frame["rack"] == "").to_numpy()))
        raise RackDataError(f"{path}: line {line_no[k]}: the rack column is empty; every line names its rack")
    for column, sources in SOURCES.items():
        source, factor = next(((c, f) for c, f in sources if c in header), (None, 1.0))
        if source is None:
            frame[column] = np.nan
            continue
        values = _numbers(path, raw, source, line_no) * factor
        _check_bounds(path, column, source, values, line_no)
        frame[column] = values / 100.0 if column == "gpu_util" and values.max() > 1.0 else values
    for low, high in (("supply_c", "return_c"), ("inlet_c", "outlet_c")):
        if frame[low].notna().all() and np.median(frame[high] - frame[low]) < 0.0:
            raise RackDataError(f"{path}: {high} is below {low} on most lines: columns swapped?")
    frame["line"] = line_no
    repeated = frame.duplicated(["rack", "time_utc"], keep=False).to_numpy()
    if repeated.any():
        first = frame[repeated].sort_values(["rack", "time_utc", "line"]).iloc[:2]
        raise RackDataError(
            f"{path}: lines {first['line'].iloc[0]} and {first['line'].iloc[1]}: rack "
            f"{first['rack'].iloc[0]} has the timestamp {first['time_utc'].iloc[0]} twice "
            f"({int(repeated.sum())} line(s) share a stamp); one line per rack and time is allowed"
        )
    repairs = []
    if not all(g.is_monotonic_increasing for _, g in frame.groupby("rack")["time_utc"]):
        repairs.append("lines out of time order: sorted")
    frame = frame.sort_values(["rack", "time_utc"], kind="stable").reset_index(drop=True)[list(CANONICAL)]
    frame.attrs.update(source=[path.name], repairs=repairs)
    return frame
