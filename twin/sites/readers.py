"""Readers that turn weather and grid files into arrays on the UTC hour-of-year axis.

Used both by the bundled-site build and for a user's own files at run time.
Every problem raises SiteDataError naming the file, the row or column, and what is allowed.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import InputError

HOURS_PER_YEAR = 8760
GRID_COLUMNS = ("timestamp_utc", "carbon_g_per_kwh", "price_usd_per_kwh", "water_l_per_kwh")
# Plausible bounds; outside them the unit is almost surely wrong (e.g. kg/kWh or USD/MWh).
GRID_BOUNDS = {
    "carbon_g_per_kwh": (0.0, 2000.0),     # coal-only grids reach ~1,100 g/kWh life-cycle (IPCC AR5 820 median)
    "price_usd_per_kwh": (-1.0, 10.0),     # negative wholesale prices are real; > 10 USD/kWh is not a price in USD/kWh
    "water_l_per_kwh": (0.0, 100.0),       # Macknick 2012: hydro reservoir 17 L/kWh is the largest median
}


class SiteDataError(InputError, ValueError):
    """A weather or grid file that cannot be used, with the reason a user can act on."""


def hour_of_year_index(day_of_year, hour_of_day, utc_offset_h):
    """UTC hour-of-year [0, 8760) of local-standard-time stamps (day 1..365, hour 0..24).

    In a half-hour time zone the stamps fall at UTC h:30; they go to slot h (floor), and
    on_whole_hours then moves the values onto the whole hours.
    """
    hours_utc = (np.asarray(day_of_year) - 1) * 24 + np.asarray(hour_of_day) - utc_offset_h
    return np.mod(np.floor(hours_utc + 1e-9).astype(np.int64), HOURS_PER_YEAR)


def on_whole_hours(values, fraction_h):
    """Values whose slot h holds the value at UTC h + fraction_h -> values at UTC h, by linear
    interpolation between the neighbouring stamps (circular over the year). For hour-ending
    means the same weights give the mean over the whole hour ending at h."""
    if fraction_h == 0.0:
        return values
    return fraction_h * np.roll(values, 1, axis=0) + (1.0 - fraction_h) * values


def utc_hour_of_year(stamps):
    """(UTC hour-of-year slot, keep mask, fraction of an hour past the slot) of UTC stamps (a
    tz-aware pandas Series); rows on 29 February are not kept and later days of a leap year move
    back one day, so every year has 8,760 hours. The fraction is that of the first stamp."""
    leap_day = ((stamps.dt.month == 2) & (stamps.dt.day == 29)).to_numpy()
    doy = stamps.dt.day_of_year.to_numpy() - (stamps.dt.is_leap_year & (stamps.dt.month > 2)).to_numpy()
    fraction = float(stamps.iloc[0].minute) / 60.0 if len(stamps) else 0.0
    return hour_of_year_index(doy, stamps.dt.hour.to_numpy(), 0.0), ~leap_day, fraction


# Plausible bounds of the weather columns; outside them a value is a missing-value marker
# (EPW: 99.9 temperatures, 999 RH, 999999 pressure, 9999 radiation) or a wrong unit.
WEATHER_BOUNDS = {
    "drybulb_c": (-70.0, 70.0), "dewpoint_c": (-90.0, 70.0), "relhum_pct": (0.0, 110.0),
    "pressure_pa": (31000.0, 120000.0),
    # hourly means; the extraterrestrial normal irradiance is at most ~1,415 W/m2 (perihelion)
    "ghi_w_m2": (0.0, 1500.0), "dni_w_m2": (0.0, 1500.0), "dhi_w_m2": (0.0, 1500.0),
}
WEATHER_COLUMNS = tuple(WEATHER_BOUNDS)


def _weather_frame(path, kind, month, day, hour, utc_offset_h, columns):
    """Columns of a typical-year file stamped in local standard time (hour-ending 1..24)
    -> DataFrame of 8,760 rows in UTC hour-of-year order, with the range checks."""
    day_of_year = pd.to_datetime(dict(year=2001, month=np.asarray(month), day=np.asarray(day))).dt.day_of_year.to_numpy()
    idx = hour_of_year_index(day_of_year, np.asarray(hour), utc_offset_h)
    if np.unique(idx).size != HOURS_PER_YEAR:
        raise SiteDataError(f"{path}: {kind} hours do not cover each hour of the year once (duplicated or missing stamps)")
    frame = pd.DataFrame({c: np.asarray(columns[c], dtype=float) for c in WEATHER_COLUMNS})
    frame.index = idx
    frame = frame.sort_index()
    for col, (lo, hi) in WEATHER_BOUNDS.items():
        bad = ~frame[col].between(lo, hi)
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise SiteDataError(f"{path}: {col} has {int(bad.sum())} missing or out-of-range values "
                                f"(first at UTC hour-of-year {first}: {frame[col].iloc[first]}); allowed {lo}..{hi}")
    fraction = float(np.mod(-utc_offset_h, 1.0))  # stamps at UTC h + fraction in a half-hour zone
    return pd.DataFrame(on_whole_hours(frame.to_numpy(), fraction), columns=frame.columns)


def read_epw(path):
    """EnergyPlus weather file -> (DataFrame of 8,760 rows in UTC hour-of-year order, metadata).

    Columns: drybulb_c (EPW field 7), dewpoint_c (8), relhum_pct (9), pressure_pa (10),
    ghi_w_m2 (14), dni_w_m2 (15), dhi_w_m2 (16), as defined in the EnergyPlus Auxiliary
    Programs "Weather File Data Dictionary". EPW stamps are local standard time, hour h = the
    hour ending at h:00; temperatures, humidity and pressure are instantaneous at h:00, the
    radiation fields are the energy received during the hour ending at h:00 [Wh/m2], i.e. the
    mean irradiance [W/m2] over that hour. Both sit at the row of their stamp.
    """
    import pvlib  # imported here: only runs that read a user EPW or build sites pay for it

    path = Path(path)
    try:
        data, meta = pvlib.iotools.read_epw(path, coerce_year=2001)
    except FileNotFoundError:
        raise SiteDataError(f"{path}: weather file not found") from None
    except Exception as exc:  # pvlib raises several types on malformed files
        raise SiteDataError(f"{path}: not a readable EPW weather file ({exc})") from None
    if len(data) != HOURS_PER_YEAR:
        raise SiteDataError(f"{path}: EPW has {len(data)} hourly rows; a full year of {HOURS_PER_YEAR} is required")
    frame = _weather_frame(path, "EPW", data["month"], data["day"], data["hour"], float(meta["TZ"]), {
        "drybulb_c": data["temp_air"], "dewpoint_c": data["temp_dew"], "relhum_pct": data["relative_humidity"],
        "pressure_pa": data["atmospheric_pressure"],
        "ghi_w_m2": data["ghi"], "dni_w_m2": data["dni"], "dhi_w_m2": data["dhi"],
    })
    meta = {"latitude": float(meta["latitude"]), "longitude": float(meta["longitude"]),
            "utc_offset_h": float(meta["TZ"]), "elevation_m": float(meta["altitude"]),
            "station": f"{meta['city']}, {meta['state-prov']}, {meta['country']}"}
    return frame, meta


def read_tmy3(path):
    """NREL TMY3 file -> (DataFrame of 8,760 rows in UTC hour-of-year order, metadata),
    with the same columns, checks and metadata keys as read_epw.

    Parsed with pvlib.iotools.read_tmy3; the time axis is built from the file's own
    "Date (MM/DD/YYYY)" and "Time (HH:MM)" columns rather than pvlib's index (which moves
    hour 24:00 to 00:00 of the next day and the last row into the next year). TMY3 stamps are
    local standard time (UTC offset in the header line), hour-ending 01:00..24:00, exactly as
    EPW, so hour h of day d maps to the same UTC hour-of-year as EPW hour h of day d. Each
    month of a TMY3 year comes from a different calendar year; only month and day are used.
    Pressure is converted from mbar to Pa; radiation is the hour-ending mean [W/m2], as EPW.
    Reference: Wilcox & Marion, "Users Manual for TMY3 Data Sets", NREL/TP-581-43156 (2008).
    """
    import pvlib

    path = Path(path)
    if not path.is_file():
        raise SiteDataError(f"{path}: weather file not found")
    try:
        data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
    except Exception as exc:  # pvlib raises several types on malformed files
        raise SiteDataError(f"{path}: not a readable TMY3 weather file ({exc})") from None
    if len(data) != HOURS_PER_YEAR:
        raise SiteDataError(f"{path}: TMY3 has {len(data)} hourly rows; a full year of {HOURS_PER_YEAR} is required")
    try:
        date = pd.to_datetime(data["Date (MM/DD/YYYY)"].to_numpy(), format="%m/%d/%Y")
        hh_mm = data["Time (HH:MM)"].astype(str).str.split(":", expand=True).astype(int)
    except Exception as exc:
        raise SiteDataError(f"{path}: TMY3 Date/Time columns not in MM/DD/YYYY, HH:MM form ({exc})") from None
    if (hh_mm[1] != 0).any() or not hh_mm[0].between(1, 24).all():
        raise SiteDataError(f"{path}: TMY3 times must be whole hours 01:00..24:00 (hour-ending)")
    if ((date.month == 2) & (date.day == 29)).any():
        raise SiteDataError(f"{path}: TMY3 has a 29 February; a typical year of {HOURS_PER_YEAR} hours has none")
    frame = _weather_frame(path, "TMY3", date.month, date.day, hh_mm[0].to_numpy(), float(meta["TZ"]), {
        "drybulb_c": data["temp_air"], "dewpoint_c": data["temp_dew"], "relhum_pct": data["relative_humidity"],
        "pressure_pa": data["pressure"].to_numpy(float) * 100.0,  # mbar -> Pa
        "ghi_w_m2": data["ghi"], "dni_w_m2": data["dni"], "dhi_w_m2": data["dhi"],
    })
    meta = {"latitude": float(meta["latitude"]), "longitude": float(meta["longitude"]),
            "utc_offset_h": float(meta["TZ"]), "elevation_m": float(meta["altitude"]),
            "station": f"{str(meta['Name']).strip(chr(34))}, {meta['State']}, USA (USAF {meta['USAF']})"}
    return frame, meta


def read_weather(path):
    """read_tmy3 for a .tmy3 file, read_epw for anything else."""
    return read_tmy3(path) if Path(path).suffix.lower() == ".tmy3" else read_epw(path)


def _unit_hint(col, values):
    """Why a column's values look like another unit, or None: a full year that lies far outside
    what any grid has in the documented unit is a unit mistake, not data."""
    if not len(values):
        return None
    peak, median = float(np.max(values)), float(np.median(values))
    if col == "carbon_g_per_kwh" and 0.0 < peak < 2.5:
        return (f"largest value {peak:.3g}: looks like kg/kWh or t/MWh (no grid hour is below 2.5 g/kWh throughout a "
                f"year); multiply by 1,000")
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
        raise SiteDataError(f"{path}: grid file not found")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:
        raise SiteDataError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in GRID_COLUMNS[:3] if c not in frame.columns]
    if missing:
        raise SiteDataError(f"{path}: missing column(s) {', '.join(missing)}; required: {', '.join(GRID_COLUMNS[:3])}, "
                            f"optional: water_l_per_kwh")
    stamps = pd.to_datetime(frame["timestamp_utc"], utc=True, errors="coerce", format="ISO8601")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0]) + 2
        raise SiteDataError(f"{path}: line {row}: timestamp_utc {frame['timestamp_utc'].iloc[row - 2]!r} is not an ISO 8601 time")
    if stamps.duplicated().any():
        row = int(np.flatnonzero(stamps.duplicated().to_numpy())[0]) + 2
        raise SiteDataError(f"{path}: line {row}: duplicated hour {stamps.iloc[row - 2]}")
    if not stamps.is_monotonic_increasing:
        row = int(np.flatnonzero(np.diff(stamps.to_numpy()) < np.timedelta64(0, "s"))[0]) + 3
        raise SiteDataError(f"{path}: line {row}: timestamp_utc goes back in time; rows must be in increasing order")
    steps = np.diff(stamps.to_numpy())
    gaps = np.flatnonzero(steps != np.timedelta64(1, "h"))
    if gaps.size:
        i = gaps[0]
        raise SiteDataError(f"{path}: line {i + 3}: gap or irregular step: {stamps.iloc[i + 1]:%Y-%m-%d %H:%M} follows "
                            f"{stamps.iloc[i]:%Y-%m-%d %H:%M} (line {i + 2}), {steps[i] / np.timedelta64(1, 'm'):g} min "
                            f"apart; hourly rows required")
    idx, keep, fraction = utc_hour_of_year(stamps)
    frame, idx = frame[keep], idx[keep]
    if len(frame) != HOURS_PER_YEAR:
        raise SiteDataError(f"{path}: {len(frame)} hourly rows; one year of {HOURS_PER_YEAR} is required")
    columns = [c for c in GRID_COLUMNS[1:] if c in frame.columns]
    out = pd.DataFrame(index=idx)
    for col in columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        lo, hi = GRID_BOUNDS[col]
        hint = _unit_hint(col, values.dropna().to_numpy())
        if hint:
            raise SiteDataError(f"{path}: column {col}: {hint}")
        bad = ~values.between(lo, hi)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raw = frame[col].iloc[row]
            what = ("is missing (empty or not a number)" if pd.isna(values.iloc[row])
                    else f"= {str(raw)!r} is outside {lo}..{hi} (check the unit)")
            raise SiteDataError(f"{path}: line {int(frame.index[row]) + 2}: {col} {what}")  # file line, 29 Feb counted
        out[col] = values.to_numpy(float)
    out = out.sort_index()
    return pd.DataFrame(on_whole_hours(out.to_numpy(), fraction), columns=out.columns)
