"""Siting: the same design at several sites (twin compare), and a user's own site files end to end."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, short_scenario, write_yaml

from twin.compare import compare
from twin.scenario import Scenario
from twin.sites.library import load_site

HELSINKI_EPW = ROOT / "tests" / "data" / "FIN_Helsinki.029740_IWEC.epw.gz"


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "twin", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _year(sites, **weights):
    data = short_scenario(duration="1y", step="3600s", start="2023-01-01", sites=list(sites))
    data["economics"].pop("water_price_usd_per_m3", None)  # each site's own water price
    if weights:
        data["saiq"]["weights"] = weights
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def year_at_four_sites():
    table, monthly, meta, summaries = compare(
        _year(["stockholm-se", "mumbai-in", "phoenix-az", "singapore"]),
        ["stockholm-se", "mumbai-in", "phoenix-az", "singapore"],
        workers=2,
    )
    return table.set_index("site"), monthly, meta, summaries


def test_a_cold_low_carbon_grid_beats_a_hot_coal_heavy_one_on_carbon_and_cooling(year_at_four_sites):
    table = year_at_four_sites[0]
    nordic, hot = table.loc["stockholm-se"], table.loc["mumbai-in"]
    assert nordic["carbon_t"] < 0.1 * hot["carbon_t"]
    assert nordic["cooling_energy_mwh"] < 0.7 * hot["cooling_energy_mwh"]
    assert nordic["pue"] < hot["pue"]


def test_evaporative_cooling_in_the_hot_dry_site_uses_the_most_direct_water(year_at_four_sites):
    table = year_at_four_sites[0]
    assert table["water_direct_m3"].idxmax() == "phoenix-az"
    assert table["wue_site_l_per_kwh"].idxmax() == "phoenix-az"


def test_ranking_is_sorted_and_components_add_up(year_at_four_sites):
    table, monthly, meta, summaries = year_at_four_sites
    assert meta["ranked_by"] == "saiq_raw"  # no reference in this scenario
    ranked = table.sort_values("rank")
    assert ranked["saiq_raw"].is_monotonic_increasing
    contributions = ranked[["contrib_usd", "contrib_energy", "contrib_carbon", "contrib_water"]].sum(axis=1)
    np.testing.assert_allclose(contributions, ranked["saiq_raw"], rtol=1e-12)
    assert list(monthly.index) == list(range(1, 13)) and set(monthly.columns) == set(table.index)
    # each site's summary names the sources of its series
    assert "SE3" in summaries["stockholm-se"]["site_sources"]["price"]


def test_weights_in_the_scenario_flip_the_ranking():
    """Carbon-weighted, the Swedish grid wins; water-weighted (source water: Swedish hydro
    evaporates 7.5 L/kWh), Mumbai's does."""
    sites = ["stockholm-se", "mumbai-in"]
    carbon = compare(_year(sites, w1=0.0, w2=0.0, w3=1.0, w4=0.0), sites, workers=1)[0]
    water = compare(_year(sites, w1=0.0, w2=0.0, w3=0.0, w4=1.0), sites, workers=1)[0]
    assert list(carbon["site"]) == ["stockholm-se", "mumbai-in"]
    assert list(water["site"]) == ["mumbai-in", "stockholm-se"]


@pytest.mark.slow
def test_compare_through_the_cli_writes_the_three_files(tmp_path):
    data = short_scenario(duration="2d", step="900s", sites=["ashburn-va", "stockholm-se", "singapore"])
    scenario = write_yaml(tmp_path / "siting.yaml", data)
    proc = _run(["compare", str(scenario), "--out", str(tmp_path / "cmp"), "--json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert [r["rank"] for r in document["ranking"]] == [1, 2, 3]
    assert {r["site"] for r in document["ranking"]} == {"ashburn-va", "stockholm-se", "singapore"}
    frame = pd.read_parquet(tmp_path / "cmp" / "comparison.parquet")
    assert list(frame["site"]) == [r["site"] for r in document["ranking"]]
    html = (tmp_path / "cmp" / "report.html").read_text()
    assert html.count("<svg") >= 2 and "stockholm-se" in html
    # --sites overrides the scenario's list
    proc = _run(
        ["compare", str(scenario), "--sites", "singapore,seattle-wa", "--out", str(tmp_path / "two")], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert set(pd.read_parquet(tmp_path / "two" / "comparison.parquet")["site"]) == {"singapore", "seattle-wa"}


def test_compare_refuses_an_unknown_site_with_a_suggestion(tmp_path):
    scenario = write_yaml(tmp_path / "s.yaml", short_scenario())
    proc = _run(
        ["compare", str(scenario), "--sites", "stockholm,singapore", "--out", str(tmp_path / "o")], cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "unknown site 'stockholm' (did you mean 'stockholm-se'?)" in proc.stderr
    assert not (tmp_path / "o").exists()
    proc = _run(["compare", str(scenario), "--out", str(tmp_path / "o")], cwd=tmp_path)
    assert proc.returncode == 2 and "no sites to compare" in proc.stderr


@pytest.mark.slow
def test_sites_command_lists_the_library_and_shows_one_site():
    proc = _run(["sites", "--json"], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) >= 20 and len({r["continent"] for r in rows}) >= 5
    assert all(set(r["sources"]) >= {"weather", "carbon", "water", "price"} for r in rows)
    proc = _run(["sites", "phoenix-az"], cwd=ROOT)
    assert proc.returncode == 0 and "EIA Electric Power Annual 2023" in proc.stdout
    proc = _run(["sites", "phonix-az"], cwd=ROOT)
    assert proc.returncode == 2 and "did you mean 'phoenix-az'" in proc.stderr


# --- bring your own site ---------------------------------------------------------------------


def _grid_csv(path, site="stockholm-se", water=True, edit=None):
    """A grid CSV in the documented columns, from a bundled site's series, optionally edited."""
    s = load_site(site)
    frame = pd.DataFrame(
        {
            "timestamp_utc": pd.date_range("2023-01-01", periods=8760, freq="h", tz="UTC").strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "carbon_g_per_kwh": s.carbon_g_per_kwh,
            "price_usd_per_kwh": s.price_usd_per_kwh,
        }
    )
    if water:
        frame["water_l_per_kwh"] = s.water_l_per_kwh
    if edit:
        frame = edit(frame)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def helsinki_epw(tmp_path):
    path = tmp_path / "FIN_Helsinki.029740_IWEC.epw"
    path.write_bytes(gzip.decompress(HELSINKI_EPW.read_bytes()))
    return path


@pytest.mark.slow
def test_a_user_epw_of_a_place_not_in_the_library_runs_end_to_end(tmp_path, helsinki_epw):
    data = short_scenario(duration="7d", step="900s", start="2023-07-01")
    data["site"] = {"weather_file": helsinki_epw.name, "grid_file": _grid_csv(tmp_path / "grid.csv").name}
    scenario = write_yaml(tmp_path / "helsinki.yaml", data)
    proc = _run(["run", str(scenario), "--out", str(tmp_path / "out"), "--json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (
        summary["site_sources"]["weather"].startswith("user EPW") and "HELSINKI" in summary["site_sources"]["weather"]
    )
    frame = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    local = frame["timestamp"].dt.tz_convert("Europe/Helsinki")
    warmest = frame.groupby(local.dt.hour)["outdoor_drybulb_c"].mean().idxmax()
    assert 13 <= warmest <= 18  # a July afternoon in Helsinki, local summer time
    assert 10.0 < frame["outdoor_drybulb_c"].mean() < 22.0
    assert (tmp_path / "out" / "report.html").is_file()


def test_a_truncated_epw_is_refused(tmp_path, helsinki_epw, quickstart_copy):
    lines = helsinki_epw.read_text().splitlines()
    helsinki_epw.write_text("\n".join(lines[: 8 + 5000]) + "\n")
    text = quickstart_copy.read_text().replace(
        "  name: ashburn-va ", f"  weather_file: {helsinki_epw}\n  name: ashburn-va ", 1
    )
    quickstart_copy.write_text(text)
    proc = _run(["run", str(quickstart_copy), "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert proc.returncode == 2
    assert "FIN_Helsinki.029740_IWEC.epw: EPW has 5000 hourly rows; a full year of 8760 is required" in proc.stderr
    assert not (tmp_path / "out").exists()


GRID_FAULTS = {
    "gap": (
        lambda f: f.drop(index=100),
        r"grid\.csv: line 102: gap or irregular step: 2023-01-05 05:00 follows 2023-01-05 03:00 \(line 101\), 120 min",
    ),
    "duplicated_hour": (
        lambda f: pd.concat([f.iloc[:51], f.iloc[50:51], f.iloc[51:]]),
        r"grid\.csv: line 53: duplicated hour 2023-01-03 02:00",
    ),
    "carbon_in_kg": (
        lambda f: f.assign(carbon_g_per_kwh=f["carbon_g_per_kwh"] / 1000.0),
        r"grid\.csv: column carbon_g_per_kwh: largest value 0\.\d+: looks like kg/kWh",
    ),
    "price_per_mwh": (
        lambda f: f.assign(price_usd_per_kwh=f["price_usd_per_kwh"] * 1000.0),
        r"grid\.csv: column price_usd_per_kwh: median \d+.*looks like USD/MWh",
    ),
    "shuffled": (
        lambda f: f.iloc[np.r_[0:10, 11, 10, 12 : len(f)]],
        r"grid\.csv: line 13: timestamp_utc goes back in time",
    ),
    "nan": (
        lambda f: f.assign(price_usd_per_kwh=f["price_usd_per_kwh"].where(f.index != 7)),
        r"grid\.csv: line 9: price_usd_per_kwh is missing \(empty or not a number\)",
    ),
}


@pytest.mark.parametrize("fault", sorted(GRID_FAULTS))
def test_a_faulty_grid_csv_is_refused_with_what_and_where(fault, tmp_path, quickstart_copy):
    import re

    edit, pattern = GRID_FAULTS[fault]
    _grid_csv(tmp_path / "grid.csv", edit=edit)
    text = quickstart_copy.read_text().replace("  name: ashburn-va ", "  grid_file: grid.csv\n  name: ashburn-va ", 1)
    quickstart_copy.write_text(text)
    proc = _run(["run", str(quickstart_copy), "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_grid_csv_without_water_takes_the_named_sites_water_factor(tmp_path):
    from twin.sites.library import load_site as load

    site = load("stockholm-se", grid_file=_grid_csv(tmp_path / "grid.csv", site="singapore", water=False))
    np.testing.assert_array_equal(site.water_l_per_kwh, load("stockholm-se").water_l_per_kwh)
    np.testing.assert_array_equal(site.carbon_g_per_kwh, load("singapore").carbon_g_per_kwh)
    assert site.price_basis == "user"


def test_stamps_with_an_offset_are_converted_to_utc(tmp_path):
    from twin.io.grid_csv import read_grid_csv

    def shift(frame):
        stamps = pd.date_range("2023-01-01", periods=8760, freq="h", tz="UTC").tz_convert("Etc/GMT-8")
        return frame.assign(timestamp_utc=stamps.strftime("%Y-%m-%dT%H:%M:%S%z"))

    plain = read_grid_csv(_grid_csv(tmp_path / "a.csv"))
    offset = read_grid_csv(_grid_csv(tmp_path / "b.csv", edit=shift))
    pd.testing.assert_frame_equal(plain, offset)


def test_a_half_hour_time_zone_epw_is_moved_onto_whole_utc_hours(tmp_path, helsinki_epw):
    """EPW stamps at local :00 in a UTC+5:30 zone fall at UTC :30; each whole UTC hour gets the
    mean of its two neighbouring stamps."""
    from twin.io.weather import read_epw

    whole, _ = read_epw(helsinki_epw)  # UTC+2
    lines = helsinki_epw.read_text().splitlines()
    fields = lines[0].split(",")
    fields[8] = "5.5"
    (tmp_path / "half.epw").write_text("\n".join([",".join(fields), *lines[1:]]) + "\n")
    half, meta = read_epw(tmp_path / "half.epw")
    assert meta["utc_offset_h"] == 5.5
    # file row k is local time k+1 h: at UTC+2 that is UTC hour k-1, at UTC+5:30 UTC time k-4.5
    rows = np.roll(whole["drybulb_c"].to_numpy(), 1)  # the file's rows in file order
    expected = 0.5 * (np.roll(rows, -4) + np.roll(rows, -5))  # UTC hour u lies between rows u+4 and u+5
    np.testing.assert_allclose(half["drybulb_c"].to_numpy(), expected, atol=1e-9)


def test_grid_stamps_at_half_past_are_interpolated_onto_whole_hours(tmp_path):
    from twin.io.grid_csv import read_grid_csv

    def half_past(frame):
        stamps = pd.date_range("2023-01-01 00:30", periods=8760, freq="h", tz="UTC").tz_convert("Asia/Kolkata")
        return frame.assign(
            timestamp_utc=stamps.strftime("%Y-%m-%dT%H:%M:%S%z"), carbon_g_per_kwh=100.0 + np.arange(8760) % 2 * 10.0
        )

    grid = read_grid_csv(_grid_csv(tmp_path / "ist.csv", edit=half_past))
    np.testing.assert_allclose(grid["carbon_g_per_kwh"].to_numpy(), 105.0)


def test_a_bad_value_in_a_leap_year_names_its_line_in_the_file(tmp_path):
    from twin.io.grid_csv import read_grid_csv
    from twin.io.hours import SiteDataError

    stamps = pd.date_range("2024-01-01", periods=8784, freq="h", tz="UTC")
    carbon = np.full(8784, 300.0)
    june = int(np.flatnonzero(stamps == pd.Timestamp("2024-06-01", tz="UTC"))[0])
    carbon[june] = -5.0
    pd.DataFrame(
        {"timestamp_utc": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "carbon_g_per_kwh": carbon, "price_usd_per_kwh": 0.05}
    ).to_csv(tmp_path / "leap.csv", index=False)
    with pytest.raises(SiteDataError, match=f"leap.csv: line {june + 2}: carbon_g_per_kwh = '-5.0' is outside"):
        read_grid_csv(tmp_path / "leap.csv")


def test_a_clean_grid_in_g_per_kwh_is_not_mistaken_for_kg(tmp_path):
    from twin.io.grid_csv import read_grid_csv

    grid = read_grid_csv(
        _grid_csv(
            tmp_path / "clean.csv",
            edit=lambda f: f.assign(carbon_g_per_kwh=np.where(np.arange(len(f)) % 50 == 0, 150.0, 0.0)),
        )
    )
    assert grid["carbon_g_per_kwh"].max() == 150.0


def test_summary_names_the_scenarios_own_prices_where_it_sets_them():
    from twin.pipeline import sources_used
    from twin.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "quickstart.yaml")  # water price 2.5 set in the scenario
    sources = sources_used(scenario, load_site("ashburn-va"))
    assert sources["water_price"] == "scenario economics.water_price_usd_per_m3 = 2.5 USD/m3"
    assert "plus scenario economics.price_adder_usd_per_kwh = 0.045" in sources["price"]
    assert "plus scenario" not in sources_used(scenario, load_site("phoenix-az"))["price"]  # a tariff: no adder
    assert "tariff schedule, not a market price" in load_site("johannesburg-za").sources["price"]
