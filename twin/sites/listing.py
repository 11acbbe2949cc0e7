"""What `python -m twin sites` shows: per-site climate, grid and price figures from the bundled files.

Economiser hours use the default plants of the catalog, so the thresholds move with it:
full water-side economiser when the wet-bulb is at or below chilled-water supply - tower
approach - heat-exchanger approach (air cooling), and full dry-cooler free cooling for
direct-to-chip when the dry-bulb is at or below facility supply (liquid class) - dry-cooler
approach.
"""

import numpy as np

from twin import catalog
from twin.physics.cooling import LIQUID_CLASSES_C
from twin.sites.index import bundled_site_names, site_entry
from twin.sites.library import load_site


def economiser_thresholds_c():
    """(wet-bulb limit of full water-side economiser, dry-bulb limit of full W32 dry cooling) [C]."""
    cooling = catalog.load("cooling")
    air = cooling["air"]
    wetbulb = air["chw_supply_temp_c"] - air["tower_approach_k"] - air["economiser_hx_approach_k"]
    dtc = cooling["direct_to_chip"]
    drybulb = LIQUID_CLASSES_C[dtc["liquid_class"]] - dtc["drycooler_approach_k"]
    return wetbulb, drybulb, dtc["liquid_class"]


def site_row(name):
    """One row of the listing: the index entry plus economiser hours from the hourly series."""
    entry = site_entry(name)
    site = load_site(name)
    wetbulb_limit, drybulb_limit, _ = economiser_thresholds_c()
    return {
        "name": name,
        "title": entry["title"],
        "continent": entry["continent"],
        "region": entry["region"],
        "latitude": entry["latitude"],
        "longitude": entry["longitude"],
        "elevation_m": entry["elevation_m"],
        "timezone": entry["timezone"],
        "utc_offset_h": entry["utc_offset_h"],
        "climate": entry["climate"],
        "climate_type": entry["climate_type"],
        "weather_basis": entry["weather_basis"],
        "mean_drybulb_c": float(site.drybulb_c.mean()),
        "mean_wetbulb_c": float(site.wetbulb_c.mean()),
        "hours_wse": int(np.sum(site.wetbulb_c <= wetbulb_limit)),
        "hours_dry_cooling": int(np.sum(site.drybulb_c <= drybulb_limit)),
        "carbon_g_per_kwh": float(site.carbon_g_per_kwh.mean()),
        "carbon_hourly": bool(np.ptp(site.carbon_g_per_kwh) > 0),
        "water_l_per_kwh": float(site.water_l_per_kwh.mean()),
        "water_hourly": bool(np.ptp(site.water_l_per_kwh) > 0),
        "price_usd_per_kwh": float(site.price_usd_per_kwh.mean()),
        "price_basis": entry["price_basis"],
        "price_hourly": bool(np.ptp(site.price_usd_per_kwh) > 0),
        "water_price_usd_per_m3": entry["water_price_usd_per_m3"],
        "source_tags": entry["source_tags"],
        "sources": dict(entry["sources"]),
    }


def site_rows():
    return [site_row(name) for name in bundled_site_names()]


def monthly_means(name):
    """Per month: mean dry-bulb, wet-bulb, carbon, water factor, price, and economiser hours."""
    site = load_site(name)
    wetbulb_limit, drybulb_limit, _ = economiser_thresholds_c()
    days = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) * 24
    # the series are on the UTC axis; a month is taken in UTC (at most 14 h off the local month)
    rows = []
    for m in range(12):
        sl = slice(days[m], days[m + 1])
        rows.append(
            {
                "month": m + 1,
                "drybulb_c": float(site.drybulb_c[sl].mean()),
                "wetbulb_c": float(site.wetbulb_c[sl].mean()),
                "hours_wse": int(np.sum(site.wetbulb_c[sl] <= wetbulb_limit)),
                "hours_dry_cooling": int(np.sum(site.drybulb_c[sl] <= drybulb_limit)),
                "carbon_g_per_kwh": float(site.carbon_g_per_kwh[sl].mean()),
                "water_l_per_kwh": float(site.water_l_per_kwh[sl].mean()),
                "price_usd_per_kwh": float(site.price_usd_per_kwh[sl].mean()),
            }
        )
    return rows
