"""Loading a site (bundled or the user's files) into one SiteSeries."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from twin.io.grid_csv import read_grid_csv
from twin.io.hours import HOURS_PER_YEAR, GridError, SiteDataError
from twin.io.weather import WEATHER_COLUMNS, read_weather
from twin.physics.psychro import wetbulb_from_dewpoint_c
from twin.sites.index import SITES_DIR, site_entry

GRID_SERIES = ("carbon_g_per_kwh", "price_usd_per_kwh", "water_l_per_kwh")


@dataclass(frozen=True)
class SiteSeries:
    """One typical year of hourly site series on the UTC hour-of-year axis (length 8,760).

    ghi/dni/dhi are the weather file's mean irradiance [W/m2] over the hour ending at the
    row's stamp (EPW/TMY3 convention); the temperatures are instantaneous at the stamp.
    timezone is the IANA name of a bundled site, or a fixed-offset label ("UTC+08:00") for
    a user weather file, whose stamps are local standard time.
    """

    name: str
    latitude: float
    longitude: float
    utc_offset_h: float
    drybulb_c: np.ndarray
    wetbulb_c: np.ndarray
    carbon_g_per_kwh: np.ndarray
    water_l_per_kwh: np.ndarray
    price_usd_per_kwh: np.ndarray
    sources: dict = field(default_factory=dict)
    ghi_w_m2: np.ndarray | None = None
    dni_w_m2: np.ndarray | None = None
    dhi_w_m2: np.ndarray | None = None
    elevation_m: float = float("nan")
    timezone: str = ""
    water_price_usd_per_m3: float | None = None  # bundled sites only
    price_basis: str = "user"  # wholesale (a market series) | retail (a tariff) | user (the user's grid file)


def _bundled(name):
    entry = site_entry(name)
    frame = pd.read_parquet(SITES_DIR / entry["file"])
    meta = {
        k: entry[k]
        for k in (
            "latitude",
            "longitude",
            "utc_offset_h",
            "elevation_m",
            "timezone",
            "water_price_usd_per_m3",
            "price_basis",
        )
    }
    return frame, meta, dict(entry["sources"])


def _offset_label(utc_offset_h):
    minutes = int(round(abs(utc_offset_h) * 60))
    return f"UTC{'-' if utc_offset_h < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def load_site(name=None, weather_file=None, grid_file=None):
    """Assemble a SiteSeries from a bundled site, optionally replacing its weather and/or
    grid series by the user's weather file (EPW, or NREL TMY3 if it ends in .tmy3) / grid CSV.
    Raises SiteDataError on unusable files."""
    frame, meta, sources = (None, {}, {})
    if name is not None:
        frame, meta, sources = _bundled(name)
    if weather_file is not None:
        weather, meta_w = read_weather(weather_file)
        meta = {**meta, **{k: meta_w[k] for k in ("latitude", "longitude", "utc_offset_h", "elevation_m")}}
        meta["timezone"] = _offset_label(meta_w["utc_offset_h"])
        kind = "TMY3" if Path(weather_file).suffix.lower() == ".tmy3" else "EPW"
        sources["weather"] = f"user {kind} {weather_file} ({meta_w['station']})"
        frame = weather if frame is None else frame.assign(**{c: weather[c].to_numpy() for c in WEATHER_COLUMNS})
    if grid_file is not None:
        grid = read_grid_csv(grid_file)
        if "water_l_per_kwh" not in grid and (frame is None or "water_l_per_kwh" not in frame):
            raise GridError(
                f"{grid_file}: no water_l_per_kwh column, and no bundled site 'name' to take the grid "
                f"water factor from; add the column or name a site of the same grid"
            )
        sources.update({c.split("_")[0]: f"user grid file {grid_file}" for c in grid.columns})
        meta["price_basis"] = "user"
        frame = frame.assign(**{c: grid[c].to_numpy() for c in grid.columns})
    if frame is None or any(c not in frame for c in GRID_SERIES):
        raise SiteDataError("a site needs grid series: give a bundled site name or a grid_file")
    assert len(frame) == HOURS_PER_YEAR
    wetbulb = wetbulb_from_dewpoint_c(
        frame["drybulb_c"].to_numpy(float), frame["dewpoint_c"].to_numpy(float), frame["pressure_pa"].to_numpy(float)
    )
    return SiteSeries(
        name=name or Path(weather_file).stem,
        latitude=meta["latitude"],
        longitude=meta["longitude"],
        utc_offset_h=meta["utc_offset_h"],
        drybulb_c=frame["drybulb_c"].to_numpy(float),
        wetbulb_c=wetbulb,
        carbon_g_per_kwh=frame["carbon_g_per_kwh"].to_numpy(float),
        water_l_per_kwh=frame["water_l_per_kwh"].to_numpy(float),
        price_usd_per_kwh=frame["price_usd_per_kwh"].to_numpy(float),
        sources=sources,
        ghi_w_m2=frame["ghi_w_m2"].to_numpy(float),
        dni_w_m2=frame["dni_w_m2"].to_numpy(float),
        dhi_w_m2=frame["dhi_w_m2"].to_numpy(float),
        elevation_m=float(meta["elevation_m"]),
        timezone=str(meta["timezone"]),
        water_price_usd_per_m3=meta.get("water_price_usd_per_m3"),
        price_basis=meta.get("price_basis", "user"),
    )
