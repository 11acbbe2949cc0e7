"""Year-by-year SAIQ of one design under named storylines (catalog forecast.yaml, with sources).

For each storyline and year y (k = y - first year), the scenario runs once at its site with
  grid carbon x (1 + grid_carbon_change)^k (the rate of the site's region where the storyline
  has one), dry-bulb + warming k at each hour's relative humidity, and the heat waves the warmer
  climate adds (twin/sites/morph.py),
  output tokens per GPU-second x (1 + efficiency_gain)^k at the same power,
and the SAIQ components, index and KPIs are taken per token as for any run. The fleet grows with
demand (demand_growth) and with the rebound of cheaper tokens ((cost_y / cost_first)^elasticity),
which scales the annual totals, not the per-token figures: a bigger fleet of the same design has
the same per-token footprint. The SAIQ reference stays the one of the first year.
"""

import dataclasses

import numpy as np
import pandas as pd

from twin import catalog
from twin.metrics import hours_inlet_above_allowable, kpis, saiq, saiq_components, saiq_counting, totals
from twin.pipeline import reference_components, simulate
from twin.sites import morph
from twin.sites.index import site_entry
from twin.sites.library import load_site


def storylines(names=None):
    known = catalog.load("forecast")["storylines"]
    return {n: known[n] for n in (names or known)}


def grid_carbon_change(story, region):
    """The storyline's yearly change of grid carbon intensity for a site's region."""
    for prefix, rate in story.get("grid_carbon_change_by_region", {}).items():
        if region and region.startswith(prefix):
            return rate
    return story["grid_carbon_change_per_year"]


def _year_site(site, story, k, region):
    """(the site's series for forecast year k, heat-wave days in them)."""
    warming_k = story["warming_k_per_year"] * k
    extra_k = morph.extra_intensity_k(morph.global_level_k(warming_k))
    weather, heatwave_days = morph.morph(site, warming_k, morph.heatwave_count(story["warming_k_per_year"], k), extra_k)
    carbon = site.carbon_g_per_kwh * (1.0 + grid_carbon_change(story, region)) ** k
    return dataclasses.replace(weather, carbon_g_per_kwh=carbon), heatwave_days


def _year_scenario(scenario, story, k):
    inference = scenario.workload.inference
    scaled = inference.model_copy(
        update={"throughput_scale": inference.throughput_scale * (1.0 + story["efficiency_gain_per_year"]) ** k}
    )
    return scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"inference": scaled})})


def forecast(scenario, first_year, last_year, names=None, on_done=None):
    """(table with one row per storyline and year, meta) for years first_year..last_year."""
    site = load_site(scenario.site.name, scenario.site.weather_file, scenario.site.grid_file)
    # the grid's region decides regional decarbonisation rates, unless the user brings their own grid
    region = site_entry(scenario.site.name)["region"] if scenario.site.name and not scenario.site.grid_file else None
    reference = reference_components(scenario)
    weights = scenario.saiq.weights.model_dump()
    counting = saiq_counting(scenario)
    stories = storylines(names)
    years = range(first_year, last_year + 1)
    rows, done = [], 0
    for name, story in stories.items():
        first_cost = None
        for year in years:
            k = year - first_year
            run = _year_scenario(scenario, story, k)
            year_site, heatwave_days = _year_site(site, story, k, region)
            frame = simulate(run, site=year_site)
            t = totals(frame, run.step_s)
            components = saiq_components(t, **counting)
            result = saiq(components, weights, reference)
            first_cost = first_cost or components["usd_per_token"]
            growth = (1.0 + story["demand_growth_per_year"]) ** k * (components["usd_per_token"] / first_cost) ** story[
                "price_elasticity"
            ]
            k_ = kpis(t, scenario.site.renewable_contract_fraction, scenario.facility.heat_reuse_fraction)
            rows.append(
                {
                    "storyline": name,
                    "year": year,
                    "saiq_index": result["index"] if result["index"] is not None else np.nan,
                    "saiq_raw": result["raw"],
                    **components,
                    "pue": k_["pue"],
                    "wue_site_l_per_kwh": k_["wue_site_l_per_kwh"],
                    "peak_hourly_pue": _peak_hourly_pue(frame),
                    "heatwave_days": heatwave_days,
                    "hours_gpu_throttled": t["hours_gpu_throttled"],
                    "hours_inlet_above_allowable": hours_inlet_above_allowable(run, frame),
                    "grid_carbon_g_per_kwh": float(frame["grid_carbon_g_per_kwh"].mean()),
                    "fleet_scale": growth,
                    "facility_energy_mwh": t["facility_energy_mwh"] * growth,
                    "carbon_t": t["carbon_t"] * growth,
                    "water_m3": (t["water_direct_m3"] + t["water_indirect_m3"]) * growth,
                    "tokens": t["tokens"] * growth,
                }
            )
            done += 1
            if on_done:
                on_done(done, len(stories) * len(years))
    meta = {
        "scenario": scenario.name,
        "years": [first_year, last_year],
        "weights": weights,
        "reference": None if reference is None else reference,
        "period_per_year": f"{scenario.start.isoformat()} + {scenario.duration} at {scenario.step} steps, per year",
        "storylines": stories,
    }
    return pd.DataFrame(rows), meta


def _peak_hourly_pue(frame):
    hourly = frame.set_index("timestamp")[["facility_power_w", "it_power_w"]].resample("1h").mean()
    return float((hourly["facility_power_w"] / hourly["it_power_w"]).max())
