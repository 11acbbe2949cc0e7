"""A user's hourly grid CSV (carbon, price and optionally water per kWh): read onto the UTC hour-of-year axis,
with every gap, repeat, out-of-order hour, missing value or wrong unit refused with its file line and column."""

from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import clip
from twin.io.hours import HOURS_PER_YEAR, GridError, on_whole_hours, utc_hour_of_year

GRID_COLUMNS = ("timestamp_utc", "carbon_g_per_kwh", "price_usd_per_kwh", "water_l_per_kwh")
# Plausible bounds; outside them the unit is almost surely wrong (e.g. kg/kWh or USD/MWh).
GRID_BOUNDS = {
    "carbon_g_per_kwh": (0.0, 2000.0),  # coal-only grids reach ~1,100 g/kWh life-cycle (IPCC AR5 820 median)
    "price_usd_per_kwh": (-1.0, 10.0),  # negative wholesale prices are real; > 10 USD/kWh is not a price in USD/kWh
    "water_l_per_kwh": (0.0, 100.0),  # Macknick 2012: hydro reservoir 17 L/kWh is the largest median
}


def _unit_hint(col, values):
    """Why a column's values look like another unit, or None: a full year that lies far outside
    what any grid has in the documented unit is a unit mistake, not data."""
    if not len(values):
        return None
    peak, median = float(np.max(values)), float(np.median(values))
    if col == "carbon_g_per_kwh" and 0.0 < peak < 2.5:
        return (
            f"largest value {peak:.3g}: looks like kg/kWh or t/MWh (no grid hour is below 2.5 g/kWh throughout a "
            f"year); multiply by 1,000"
        )
    if col == "price_usd_per_kwh" and median > 2.0:
        return f"median {median:.3g}: looks like USD/MWh; divide by 1,000"
    if col == "water_l_per_kwh" and median > 30.0:
        return f"median {median:.3g}: looks like L/MWh or gal/MWh; water factors are 0-20 L/kWh"
    return None


def read_grid_csv(path):
    """A user's hourly grid CSV -> DataFrame of 8,760 rows in UTC hour-of-year order.

    Columns: timestamp_utc (ISO 8601; a stamp with an offset is converted to UTC, one without
    is taken as UTC), carbon_g_per_kwh, price_usd_per_kwh, and optionally water_l_per_kwh;
    one row per hour of one year (8,760, or 8,784 in a leap year, whose 29 February is
    dropped). A gap, a duplicated hour, a value outside the unit's plausible range or a series
    whose mean says it is in another unit is refused with the line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise GridError(f"{path}: grid file not found")
    try:
        frame = pd.read_csv(path, skip_blank_lines=False)  # row k stays on file line k + 2
    except Exception as exc:
        raise GridError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in GRID_COLUMNS[:3] if c not in frame.columns]
    if missing:
        raise GridError(
            f"{path}: missing column(s) {', '.join(missing)}; required: {', '.join(GRID_COLUMNS[:3])}, "
            f"optional: water_l_per_kwh"
        )
    stamps = pd.to_datetime(frame["timestamp_utc"], utc=True, errors="coerce", format="ISO8601")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0]) + 2
        raise GridError(
            f"{path}: line {row}: timestamp_utc '{clip(frame['timestamp_utc'].iloc[row - 2])}' is not an "
            f"ISO 8601 time (e.g. 2023-01-01T00:00:00Z)"
        )
    if stamps.duplicated().any():
        row = int(np.flatnonzero(stamps.duplicated().to_numpy())[0]) + 2
        raise GridError(f"{path}: line {row}: duplicated hour {stamps.iloc[row - 2]}")
    if not stamps.is_monotonic_increasing:
        row = int(np.flatnonzero(np.diff(stamps.to_numpy()) < np.timedelta64(0, "s"))[0]) + 3
        raise GridError(f"{path}: line {row}: timestamp_utc goes back in time; rows must be in increasing order")
    steps = np.diff(stamps.to_numpy())
    gaps = np.flatnonzero(steps != np.timedelta64(1, "h"))
    if gaps.size:
        i = gaps[0]
        raise GridError(
            f"{path}: line {i + 3}: gap or irregular step: {stamps.iloc[i + 1]:%Y-%m-%d %H:%M} follows "
            f"{stamps.iloc[i]:%Y-%m-%d %H:%M} (line {i + 2}), {steps[i] / np.timedelta64(1, 'm'):g} min "
            f"apart; hourly rows required"
        )
    idx, keep, fraction = utc_hour_of_year(stamps)
    frame, idx = frame[keep], idx[keep]
    if len(frame) != HOURS_PER_YEAR:
        raise GridError(f"{path}: {len(frame)} hourly rows; one year of {HOURS_PER_YEAR} is required")
    columns = [c for c in GRID_COLUMNS[1:] if c in frame.columns]
    out = pd.DataFrame(index=idx)
    for col in columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        lo, hi = GRID_BOUNDS[col]
        hint = _unit_hint(col, values.dropna().to_numpy())
        if hint:
            raise GridError(f"{path}: column {col}: {hint}")
        bad = ~values.between(lo, hi)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raw = frame[col].iloc[row]
            what = (
                "is missing (empty or not a number)"
                if pd.isna(values.iloc[row])
                else f"= {str(raw)!r} is outside {lo}..{hi} (check the unit)"
            )
            raise GridError(f"{path}: line {int(frame.index[row]) + 2}: {col} {what}")  # file line, 29 Feb counted
        out[col] = values.to_numpy(float)
    out = out.sort_index()
    return pd.DataFrame(on_whole_hours(out.to_numpy(), fraction), columns=out.columns)
