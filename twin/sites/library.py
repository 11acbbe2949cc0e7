"""Loading a site (bundled or the user's files) into one SiteSeries."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from twin.physics.psychro import wetbulb_from_dewpoint_c
from twin.sites.index import SITES_DIR, site_entry
from twin.sites.readers import HOURS_PER_YEAR, SiteDataError, read_epw, read_grid_csv

WEATHER_COLUMNS = ("drybulb_c", "dewpoint_c", "relhum_pct", "pressure_pa")
GRID_SERIES = ("carbon_g_per_kwh", "price_usd_per_kwh", "water_l_per_kwh")


@dataclass(frozen=True)
class SiteSeries:
    """One typical year of hourly site series on the UTC hour-of-year axis (length 8,760)."""
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


def _bundled(name):
    entry = site_entry(name)
    frame = pd.read_parquet(SITES_DIR / entry["file"])
    meta = {k: entry[k] for k in ("latitude", "longitude", "utc_offset_h")}
    return frame, meta, dict(entry["sources"])


def load_site(name=None, weather_file=None, grid_file=None):
    """Assemble a SiteSeries from a bundled site, optionally replacing its weather and/or
    grid series by the user's EPW / grid CSV. Raises SiteDataError on unusable files."""
    frame, meta, sources = (None, {}, {})
    if name is not None:
        frame, meta, sources = _bundled(name)
    if weather_file is not None:
        weather, meta_w = read_epw(weather_file)
        meta = {k: meta_w[k] for k in ("latitude", "longitude", "utc_offset_h")}
        sources["weather"] = f"user EPW {weather_file} ({meta_w['station']})"
        frame = weather if frame is None else frame.assign(**{c: weather[c].to_numpy() for c in WEATHER_COLUMNS})
    if grid_file is not None:
        grid = read_grid_csv(grid_file)
        sources.update({c: f"user grid file {grid_file}" for c in ("carbon", "water", "price")})
        frame = frame.assign(**{c: grid[c].to_numpy() for c in GRID_SERIES})
    if frame is None or any(c not in frame for c in GRID_SERIES):
        raise SiteDataError("a site needs grid series: give a bundled site name or a grid_file")
    assert len(frame) == HOURS_PER_YEAR
    wetbulb = wetbulb_from_dewpoint_c(frame["drybulb_c"].to_numpy(float), frame["dewpoint_c"].to_numpy(float),
                                      frame["pressure_pa"].to_numpy(float))
    return SiteSeries(
        name=name or Path(weather_file).stem,
        latitude=meta["latitude"], longitude=meta["longitude"], utc_offset_h=meta["utc_offset_h"],
        drybulb_c=frame["drybulb_c"].to_numpy(float), wetbulb_c=wetbulb,
        carbon_g_per_kwh=frame["carbon_g_per_kwh"].to_numpy(float),
        water_l_per_kwh=frame["water_l_per_kwh"].to_numpy(float),
        price_usd_per_kwh=frame["price_usd_per_kwh"].to_numpy(float),
        sources=sources,
    )
