"""Build the bundled site files from the public data in ../shared/data.

    python -m twin.sites.build --shared ../shared/data

Writes twin/sites/data/<site>.parquet (8,760 hourly rows, UTC hour-of-year) and
twin/sites/index.yaml with each site's coordinates and the source of every series.
No values are invented: every series is read from a named file; the only derivation is the
hourly grid water factor, the generation-weighted Macknick et al. (2012) medians.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from twin.physics.grid import water_intensity_from_mix_l_per_kwh
from twin.sites.readers import HOURS_PER_YEAR, hour_of_year_index, read_epw

OUT_DIR = Path(__file__).parent

# Macknick et al. 2012 (ERL 7 045802) median operational water consumption, L/kWh, via
# shared/data/grid_factors/water_carbon_by_technology/water_consumption_macknick2012.csv.
# EIA-930 fuel codes -> Macknick "default" technology rows. Oil steam plants have no row;
# the gas steam-turbine tower value stands in (same Rankine cycle).
EIA_FUEL_TO_MACKNICK = {
    "WND": "wind-default", "SUN": "solar-pv-default", "WAT": "hydro-default", "OIL": "gas-steam-tower",
    "NG": "gas-default", "COL": "coal-default", "NUC": "nuclear-default", "OTH": "biopower-default",
}

SITES = {
    "ashburn-va": {
        "title": "Ashburn, Virginia (Loudoun County), USA",
        "region": "US PJM",
        "climate": "temperate, mixed-humid (ASHRAE 4A)",
        "timezone": "America/New_York",
        "epw": "weather/epw/USA_VA_Leesburg.Exec.epw",
        "eia_ba": "PJM",
        "price_column": "US-MIDA-PJM",
        "price_year": 2023,
    },
}


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
    macknick = pd.read_csv(shared / "grid_factors" / "water_carbon_by_technology" / "water_consumption_macknick2012.csv",
                           index_col="technology_key")["water_consumption_L_per_kWh"]
    water = water_intensity_from_mix_l_per_kwh({f: frame[f].to_numpy() for f in EIA_FUEL_TO_MACKNICK},
                                               {f: macknick[t] for f, t in EIA_FUEL_TO_MACKNICK.items()})
    out = pd.DataFrame({"carbon_g_per_kwh": frame["avg_CI"].to_numpy(float), "water_l_per_kwh": water}, index=idx)
    return out.sort_index(), path, missing


def _prices_hourly(shared, column, year):
    path = shared / "electricity_prices" / "hourly_usd_per_mwh_greendcc" / f"prices_usd_per_mwh_{year}.csv"
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


def build(shared, names=None):
    shared = Path(shared)
    (OUT_DIR / "data").mkdir(exist_ok=True)
    index = {}
    for name, spec in SITES.items():
        if names and name not in names:
            continue
        weather, meta = read_epw(shared / spec["epw"])
        grid, grid_path, grid_missing = _eia_hourly(shared, spec["eia_ba"])
        price, price_path, price_missing = _prices_hourly(shared, spec["price_column"], spec["price_year"])
        frame = weather.assign(carbon_g_per_kwh=grid["carbon_g_per_kwh"].to_numpy(),
                               water_l_per_kwh=grid["water_l_per_kwh"].to_numpy(),
                               price_usd_per_kwh=price.to_numpy())
        frame.insert(0, "hour_of_year_utc", np.arange(HOURS_PER_YEAR, dtype=np.int32))
        frame.astype({c: "float32" for c in frame.columns if c != "hour_of_year_utc"}).to_parquet(
            OUT_DIR / "data" / f"{name}.parquet", index=False, compression="zstd")
        rel = lambda p: str(Path(p).relative_to(shared))  # noqa: E731
        index[name] = {
            "title": spec["title"], "region": spec["region"], "climate": spec["climate"],
            "timezone": spec["timezone"], "utc_offset_h": meta["utc_offset_h"],
            "latitude": meta["latitude"], "longitude": meta["longitude"], "elevation_m": meta["elevation_m"],
            "file": f"data/{name}.parquet",
            "sources": {
                "weather": f"{meta['station']} TMYx 2007-2021 (NCEI ISD/ERA5, climate.onebuilding.org), measured; shared/data/{rel(shared / spec['epw'])}",
                "carbon": f"US EIA-930 hourly average carbon intensity of {spec['eia_ba']}, 2022, measured, {grid_missing} missing hours interpolated; shared/data/{rel(grid_path)}",
                "water": f"hourly EIA-930 {spec['eia_ba']} generation mix 2022 x Macknick et al. 2012 median consumption factors per fuel [D]",
                "price": f"hourly day-ahead wholesale price {spec['price_column']} {spec['price_year']} (green-dcc standardised), measured, {price_missing} missing hours interpolated; shared/data/{rel(price_path)}",
            },
        }
    with open(OUT_DIR / "index.yaml", "w") as fh:
        fh.write("# Bundled sites. Generated by `python -m twin.sites.build`; edit SITES in build.py, not this file.\n")
        yaml.safe_dump(index, fh, sort_keys=True, allow_unicode=True, width=200)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared/data", help="path to shared/data (default: ../shared/data)")
    parser.add_argument("sites", nargs="*", help="sites to build (default: all)")
    args = parser.parse_args()
    build(args.shared, args.sites)


if __name__ == "__main__":
    main()
