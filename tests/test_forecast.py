"""twin forecast: year-by-year SAIQ under the catalog's storylines."""

import json
import subprocess
import sys

import pytest
from conftest import short_scenario, write_yaml

from twin import catalog
from twin.forecast import forecast
from twin.scenario import Scenario


def test_each_storyline_moves_the_grid_the_weather_and_the_tokens_as_it_says():
    scenario = Scenario.model_validate(short_scenario())
    table, meta = forecast(scenario, 2026, 2030)
    stories = catalog.load("forecast")["storylines"]
    assert set(table["storyline"]) == set(stories) and len(table) == 5 * len(stories)
    for name, rows in table.groupby("storyline"):
        s = stories[name]
        first, last = rows.iloc[0], rows.iloc[-1]
        rate = s.get("grid_carbon_change_by_region", {}).get("US", s["grid_carbon_change_per_year"])  # Ashburn: US PJM
        assert last["grid_carbon_g_per_kwh"] == pytest.approx(
            first["grid_carbon_g_per_kwh"] * (1 + rate) ** 4, rel=1e-9
        )
        # energy per token falls with efficiency; warming nudges PUE up a little, never by the efficiency gain
        ratio = last["mwh_per_token"] / first["mwh_per_token"]
        assert ratio == pytest.approx((1 + s["efficiency_gain_per_year"]) ** -4, rel=0.03)
        assert last["pue"] >= first["pue"] - 1e-9
        assert first["fleet_scale"] == 1.0 and last["fleet_scale"] > 1.0
    low, high = (table[(table.storyline == n) & (table.year == 2030)].iloc[0] for n in ("low", "high"))
    assert low["tco2e_per_token"] < high["tco2e_per_token"]


def test_forecast_through_the_cli(tmp_path):
    scenario = write_yaml(tmp_path / "s.yaml", short_scenario())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin",
            "forecast",
            str(scenario),
            "--years",
            "2026-2027",
            "--storylines",
            "central",
            "--out",
            str(tmp_path / "fc"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["year"] for r in doc["rows"]] == [2026, 2027]
    assert (tmp_path / "fc" / "forecast.parquet").is_file() and "<svg" in (tmp_path / "fc" / "report.html").read_text()
    bad = subprocess.run(
        [sys.executable, "-m", "twin", "forecast", str(scenario), "--years", "2035-2026", "--storylines", "centrl"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "--years '2035-2026'" in bad.stderr and "unknown storyline 'centrl' (did you mean 'central'?)" in bad.stderr


def test_regional_rates_apply_to_their_regions_only():
    from twin.forecast import grid_carbon_change

    central = catalog.load("forecast")["storylines"]["central"]
    assert grid_carbon_change(central, "US PJM") == -0.115
    assert grid_carbon_change(central, "Germany-Luxembourg (DE-LU)") == -0.036
    assert grid_carbon_change(central, None) == -0.036
