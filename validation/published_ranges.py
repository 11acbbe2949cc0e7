"""The twin against published figures: each case prints its source, the published value or
range, the twin's value, the tolerance and pass/fail. Exits 1 if any case fails.

    python validation/published_ranges.py

Issue 3 grows this into `python -m twin validate` with cases for every cooling type and climate.
"""

import sys
from pathlib import Path

import numpy as np

from twin import catalog
from twin.metrics import kpis, totals
from twin.physics import cooling, power
from twin.physics.psychro import wetbulb_from_relhum_c
from twin.pipeline import simulate
from twin.scenario import load_scenario
from twin.sim.plant import chiller_curve

ROOT = Path(__file__).resolve().parents[1]


def cases():
    scenario = load_scenario(ROOT / "scenarios" / "quickstart.yaml")
    frame = simulate(scenario)
    t = totals(frame, scenario.step_s)
    k = kpis(t)
    ups_loss = power.converter_loss_w(0.5, 1.0, *catalog.load("power_chain")["ups_modes"]["double_conversion"])
    curve = chiller_curve(catalog.load("cooling")["air"]["chiller_curve"])
    chiller_w = cooling.chiller_power_eir_w(2.124e6, 8.89, 23.89, 2.124e6, 1, curve)[0]
    evap_kg_per_kwh = frame["water_evaporation_m3"].sum() * cooling.WATER_DENSITY_KG_M3 / (
        frame["heat_rejected_w"].sum() * scenario.step_s / 3.6e6)
    year = scenario.model_copy(update={"start": scenario.start.replace(month=1, day=1), "duration": "1y", "step": "15m"})
    year_frame = simulate(year)
    pue_year = kpis(totals(year_frame, year.step_s))["pue"]
    tw = wetbulb_from_relhum_c(np.array([20.0]), np.array([0.5]), np.array([101325.0]))[0]
    return [
        ("quickstart PUE, air + WSE + towers + water-cooled chillers",
         "Lei & Masanet 2022 hourly model (LBNL 2024), P5-P95 over 15 US climate zones", (1.07, 1.18), k["pue"]),
        ("quickstart design over a full year, annual PUE",
         "LBNL 2024 (Shehabi et al.), hyperscale 2023 PUE 10th-90th percentile", (1.16, 1.28), pue_year),
        ("quickstart WUE site [L/kWh_IT], tower-cooled",
         "MGHPCC Holyoke MA measured monthly WUE (Sharma et al. 2017)", (1.3, 2.5), k["wue_site_l_per_kwh"]),
        ("tower evaporation [kg per kWh rejected]",
         "latent-heat bound Q/h_fg = 1.48; rule E = 0.00085 Range Q (85 % latent), checalc", (1.0, 1.48), evap_kg_per_kwh),
        ("UPS efficiency at 50 % load, double conversion",
         "Eaton 9395XR 97.5 %, Schneider Galaxy VS up to 97 %; LBNL 2024 hyperscale 90-99 %", (0.94, 0.975),
         0.5 / (0.5 + ups_loss)),
        ("chiller COP at AHRI rating point (McQuay PFH 2124 kW)",
         "EnergyPlus Chillers.idf reference COP 6.03, curves normalised to +/-2 %", (6.03 * 0.98, 6.03 * 1.02),
         2.124e6 / chiller_w),
        ("wet-bulb at 20 C, 50 % RH, sea level [C]",
         "Stull 2011, J. Appl. Meteor. Climatol. 50:2267 (13.7 C)", (13.6, 13.8), tw),
    ]


def main():
    rows = cases()
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'published':>15}  {'twin':>9}  result  source")
    failed = 0
    for name, source, (lo, hi), value in rows:
        ok = lo <= value <= hi
        failed += not ok
        print(f"{name:<{width}}  {lo:>7.4g}..{hi:<7.4g}  {value:>9.4g}  {'pass' if ok else 'FAIL':<6}  {source}")
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
