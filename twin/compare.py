"""The same design at several sites: one run per site on all cores, ranked by SAIQ.

The SAIQ reference is run once and shared, so every site's index is against the same
reference; without a reference the ranking is by SAIQ raw.
"""

import math

import pandas as pd

from twin.metrics import SAIQ_UNITS, rank_by_saiq
from twin.parallel import run_tasks
from twin.pipeline import execute, reference_components
from twin.sites.index import site_entry

CONTRIBUTIONS = {
    "usd_per_token": "contrib_usd",
    "mwh_per_token": "contrib_energy",
    "tco2e_per_token": "contrib_carbon",
    "m3_per_token": "contrib_water",
}
TOTALS = (
    "facility_energy_mwh",
    "it_energy_mwh",
    "cooling_energy_mwh",
    "water_direct_m3",
    "water_indirect_m3",
    "carbon_t",
    "cost_usd",
    "tokens",
)
KPIS = ("pue", "wue_site_l_per_kwh", "wue_source_l_per_kwh", "cue_kg_per_kwh")


def at_site(scenario, site):
    """The scenario with its site replaced by a bundled one (the user's site files dropped)."""
    return scenario.model_copy(
        update={"site": scenario.site.model_copy(update={"name": site, "weather_file": None, "grid_file": None})}
    )


def _run_site(scenario, site, reference):
    """Worker: summary and monthly PUE of the design at one site."""
    frame, summary = execute(at_site(scenario, site), reference=reference)
    month = frame["timestamp"].dt.month
    monthly = frame.groupby(month)["facility_power_w"].sum() / frame.groupby(month)["it_power_w"].sum()
    return site, summary, {int(m): float(v) for m, v in monthly.items()}


def _row(site, summary):
    s, t, k = summary["saiq"], summary["totals"], summary["kpi"]
    w = [s["weights"][f"w{i}"] for i in (1, 2, 3, 4)]
    ref = s["reference"]
    entry = site_entry(site)
    row = {
        "site": site,
        "title": entry["title"],
        "continent": entry["continent"],
        "climate_type": entry["climate_type"],
        "saiq_index": s["index"] if s["index"] is not None else math.nan,
        "saiq_raw": s["raw"],
    }
    row.update(s["components"])
    for wi, (comp, col) in zip(w, CONTRIBUTIONS.items()):
        row[col] = wi * s["components"][comp] / (ref[comp] if ref else 1.0)
    row.update({key: k[key] for key in KPIS})
    row.update({key: t[key] for key in TOTALS})
    return row


def compare(scenario, sites, workers=None, on_done=None):
    """Run the scenario's design at each site -> (comparison frame ranked best first,
    monthly PUE frame [month x site], meta dict, {site: summary})."""
    reference = reference_components(scenario)
    results = {}

    def done(site, result, error):
        if error is not None:
            raise error
        name, summary, monthly = result
        results[name] = (summary, monthly)
        if on_done:
            on_done(len(results), len(sites))

    run_tasks(_run_site, [(site, (scenario, site, reference)) for site in sites], workers, done)
    table, ranked_by = rank_by_saiq(pd.DataFrame([_row(site, results[site][0]) for site in sites]), "site")
    table.insert(0, "rank", range(1, len(table) + 1))
    monthly_pue = pd.DataFrame({site: pd.Series(results[site][1]) for site in table["site"]})
    monthly_pue.index.name = "month"
    ref = scenario.saiq.reference
    meta = {
        "scenario": scenario.name,
        "weights": scenario.saiq.weights.model_dump(),
        "ranked_by": ranked_by,
        "period": f"{scenario.start.isoformat()} + {scenario.duration} at {scenario.step} steps (UTC)",
        "reference": None if ref is None else (str(ref.scenario) if ref.scenario else "given components"),
        "reference_components": reference,
        "units": SAIQ_UNITS,
    }
    return table, monthly_pue, meta, {site: results[site][0] for site in sites}
