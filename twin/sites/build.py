"""Build the bundled site files from the public data in ../shared/data.

    python -m twin.sites.build --shared ../shared/data

Writes twin/sites/data/<site>.parquet (8,760 hourly rows, UTC hour-of-year) and
twin/sites/index.yaml with each site's coordinates and the source of every series.
No values are invented: every series is read from a named file. The derivations, each
marked [D] in its source string, are: the grid water factor (generation-weighted Macknick et
al. 2012 medians; hourly from an EIA-930 mix, or an annual constant from a country's annual
mix), an annual carbon figure held flat where no hourly series exists, and a neighbouring
market's annual mean price used as a labelled flat stand-in where the site's own market has
no price in shared/data.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from twin.physics.grid import water_intensity_from_mix_l_per_kwh
from twin.sites.readers import HOURS_PER_YEAR, hour_of_year_index, read_epw, read_tmy3

OUT_DIR = Path(__file__).parent

# Macknick et al. 2012 (ERL 7 045802) median operational water consumption, L/kWh, via
# shared/data/grid_factors/water_carbon_by_technology/water_consumption_macknick2012.csv.
# EIA-930 fuel codes -> Macknick "default" technology rows. Oil steam plants have no row;
# the gas steam-turbine tower value stands in (same Rankine cycle).
EIA_FUEL_TO_MACKNICK = {
    "WND": "wind-default", "SUN": "solar-pv-default", "WAT": "hydro-default", "OIL": "gas-steam-tower",
    "NG": "gas-default", "COL": "coal-default", "NUC": "nuclear-default", "OTH": "biopower-default",
}
# The same mapping for the annual OWID/Ember mixes in codecarbon's global_energy_mix.json
# [TWh]. These fields partition total_TWh (checked); OWID's other_renewable_exc_biofuel is
# geothermal, wave and tidal, of which Macknick has geothermal.
OWID_SOURCE_TO_MACKNICK = {
    "wind_TWh": "wind-default", "solar_TWh": "solar-pv-default", "hydroelectricity_TWh": "hydro-default",
    "oil_TWh": "gas-steam-tower", "gas_TWh": "gas-default", "coal_TWh": "coal-default",
    "nuclear_TWh": "nuclear-default", "biofuel_TWh": "biopower-default",
    "other_renewable_exc_biofuel_TWh": "geothermal-default",
}

PRICE_FILE = "electricity_prices/hourly_usd_per_mwh_greendcc/prices_usd_per_mwh_{year}.csv"
EMAPS_FILE = "carbon_intensity/electricitymaps_hourly_2021_2024_greendcc/ci_{basis}_gCO2eq_per_kWh.csv"
OWID_ANNUAL_FILE = "carbon_intensity/annual_country_owid_ember/country_grid_intensity_2010_2024.csv"
MIX_FILE = "grid_factors/codecarbon/global_energy_mix.json"
MACKNICK_FILE = "grid_factors/water_carbon_by_technology/water_consumption_macknick2012.csv"

IWEC = "ASHRAE IWEC typical year (typical months of NCEI ISD {years}; (c) 2001 ASHRAE, distributed by US DOE), measured"

# Each series names its kind and source:
#   carbon: eia930 (hourly avg_CI of a US balancing authority), electricitymaps (hourly, one
#           zone and calendar year), annual (OWID/Ember country figure held flat)
#   water:  eia930 (hourly mix of the same BA) or mix (annual country mix, held flat)
#   price:  hourly (one column of the green-dcc price file) or standin (flat annual mean of a
#           neighbouring market, labelled as such)
SITES = {
    "ashburn-va": {
        "title": "Ashburn, Virginia (Loudoun County), USA",
        "region": "US PJM",
        "climate": "temperate, mixed-humid (ASHRAE 4A)",
        "timezone": "America/New_York",
        "weather": {"file": "weather/epw/USA_VA_Leesburg.Exec.epw",
                    "desc": "TMYx 2007-2021 (NCEI ISD/ERA5, climate.onebuilding.org), measured"},
        "carbon": {"kind": "eia930", "ba": "PJM"},
        "water": {"kind": "eia930", "ba": "PJM"},
        "price": {"kind": "hourly", "column": "US-MIDA-PJM", "year": 2023, "desc": "day-ahead wholesale price"},
    },
    "singapore": {
        "title": "Singapore (Changi), Singapore",
        "region": "Singapore NEMS (SG)",
        "climate": "tropical, hot-humid (ASHRAE 0A; 1A before ASHRAE 169-2013)",
        "timezone": "Asia/Singapore",
        "weather": {"file": "weather/epw/SGP_Singapore.486980_IWEC.epw", "desc": IWEC.format(years="1983-1999")},
        # direct (operational) basis, like the EIA-930 avg_CI of the US sites, not ci_lca
        "carbon": {"kind": "electricitymaps", "zone": "SG", "year": 2023, "basis": "direct",
                   "note": "Electricity Maps flags about 14 % of the SG hours of 2021-2024 as estimated"},
        "water": {"kind": "mix", "iso3": "SGP"},
        "price": {"kind": "hourly", "column": "SG", "year": 2023,
                  "desc": "wholesale price (Uniform Singapore Energy Price, EMC)"},
    },
    "houston-tx": {
        "title": "Houston, Texas (Harris County), USA",
        "region": "US ERCOT",
        "climate": "hot-humid (ASHRAE 2A)",
        "timezone": "America/Chicago",
        "weather": {"file": "weather/tmy3_nsrdb/TX-Houston_Bush_Intercontinental.tmy3",
                    "desc": "NREL NSRDB TMY3 typical year (typical months of 1977-2000), measured/modelled"},
        "carbon": {"kind": "eia930", "ba": "ERCO"},
        "water": {"kind": "eia930", "ba": "ERCO"},
        "price": {"kind": "hourly", "column": "US-TEX-ERCO", "year": 2023, "desc": "wholesale price (ERCOT)"},
    },
    "stockholm-se": {
        "title": "Stockholm (Arlanda), Sweden",
        "region": "Sweden, Nord Pool SE3",
        "climate": "cold, humid (ASHRAE 6A)",
        "timezone": "Europe/Stockholm",
        "weather": {"file": "weather/epw/SWE_Stockholm.Arlanda.024600_IWEC.epw", "desc": IWEC.format(years="1984-1993")},
        "carbon": {"kind": "annual", "iso3": "SWE", "year": 2023},
        "water": {"kind": "mix", "iso3": "SWE"},
        "price": {"kind": "standin", "column": "DE-LU", "year": 2023,
                  "why": "no Swedish price in shared data", "desc": "day-ahead"},
    },
}


def _macknick(shared):
    return pd.read_csv(shared / MACKNICK_FILE, index_col="technology_key")["water_consumption_L_per_kWh"]


def _eia_hourly(shared, ba):
    path = shared / "carbon_intensity" / "us_eia_hourly_2022_dcrl" / f"{ba}_NG_avgCI_2022.csv"
    frame = pd.read_csv(path)
    cols = list(EIA_FUEL_TO_MACKNICK) + ["avg_CI"]
    missing = int(frame["avg_CI"].isna().sum())
    if missing > 48:
        raise ValueError(f"{path}: {missing} hours missing")
    frame[cols] = frame[cols].interpolate(limit_direction="both")
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    idx = hour_of_year_index(stamps.dt.day_of_year.to_numpy(), stamps.dt.hour.to_numpy(), 0.0)
    if np.unique(idx).size != HOURS_PER_YEAR:
        raise ValueError(f"{path}: not one full year of hours")
    macknick = _macknick(shared)
    water = water_intensity_from_mix_l_per_kwh({f: frame[f].to_numpy() for f in EIA_FUEL_TO_MACKNICK},
                                               {f: macknick[t] for f, t in EIA_FUEL_TO_MACKNICK.items()})
    out = pd.DataFrame({"carbon_g_per_kwh": frame["avg_CI"].to_numpy(float), "water_l_per_kwh": water}, index=idx)
    return out.sort_index(), path, missing


def _electricitymaps_hourly(shared, zone, year, basis):
    """One zone's hourly carbon intensity for one calendar year (stamps = start of the UTC hour)."""
    path = shared / EMAPS_FILE.format(basis=basis)
    frame = pd.read_csv(path, usecols=["datetime_utc", zone])
    stamps = pd.to_datetime(frame["datetime_utc"], utc=True)
    keep = ((stamps.dt.year == year) & ~((stamps.dt.month == 2) & (stamps.dt.day == 29))).to_numpy()
    frame, stamps = frame[keep], stamps[keep]
    doy = stamps.dt.day_of_year.to_numpy() - (stamps.dt.is_leap_year & (stamps.dt.month > 2)).to_numpy()
    idx = hour_of_year_index(doy, stamps.dt.hour.to_numpy(), 0.0)
    series = pd.Series(frame[zone].to_numpy(float), index=idx)
    series = series[~series.index.duplicated()].reindex(range(HOURS_PER_YEAR))
    missing = int(series.isna().sum())
    if missing > 48:
        raise ValueError(f"{path}:{zone}: {missing} hours of {year} missing")
    return series.interpolate(limit_direction="both"), path, missing


def _annual_carbon(shared, iso3, year):
    """A country's annual life-cycle grid intensity (Ember via OWID) [gCO2e/kWh]."""
    path = shared / OWID_ANNUAL_FILE
    frame = pd.read_csv(path)
    row = frame[(frame["iso3"] == iso3) & (frame["year"] == year)]
    if len(row) != 1:
        raise ValueError(f"{path}: no single row for {iso3} {year}")
    return float(row["ci_lifecycle_gCO2e_per_kWh"].iloc[0]), path


def _mix_water(shared, iso3):
    """Annual water factor [L/kWh] of a country's annual generation mix x Macknick medians,
    with the mix year and the shares [%] that went into it."""
    path = shared / MIX_FILE
    mix = json.loads(path.read_text())[iso3]
    twh = {k: float(mix.get(k) or 0.0) for k in OWID_SOURCE_TO_MACKNICK}
    total = sum(twh.values())
    if abs(total - float(mix["total_TWh"])) > 0.01 * float(mix["total_TWh"]):
        raise ValueError(f"{path}:{iso3}: sources sum to {total:.2f} TWh, total_TWh is {mix['total_TWh']}")
    macknick = _macknick(shared)
    water = float(water_intensity_from_mix_l_per_kwh({k: np.array([v]) for k, v in twh.items()},
                                                     {k: macknick[t] for k, t in OWID_SOURCE_TO_MACKNICK.items()})[0])
    shares = {k.removesuffix("_TWh"): round(100.0 * v / total, 1)
              for k, v in sorted(twh.items(), key=lambda kv: -kv[1]) if 100.0 * v / total >= 0.05}
    return water, int(mix["year"]), shares, path


def _prices_hourly(shared, column, year):
    path = shared / PRICE_FILE.format(year=year)
    frame = pd.read_csv(path, usecols=["datetime_utc", column]).dropna()
    stamps = pd.to_datetime(frame["datetime_utc"], utc=True)
    hourly = frame[column].groupby(stamps.dt.floor("h")).mean()
    idx = hour_of_year_index(hourly.index.day_of_year.to_numpy(), hourly.index.hour.to_numpy(), 0.0)
    series = pd.Series(hourly.to_numpy(float) / 1000.0, index=idx)  # USD/MWh -> USD/kWh
    series = series[~series.index.duplicated()].reindex(range(HOURS_PER_YEAR))
    missing = int(series.isna().sum())
    if missing > 48:
        raise ValueError(f"{path}:{column}: {missing} hours missing")
    return series.interpolate(limit_direction="both"), path, missing


def _flat(value):
    return np.full(HOURS_PER_YEAR, float(value))


def _series(shared, name, spec):
    """Weather, grid and price of one site -> (frame of 8,760 rows, metadata, source strings)."""
    rel = lambda p: "shared/data/" + str(Path(p).relative_to(shared))  # noqa: E731
    w = spec["weather"]
    reader = read_tmy3 if w["file"].endswith(".tmy3") else read_epw
    frame, meta = reader(shared / w["file"])
    sources = {"weather": f"{meta['station']} {w['desc']}; {rel(shared / w['file'])}"}

    c = spec["carbon"]
    if c["kind"] == "eia930":
        grid, path, missing = _eia_hourly(shared, c["ba"])
        carbon = grid["carbon_g_per_kwh"].to_numpy()
        sources["carbon"] = (f"US EIA-930 hourly average carbon intensity of {c['ba']}, 2022, measured, "
                             f"{missing} missing hours interpolated; {rel(path)}")
    elif c["kind"] == "electricitymaps":
        series, path, missing = _electricitymaps_hourly(shared, c["zone"], c["year"], c["basis"])
        carbon = series.to_numpy()
        sources["carbon"] = (f"Electricity Maps hourly carbon intensity of zone {c['zone']}, {c['year']}, {c['basis']} "
                             f"(operational) emissions, not life-cycle, for consistency with the EIA-930 avg_CI of the US sites; "
                             f"{c['note']}; {missing} missing hours interpolated; {rel(path)}")
    elif c["kind"] == "annual":
        value, path = _annual_carbon(shared, c["iso3"], c["year"])
        carbon = _flat(value)
        sources["carbon"] = (f"{c['iso3']} annual grid carbon intensity {value:g} gCO2e/kWh, life-cycle basis (Ember via OWID "
                             f"carbon_intensity_elec; no direct-emission figure in shared data), annual figure {c['year']} held "
                             f"constant, no hourly series available [D]; {rel(path)}")
    else:
        raise ValueError(f"{name}: unknown carbon kind {c['kind']!r}")

    wa = spec["water"]
    if wa["kind"] == "eia930":
        water = _eia_hourly(shared, wa["ba"])[0]["water_l_per_kwh"].to_numpy()
        sources["water"] = f"hourly EIA-930 {wa['ba']} generation mix 2022 x Macknick et al. 2012 median consumption factors per fuel [D]"
    elif wa["kind"] == "mix":
        value, year, shares, path = _mix_water(shared, wa["iso3"])
        water = _flat(value)
        mix_text = ", ".join(f"{k} {v:g} %" for k, v in shares.items())
        sources["water"] = (f"{wa['iso3']} annual generation mix {year} (OWID/Ember via codecarbon: {mix_text}) x Macknick et al. "
                            f"2012 median consumption factors per fuel = {value:.3f} L/kWh, annual constant held flat, no hourly "
                            f"mix available [D]; {rel(path)}, {rel(shared / MACKNICK_FILE)}")
    else:
        raise ValueError(f"{name}: unknown water kind {wa['kind']!r}")

    pr = spec["price"]
    series, path, missing = _prices_hourly(shared, pr["column"], pr["year"])
    if pr["kind"] == "hourly":
        price = series.to_numpy()
        sources["price"] = (f"hourly {pr['desc']} {pr['column']} {pr['year']} (green-dcc standardised), measured, "
                            f"{missing} missing hours interpolated; {rel(path)}")
    elif pr["kind"] == "standin":
        price = _flat(series.mean())
        sources["price"] = (f"STAND-IN: {pr['why']}; annual mean of {pr['column']} {pr['year']} {pr['desc']} "
                            f"({series.mean() * 1000.0:.2f} USD/MWh) used as a flat stand-in, not the site's own market [D]; "
                            f"{rel(path)}")
    else:
        raise ValueError(f"{name}: unknown price kind {pr['kind']!r}")

    frame = frame.assign(carbon_g_per_kwh=carbon, water_l_per_kwh=water, price_usd_per_kwh=price)
    return frame, meta, sources


def build(shared, names=None):
    shared = Path(shared)
    (OUT_DIR / "data").mkdir(exist_ok=True)
    index_path = OUT_DIR / "index.yaml"
    index = {}
    if names and index_path.is_file():  # rebuilding some sites keeps the others' entries
        index = yaml.safe_load(index_path.read_text()) or {}
    for name, spec in SITES.items():
        if names and name not in names:
            continue
        frame, meta, sources = _series(shared, name, spec)
        frame.insert(0, "hour_of_year_utc", np.arange(HOURS_PER_YEAR, dtype=np.int32))
        frame.astype({c: "float32" for c in frame.columns if c != "hour_of_year_utc"}).to_parquet(
            OUT_DIR / "data" / f"{name}.parquet", index=False, compression="zstd")
        index[name] = {
            "title": spec["title"], "region": spec["region"], "climate": spec["climate"],
            "timezone": spec["timezone"], "utc_offset_h": meta["utc_offset_h"],
            "latitude": meta["latitude"], "longitude": meta["longitude"], "elevation_m": meta["elevation_m"],
            "file": f"data/{name}.parquet",
            "sources": sources,
        }
        means = frame.drop(columns="hour_of_year_utc").mean()
        print(f"{name}: " + ", ".join(f"{c} {v:.4g}" for c, v in means.items()))
    with open(index_path, "w") as fh:
        fh.write("# Bundled sites. Generated by `python -m twin.sites.build`; edit SITES in build.py, not this file.\n")
        yaml.safe_dump(index, fh, sort_keys=True, allow_unicode=True, width=200)
    return index


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared/data", help="path to shared/data (default: ../shared/data)")
    parser.add_argument("sites", nargs="*", help="sites to build (default: all)")
    args = parser.parse_args()
    build(args.shared, args.sites)


if __name__ == "__main__":
    main()
