"""The bundled quickstart end to end through the CLI: results contract, published ranges, determinism."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

from twin.cli import main
from twin.sites.library import load_site

QUICKSTART = str(SCENARIOS / "quickstart.yaml")
CONTRACT_COLUMNS = [
    "timestamp",
    "it_power_w",
    "cooling_power_w",
    "power_chain_loss_w",
    "other_power_w",
    "facility_power_w",
    "outdoor_drybulb_c",
    "outdoor_wetbulb_c",
    "grid_carbon_g_per_kwh",
    "price_usd_per_kwh",
    "water_direct_m3",
    "water_indirect_m3",
    "carbon_kg",
    "cost_usd",
    "tokens",
]


@pytest.fixture(scope="module")
def quickstart_runs(tmp_path_factory):
    """The quickstart run twice with the same seed (and its summaries)."""
    out = tmp_path_factory.mktemp("runs")
    for name in ("a", "b"):
        assert main(["run", QUICKSTART, "--out", str(out / name), "--no-progress"]) == 0
    return out


def test_results_follow_the_contract(quickstart_runs):
    frame = pd.read_parquet(quickstart_runs / "a" / "timeseries.parquet")
    assert list(frame.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert len(frame) == 7 * 24 * 60
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert frame["timestamp"].is_monotonic_increasing
    summary = json.loads((quickstart_runs / "a" / "summary.json").read_text())
    assert set(summary["totals"]) >= {
        "facility_energy_mwh",
        "it_energy_mwh",
        "water_direct_m3",
        "water_indirect_m3",
        "carbon_t",
        "cost_usd",
        "tokens",
    }
    assert set(summary["kpi"]) >= {"pue", "wue_site_l_per_kwh", "wue_source_l_per_kwh", "cue_kg_per_kwh", "ref", "erf"}
    assert set(summary["saiq"]["components"]) == {"usd_per_token", "mwh_per_token", "tco2e_per_token", "m3_per_token"}
    assert summary["saiq"]["index"] is not None


def test_summary_totals_are_recomputable_from_the_timeseries(quickstart_runs):
    frame = pd.read_parquet(quickstart_runs / "a" / "timeseries.parquet")
    s = json.loads((quickstart_runs / "a" / "summary.json").read_text())
    tokens = frame["tokens"].sum()
    assert s["saiq"]["components"]["mwh_per_token"] == pytest.approx(
        frame["facility_power_w"].sum() * 60 / 3.6e9 / tokens, rel=1e-9
    )
    assert s["saiq"]["components"]["usd_per_token"] == pytest.approx(frame["cost_usd"].sum() / tokens, rel=1e-9)
    assert s["saiq"]["components"]["tco2e_per_token"] == pytest.approx(
        frame["carbon_kg"].sum() / 1000 / tokens, rel=1e-9
    )
    water = frame["water_direct_m3"].sum() + frame["water_indirect_m3"].sum()
    assert s["saiq"]["components"]["m3_per_token"] == pytest.approx(water / tokens, rel=1e-9)


def test_quickstart_week_is_climatically_typical():
    # The PUE/WUE ranges below are annual figures; the quickstart week is comparable only
    # because its mean wet-bulb sits within 0.5 K of the site's annual mean.
    site = load_site("ashburn-va")
    hours = slice((117 - 1) * 24, (117 - 1 + 7) * 24)  # 27 April 2023 = day 117
    assert abs(site.wetbulb_c[hours].mean() - site.wetbulb_c.mean()) < 0.5


def test_pue_in_published_range_for_waterside_economiser_tower_plant(quickstart_runs):
    # Lei & Masanet (2022), hourly model as used by LBNL 2024 (Shehabi et al.): large-scale
    # air-cooled "waterside economiser + towers + water-cooled chillers", PUE P5-P95 1.07-1.18
    # over 15 US climate zones.
    pue = json.loads((quickstart_runs / "a" / "summary.json").read_text())["kpi"]["pue"]
    assert 1.07 <= pue <= 1.18


def test_wue_in_measured_range_for_tower_cooled_facility_in_similar_climate(quickstart_runs):
    # MGHPCC, Holyoke MA (climate 5A, cooling towers + water-side economiser): measured
    # monthly WUE 1.3-2.5 L/kWh_IT (Sharma et al. 2017).
    wue = json.loads((quickstart_runs / "a" / "summary.json").read_text())["kpi"]["wue_site_l_per_kwh"]
    assert 1.3 <= wue <= 2.5


def test_same_scenario_and_seed_give_identical_timeseries(quickstart_runs):
    a = pd.read_parquet(quickstart_runs / "a" / "timeseries.parquet")
    b = pd.read_parquet(quickstart_runs / "b" / "timeseries.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert (quickstart_runs / "a" / "timeseries.parquet").read_bytes() == (
        quickstart_runs / "b" / "timeseries.parquet"
    ).read_bytes()


def test_another_seed_changes_demand_but_not_the_plant(quickstart_runs, tmp_path):
    assert main(["run", QUICKSTART, "--out", str(tmp_path / "s7"), "--seed", "7", "--no-progress"]) == 0
    a = pd.read_parquet(quickstart_runs / "a" / "timeseries.parquet")
    c = pd.read_parquet(tmp_path / "s7" / "timeseries.parquet")
    assert not np.array_equal(a["tokens"], c["tokens"])
    np.testing.assert_array_equal(a["outdoor_wetbulb_c"], c["outdoor_wetbulb_c"])
    assert json.loads((tmp_path / "s7" / "summary.json").read_text())["seed"] == 7


def test_json_flag_prints_exactly_one_json_document(tmp_path, capsys):
    assert main(["run", QUICKSTART, "--out", str(tmp_path / "j"), "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scenario"] == "quickstart"


def test_the_per_rack_series_adds_up_to_the_facility_and_can_be_left_out(tmp_path):
    """racks.parquet: every rack's hourly means; the racks' IT power adds up to the facility's."""
    import yaml

    data = yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())
    data["duration"] = "2d"
    data["saiq"]["reference"]["scenario"] = str(SCENARIOS / data["saiq"]["reference"]["scenario"])
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    racks = pd.read_parquet(tmp_path / "a" / "racks.parquet")
    steps = pd.read_parquet(tmp_path / "a" / "timeseries.parquet").set_index("timestamp")
    assert len(racks) == 48 * 32 and set(racks["hall"]) == {"hall-a"} and racks["rack_id"].nunique() == 32
    assert racks.groupby("period_start_utc").size().eq(32).all()
    hourly_it = steps["it_power_w"].resample("1h").mean().to_numpy()
    rack_it = racks.groupby("period_start_utc", observed=True)["it_power_w"].sum().to_numpy()
    np.testing.assert_allclose(rack_it, hourly_it, rtol=1e-9)
    hottest = racks.groupby("period_start_utc", observed=True)["gpu_die_temp_c"].max().to_numpy()
    assert (hottest <= steps["gpu_die_temp_c"].resample("1h").max().to_numpy() + 1e-9).all()
    data["results"] = {"rack_series": "none"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert not (tmp_path / "b" / "racks.parquet").exists()
