"""SAIQ complete: cost with demand charges and capex by cooling type, embodied carbon, token basis,
monthly SAIQ, and every component recomputable from timeseries.parquet."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import short_scenario, write_yaml

from twin import catalog
from twin.pipeline import simulate
from twin.scenario import Scenario, ScenarioError, load_scenario_text
from twin.sim.accounting import SECONDS_PER_YEAR


def _full(**saiq):
    data = short_scenario(duration="14d", step="300s", start="2023-06-24")  # crosses into July
    data["workload"]["inference"]["trace"] = "azure-conv"
    data["economics"]["demand_charge_usd_per_kw_month"] = 15.0
    data["saiq"].update(saiq)
    return data


def test_the_four_components_are_recomputable_from_the_timeseries(tmp_path):
    scenario = write_yaml(tmp_path / "s.yaml", _full(token_basis="input_and_output", embodied_carbon=True))
    proc = subprocess.run(
        [sys.executable, "-m", "twin", "run", str(scenario), "--out", str(tmp_path / "out"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    f = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    step_s = 300.0
    tokens = f["tokens"].sum() + f["tokens_input"].sum()
    recomputed = {
        "usd_per_token": f["cost_usd"].sum() / tokens,
        "mwh_per_token": f["facility_power_w"].sum() * step_s / 3.6e9 / tokens,
        "tco2e_per_token": (f["carbon_kg"].sum() + f["carbon_embodied_kg"].sum()) / 1000.0 / tokens,
        "m3_per_token": (f["water_direct_m3"].sum() + f["water_indirect_m3"].sum()) / tokens,
    }
    for key, value in recomputed.items():
        assert summary["saiq"]["components"][key] == pytest.approx(value, rel=1e-9), key
    assert summary["saiq"]["units"] == {
        "usd_per_token": "USD/token",
        "mwh_per_token": "MWh/token",
        "tco2e_per_token": "tCO2e/token",
        "m3_per_token": "m3/token",
    }
    w = summary["saiq"]["weights"]
    assert summary["saiq"]["raw"] == pytest.approx(
        sum(w[f"w{i}"] * summary["saiq"]["components"][k] for i, k in enumerate(recomputed, 1)), rel=1e-12
    )
    # the cost column holds every cost: energy, water, demand charges, amortised capex and fixed opex
    parts = f[["energy_cost_usd", "water_cost_usd", "fixed_cost_usd", "demand_charge_usd"]].sum(axis=1)
    np.testing.assert_allclose(f["cost_usd"], parts, rtol=1e-12)
    # monthly SAIQ from the rows of each month
    months = summary["saiq"]["monthly"]
    assert [m["month"] for m in months] == ["2023-06", "2023-07"]
    june = f[f["timestamp"].dt.month == 6]
    assert months[0]["components"]["usd_per_token"] == pytest.approx(
        june["cost_usd"].sum() / (june["tokens"].sum() + june["tokens_input"].sum()), rel=1e-9
    )


def test_a_demand_charge_is_the_months_peak_times_the_rate_prorated():
    f = simulate(Scenario.model_validate(_full()))
    for _, part in f.groupby(f["timestamp"].dt.month):
        days_in_month = part["timestamp"].dt.days_in_month.iloc[0]
        share = len(part) * 300.0 / (days_in_month * 86400.0)
        assert part["demand_charge_usd"].sum() == pytest.approx(
            part["grid_import_w"].max() / 1000.0 * 15.0 * share, rel=1e-12
        )


def test_embodied_carbon_is_amortised_over_service_lives():
    scenario = Scenario.model_validate(_full(embodied_carbon=True))
    f = simulate(scenario)
    embodied = catalog.load("embodied")
    hall = scenario.facility.halls[0]
    servers = hall.rack_count * hall.servers_per_rack
    from twin.sim.plant import Plant
    from twin.sites.library import load_site

    design_mw = Plant(scenario, load_site(scenario.site.name)).design_it_w / 1e6
    per_year = (
        servers * embodied["server_kgco2e"]["H100-SXM"] / 6.0 + embodied["facility_kgco2e_per_mw_it"] * design_mw / 20.0
    )
    assert f["carbon_embodied_kg"].sum() == pytest.approx(per_year * 14 / 365.0, rel=1e-9)
    assert per_year * 14 / 365.0 == pytest.approx(f["carbon_embodied_kg"].iloc[0] * len(f), rel=1e-9)
    assert SECONDS_PER_YEAR == 365 * 86400


def test_counting_prompt_tokens_and_embodied_carbon_moves_the_components_the_right_way():
    base = simulate(Scenario.model_validate(_full()))
    from twin.metrics import saiq_components, totals

    t = totals(base, 300)
    out = saiq_components(t)
    both = saiq_components(t, token_basis="input_and_output", embodied_carbon=True)
    trace = catalog.load("demand_traces")["azure-conv"]
    ratio = sum(trace["input_tokens"]) / sum(trace["output_tokens"])
    assert both["mwh_per_token"] == pytest.approx(out["mwh_per_token"] / (1.0 + ratio), rel=1e-9)
    assert both["tco2e_per_token"] * (1.0 + ratio) > out["tco2e_per_token"]


def test_liquid_cooling_costs_more_per_mw_than_air():
    capex = catalog.load("economics")["facility_capex_usd_per_mw_it"]
    assert capex["direct_to_chip"] > capex["air"] and capex["immersion"] >= capex["air"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda d: d["saiq"].update(token_basis="input_and_output"),
            "token_basis 'input_and_output' needs workload.inference.trace",
        ),
        (
            lambda d: (
                d["facility"]["halls"][0].update(gpu="MI300X", gpus_per_server=8),
                d["workload"]["inference"].update(tokens_per_gpu_s=1500.0),
            ),
            "gpu 'MI300X' has no server price in the catalog",
        ),
        (
            lambda d: (
                d["saiq"].update(embodied_carbon=True),
                d["facility"]["halls"][0].update(gpu="H100-PCIe"),
                d["workload"]["inference"].update(tokens_per_gpu_s=900.0),
            ),
            "saiq.embodied_carbon: facility.halls\\[0\\].gpu 'H100-PCIe' has no embodied carbon",
        ),
    ],
)
def test_what_the_saiq_cannot_count_is_refused(edit, message):
    data = short_scenario()
    edit(data)
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(yaml.safe_dump(data))


def test_the_reference_is_counted_the_scenarios_way(tmp_path):
    from conftest import SCENARIOS

    from twin.pipeline import execute
    from twin.scenario import load_scenario

    data = yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())
    data.update(duration="1d", step="300s")
    data["workload"]["inference"]["trace"] = "azure-conv"
    data["saiq"]["token_basis"] = "input_and_output"
    (tmp_path / "reference-legacy.yaml").write_text((SCENARIOS / "reference-legacy.yaml").read_text())
    path = write_yaml(tmp_path / "q.yaml", data)
    summary = execute(load_scenario(path))[1]
    assert np.isfinite(summary["saiq"]["index"]) and summary["saiq"]["index"] > 0.0
    assert all(np.isfinite(v) and v > 0 for v in summary["saiq"]["reference"].values())
