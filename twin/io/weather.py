"""Weather files (EPW, TMY3) as hourly arrays on the UTC hour-of-year axis, screened for values
that cannot be real.

Used both by the bundled-site build and for a user's own files at run time.
Every problem raises WeatherError naming the file, the row or column, and what is allowed.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import clip
from twin.io.hours import HOURS_PER_YEAR, WeatherError, hour_of_year_index, on_whole_hours

# Bounds of the weather columns [unit in the name]. A value outside them is a file's missing-value
# marker (EPW: 99.9 temperatures, 999 RH, 999999 pressure, 9999 radiation; TMY3: -9900) or a
# wrong unit. Temperatures: the lowest screen temperature on WMO's record list is -69.8 C (Klinck,
# Greenland, 1991; the -89.2 C of Vostok is on the Antarctic plateau, where no data centre stands);
# the highest is 56.7 C (Death Valley, 10 July 1913, WMO Archive of Weather and Climate Extremes),
# so 60 C leaves margin without letting a Fahrenheit or Kelvin column through. RH: 0..100 %;
# no hour above 100 % was found in any of the 28 source files of shared/data/weather (10 EPW,
# 2 TMY3, 16 Open-Meteo; counted on 2026-12-04), so a larger value is refused, not clipped.
WEATHER_BOUNDS = {
    "drybulb_c": (-70.0, 60.0),
    "dewpoint_c": (-90.0, 60.0),
    "relhum_pct": (0.0, 100.0),
    "pressure_pa": (31000.0, 120000.0),  # Pa; 31 kPa is above the summit of Everest, 120 kPa above any sea-level record
    # W/m2, hourly means; the extraterrestrial normal irradiance is at most ~1,415 W/m2 (perihelion)
    "ghi_w_m2": (0.0, 1500.0),
    "dni_w_m2": (0.0, 1500.0),
    "dhi_w_m2": (0.0, 1500.0),
}
WEATHER_COLUMNS = tuple(WEATHER_BOUNDS)
# K: a dew point may exceed the dry-bulb of its hour by at most this much. Files round both to
# 0.1 K (EPW) or 1 K (some ISD stations report whole degrees), and at saturation the two are
# equal, so a reading 0.5 K above is rounding; more is a swapped column or a sensor fault.
DEWPOINT_ABOVE_DRYBULB_TOLERANCE_K = 0.5
# C: the highest wet-bulb temperatures measured at weather stations are about 35 C, for 1-2 hours
# (Raymond, Matthews & Horton 2020, Science Advances 6, eaaw1838, "The emergence of heat and
# humidity too severe for human tolerance"); an hour above it is not a climate a site can have.
WETBULB_MAX_C = 35.0
# What a missing-value marker of each column looks like (EnergyPlus Auxiliary Programs, "Weather
# File Data Dictionary": missing dry-bulb/dew point 99.9, RH 999, pressure 999999, radiation 9999;
# TMY3 manual, Wilcox & Marion 2008: -9900).
MISSING_MARKERS = {99.9, 999.0, 9999.0, 99999.0, 999999.0, -9900.0, -999.0, -99.0}


def _epw_labels():
    return {
        "drybulb_c": "field 7 dry-bulb temperature [C]",
        "dewpoint_c": "field 8 dew-point temperature [C]",
        "relhum_pct": "field 9 relative humidity [%]",
        "pressure_pa": "field 10 atmospheric pressure [Pa]",
        "ghi_w_m2": "field 14 global horizontal radiation [Wh/m2]",
        "dni_w_m2": "field 15 direct normal radiation [Wh/m2]",
        "dhi_w_m2": "field 16 diffuse horizontal radiation [Wh/m2]",
    }


def _tmy3_labels():
    return {
        "drybulb_c": "column Dry-bulb (C)",
        "dewpoint_c": "column Dew-point (C)",
        "relhum_pct": "column RHum (%)",
        "pressure_pa": "column Pressure (mbar, read as Pa x 100)",
        "ghi_w_m2": "column GHI (W/m^2)",
        "dni_w_m2": "column DNI (W/m^2)",
        "dhi_w_m2": "column DHI (W/m^2)",
    }


def _fmt(value):
    return clip(f"{value:g}" if isinstance(value, float) else value)


def plausibility_problems(frame, where):
    """The physically impossible hours of a weather frame (columns of WEATHER_COLUMNS, any row
    order), as problem lines: ranges, dew point above dry-bulb (beyond the rounding tolerance),
    wet-bulb above WETBULB_MAX_C (ASHRAE psychrometrics, as the simulator computes it).
    where(i) names row i ("x.epw: line 123")."""
    from twin.physics.psychro import wetbulb_from_dewpoint_c

    problems = []
    for col, (lo, hi) in WEATHER_BOUNDS.items():
        values = frame[col].to_numpy(float)
        bad = ~((values >= lo) & (values <= hi))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(
                f"{where(i)}: {col} = {_fmt(float(values[i]))} ({int(bad.sum())} hour(s) out of range); "
                f"allowed {lo:g}..{hi:g}"
            )
    if problems:
        return problems
    db, dp, p = (frame[c].to_numpy(float) for c in ("drybulb_c", "dewpoint_c", "pressure_pa"))
    bad = dp > db + DEWPOINT_ABOVE_DRYBULB_TOLERANCE_K
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems.append(
            f"{where(i)}: dew point {dp[i]:g} C is above the dry-bulb {db[i]:g} C ({int(bad.sum())} hour(s)); "
            f"allowed: dew point <= dry-bulb + {DEWPOINT_ABOVE_DRYBULB_TOLERANCE_K:g} K (rounding)"
        )
    wetbulb = wetbulb_from_dewpoint_c(db, dp, p)
    bad = wetbulb > WETBULB_MAX_C
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        problems.append(
            f"{where(i)}: wet-bulb {wetbulb[i]:.1f} C (from dry-bulb {db[i]:g} C, dew point {dp[i]:g} C, "
            f"pressure {p[i]:g} Pa; {int(bad.sum())} hour(s)) is above {WETBULB_MAX_C:g} C, about the highest "
            f"ever measured (Raymond et al. 2020); allowed: wet-bulb <= {WETBULB_MAX_C:g} C"
        )
    return problems


def _numbers(path, kind, first_line, columns, labels):
    """Raw columns (strings or numbers, in file order) -> float columns; an empty or non-numeric
    cell, or a missing-value marker, is refused naming the file line, the field and the value."""
    out = {}
    for col in WEATHER_COLUMNS:
        raw = pd.Series(np.asarray(columns[col], dtype=object))
        values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cell = raw.iloc[i]
            what = (
                "is empty"
                if cell is None or (isinstance(cell, float) and np.isnan(cell)) or not str(cell).strip()
                else f"= '{clip(str(cell).strip())}' is not a number"
            )
            raise WeatherError(
                f"{path}: line {first_line + i}: {kind} {labels[col]} {what} ({int(bad.sum())} such cell(s))"
            )
        lo, hi = WEATHER_BOUNDS[col]
        bad = ~((values >= lo) & (values <= hi))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = float(values[i])
            what = "a missing-value marker" if value in MISSING_MARKERS else "out of range (check the unit)"
            raise WeatherError(
                f"{path}: line {first_line + i}: {col} has {int(bad.sum())} missing or out-of-range values "
                f"(first here: {kind} {labels[col]} = {_fmt(value)}, {what}); allowed {lo:g}..{hi:g}"
            )
        out[col] = values
    return out


def _weather_frame(path, kind, month, day, hour, utc_offset_h, columns, first_line, labels):
    """Columns of a typical-year file stamped in local standard time (hour-ending 1..24), in file
    order with row i on file line first_line + i -> DataFrame of 8,760 rows in UTC hour-of-year
    order, with the number, range and plausibility checks (each naming the file line)."""
    month, day, hour = (
        pd.to_numeric(pd.Series(np.asarray(x, dtype=object)), errors="coerce").to_numpy(float)
        for x in (month, day, hour)
    )
    days_in = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    month_ok = np.isin(month, np.arange(1, 13))
    day_ok = month_ok & (day == np.floor(day)) & (day >= 1) & (day <= days_in[np.where(month_ok, month, 0).astype(int)])
    hour_ok = np.isin(hour, np.arange(1, 25))
    bad = ~(day_ok & hour_ok)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise WeatherError(
            f"{path}: line {first_line + i}: {kind} month/day/hour {_fmt(month[i])}/{_fmt(day[i])}/"
            f"{_fmt(hour[i])} is not a date of a 365-day year with hour 1..24 (hour-ending)"
        )
    day_of_year = pd.to_datetime(
        dict(year=2001, month=month.astype(int), day=day.astype(int))
    ).dt.day_of_year.to_numpy()
    idx = hour_of_year_index(day_of_year, hour.astype(int), utc_offset_h)
    if np.unique(idx).size != HOURS_PER_YEAR:
        first = int(np.flatnonzero(pd.Series(idx).duplicated().to_numpy())[0])
        raise WeatherError(
            f"{path}: line {first_line + first}: {kind} hours do not cover each hour of the year once "
            f"(month/day/hour {_fmt(month[first])}/{_fmt(day[first])}/{_fmt(hour[first])} repeats an "
            f"earlier row)"
        )
    frame = pd.DataFrame(_numbers(path, kind, first_line, columns, labels))
    problems = plausibility_problems(frame, lambda i: f"{path}: line {first_line + i}")
    if problems:
        raise WeatherError(problems)
    frame.index = idx
    frame = frame.sort_index()
    fraction = float(np.mod(-utc_offset_h, 1.0))  # stamps at UTC h + fraction in a half-hour zone
    return pd.DataFrame(on_whole_hours(frame.to_numpy(), fraction), columns=frame.columns)


EPW_HEADER_LINES = 8
# LOCATION fields (EnergyPlus "Weather File Data Dictionary") and their allowed ranges: latitude
# [deg N], longitude [deg E], time zone [h from UTC; real zones run from UTC-12 to UTC+14, Kiribati],
# elevation [m; the Dead Sea shore is at -430 m, and no weather station or data centre sits above
# 9,000 m].
EPW_LOCATION_FIELDS = {
    6: ("latitude", -90.0, 90.0),
    7: ("longitude", -180.0, 180.0),
    8: ("time zone", -12.0, 14.0),
    9: ("elevation", -500.0, 9000.0),
}


def _epw_text(path):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WeatherError(f"{path}: weather file not found") from None
    except OSError as exc:
        raise WeatherError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not raw.strip():
        raise WeatherError(
            f"{path}: empty file; an EPW has {EPW_HEADER_LINES} header lines then {HOURS_PER_YEAR:,} hourly rows"
        )
    if b"\0" in raw[:4096]:
        raise WeatherError(
            f"{path}: a binary file, not an EPW (text: {EPW_HEADER_LINES} header lines then "
            f"{HOURS_PER_YEAR:,} hourly rows)"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # station names of older files
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _epw_location(path, line):
    fields = [f.strip() for f in line.split(",")]
    if fields[0].upper() != "LOCATION" or len(fields) < 10:
        raise WeatherError(
            f"{path}: line 1: '{clip(line)}' is not an EPW LOCATION line; allowed: LOCATION,city,"
            f"state,country,source,WMO,latitude,longitude,time zone,elevation"
        )
    meta = {}
    for i, (name, lo, hi) in EPW_LOCATION_FIELDS.items():
        try:
            value = float(fields[i])
        except ValueError:
            value = float("nan")
        if not lo <= value <= hi:  # also NaN
            raise WeatherError(
                f"{path}: line 1: LOCATION field {i + 1} {name} = '{clip(fields[i])}'; allowed "
                f"{lo:g}..{hi:g}"
                + (" (hours from UTC)" if name == "time zone" else " (m)" if name == "elevation" else " (degrees)")
            )
        meta[name] = value
    return fields, meta


def read_epw(path):
    """EnergyPlus weather file -> (DataFrame of 8,760 rows in UTC hour-of-year order, metadata).

    Columns: drybulb_c (EPW field 7), dewpoint_c (8), relhum_pct (9), pressure_pa (10),
    ghi_w_m2 (14), dni_w_m2 (15), dhi_w_m2 (16), as defined in the EnergyPlus Auxiliary
    Programs "Weather File Data Dictionary". EPW stamps are local standard time, hour h = the
    hour ending at h:00; temperatures, humidity and pressure are instantaneous at h:00, the
    radiation fields are the energy received during the hour ending at h:00 [Wh/m2], i.e. the
    mean irradiance [W/m2] over that hour. Both sit at the row of their stamp.

    Parsed here (not with pvlib) so that every problem names the file line (data start at
    line 9), the field and the value: a non-numeric or empty cell, a missing-value marker, a
    LOCATION field out of range, and physically impossible hours (plausibility_problems).
    """
    path = Path(path)
    lines = _epw_text(path)
    if len(lines) < EPW_HEADER_LINES:
        raise WeatherError(
            f"{path}: {len(lines)} lines; an EPW has {EPW_HEADER_LINES} header lines then "
            f"{HOURS_PER_YEAR:,} hourly rows"
        )
    fields, location = _epw_location(path, lines[0])
    rows = lines[EPW_HEADER_LINES:]
    if len(rows) != HOURS_PER_YEAR:
        raise WeatherError(f"{path}: EPW has {len(rows)} hourly rows; a full year of {HOURS_PER_YEAR} is required")
    cells = [row.split(",") for row in rows]
    short = [i for i, c in enumerate(cells) if len(c) < 16]
    if short:
        i = short[0]
        raise WeatherError(
            f"{path}: line {EPW_HEADER_LINES + 1 + i}: {len(cells[i])} comma-separated fields "
            f"('{clip(rows[i])}'); an EPW data row has 35 (at least the first 16 are read)"
        )
    col = lambda k: [c[k].strip() for c in cells]  # noqa: E731  (0-based field index)
    frame = _weather_frame(
        path,
        "EPW",
        col(1),
        col(2),
        col(3),
        location["time zone"],
        {
            "drybulb_c": col(6),
            "dewpoint_c": col(7),
            "relhum_pct": col(8),
            "pressure_pa": col(9),
            "ghi_w_m2": col(13),
            "dni_w_m2": col(14),
            "dhi_w_m2": col(15),
        },
        EPW_HEADER_LINES + 1,
        _epw_labels(),
    )
    meta = {
        "latitude": location["latitude"],
        "longitude": location["longitude"],
        "utc_offset_h": location["time zone"],
        "elevation_m": location["elevation"],
        "station": ", ".join(lines[0].split(",")[1:4]),
    }  # as written (pvlib's reading kept them so)
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
        raise WeatherError(f"{path}: weather file not found")
    try:
        data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
    except Exception as exc:  # pvlib raises several types on malformed files
        raise WeatherError(f"{path}: not a readable TMY3 weather file ({exc})") from None
    if len(data) != HOURS_PER_YEAR:
        raise WeatherError(f"{path}: TMY3 has {len(data)} hourly rows; a full year of {HOURS_PER_YEAR} is required")
    try:
        date = pd.to_datetime(data["Date (MM/DD/YYYY)"].to_numpy(), format="%m/%d/%Y")
        hh_mm = data["Time (HH:MM)"].astype(str).str.split(":", expand=True).astype(int)
    except Exception as exc:
        raise WeatherError(f"{path}: TMY3 Date/Time columns not in MM/DD/YYYY, HH:MM form ({exc})") from None
    if (hh_mm[1] != 0).any() or not hh_mm[0].between(1, 24).all():
        raise WeatherError(f"{path}: TMY3 times must be whole hours 01:00..24:00 (hour-ending)")
    if ((date.month == 2) & (date.day == 29)).any():
        raise WeatherError(f"{path}: TMY3 has a 29 February; a typical year of {HOURS_PER_YEAR} hours has none")
    for key, (name, lo, hi) in {
        "latitude": EPW_LOCATION_FIELDS[6],
        "longitude": EPW_LOCATION_FIELDS[7],
        "TZ": EPW_LOCATION_FIELDS[8],
        "altitude": EPW_LOCATION_FIELDS[9],
    }.items():
        if not lo <= float(meta[key]) <= hi:
            raise WeatherError(f"{path}: line 1: {name} = {_fmt(float(meta[key]))}; allowed {lo:g}..{hi:g}")
    frame = _weather_frame(
        path,
        "TMY3",
        date.month,
        date.day,
        hh_mm[0].to_numpy(),
        float(meta["TZ"]),
        {
            "drybulb_c": data["temp_air"],
            "dewpoint_c": data["temp_dew"],
            "relhum_pct": data["relative_humidity"],
            "pressure_pa": pd.to_numeric(data["pressure"], errors="coerce").to_numpy(float) * 100.0,  # mbar -> Pa
            "ghi_w_m2": data["ghi"],
            "dni_w_m2": data["dni"],
            "dhi_w_m2": data["dhi"],
        },
        3,
        _tmy3_labels(),
    )  # line 1: station header, line 2: column names
    meta = {
        "latitude": float(meta["latitude"]),
        "longitude": float(meta["longitude"]),
        "utc_offset_h": float(meta["TZ"]),
        "elevation_m": float(meta["altitude"]),
        "station": f"{str(meta['Name']).strip(chr(34))}, {meta['State']}, USA (USAF {meta['USAF']})",
    }
    return frame, meta


def read_weather(path):
    """read_tmy3 for a .tmy3 file, read_epw for anything else."""
    return read_tmy3(path) if Path(path).suffix.lower() == ".tmy3" else read_epw(path)
