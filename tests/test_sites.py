"""Site series: alignment on the UTC hour-of-year axis, the bundled sites, irradiance, and the user's own files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import short_scenario

from twin.io.hours import SiteDataError, hour_of_year_index
from twin.io.weather import read_tmy3
from twin.pipeline import simulate
from twin.scenario import load_scenario_text
from twin.sites.index import SITES_DIR, bundled_site_names, site_entry
from twin.sites.library import load_site

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_local_standard_time_maps_to_utc_hours():
    # EPW hour 1 of 1 January at UTC-5 is 01:00 local = 06:00 UTC
    assert hour_of_year_index(np.array([1]), np.array([1]), -5.0)[0] == 6
    # the last hour of the year local wraps to the first UTC hours
    assert hour_of_year_index(np.array([365]), np.array([24]), -5.0)[0] == 5


def test_ashburn_is_warmest_in_the_local_afternoon():
    site = load_site("ashburn-va")
    by_utc_hour = site.drybulb_c.reshape(365, 24).mean(axis=0)
    warmest_local = (int(np.argmax(by_utc_hour)) + site.utc_offset_h) % 24
    assert 13 <= warmest_local <= 17


def test_user_grid_file_with_the_bundled_values_reproduces_the_bundled_run(tmp_path):
    site = load_site("ashburn-va")
    stamps = pd.date_range("2023-01-01", periods=8760, freq="h", tz="UTC")
    pd.DataFrame(
        {
            "timestamp_utc": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "carbon_g_per_kwh": site.carbon_g_per_kwh,
            "price_usd_per_kwh": site.price_usd_per_kwh,
            "water_l_per_kwh": site.water_l_per_kwh,
        }
    ).to_csv(tmp_path / "grid.csv", index=False)
    bundled = short_scenario()
    own = short_scenario()
    own["site"]["grid_file"] = "grid.csv"
    a = simulate(load_scenario_text(yaml.safe_dump(bundled), base_dir=tmp_path))
    b = simulate(load_scenario_text(yaml.safe_dump(own), base_dir=tmp_path))
    pd.testing.assert_frame_equal(a, b)


# --- bundled site library: every site, irradiance, and the readers behind them -------------

ALL_SITES = bundled_site_names()
SERIES = (
    "drybulb_c",
    "wetbulb_c",
    "carbon_g_per_kwh",
    "water_l_per_kwh",
    "price_usd_per_kwh",
    "ghi_w_m2",
    "dni_w_m2",
    "dhi_w_m2",
)


def _local_hour(site):
    """Local standard hour of each UTC hour-of-year stamp (0 = the stamp at local midnight; half-hour zones round down)."""
    return np.floor(np.arange(8760) % 24 + site.utc_offset_h).astype(int) % 24


def _by_local_hour(site, values):
    hour = _local_hour(site)
    return np.array([values[hour == h].mean() for h in range(24)])


def test_the_library_spans_twenty_sites_five_continents_and_five_climates():
    entries = [site_entry(n) for n in ALL_SITES]
    assert len(entries) >= 20
    assert len({e["continent"] for e in entries}) >= 5
    assert {e["climate_type"] for e in entries} == {"hot-dry", "hot-humid", "temperate", "marine", "cold"}


@pytest.mark.parametrize("name", ALL_SITES)
def test_site_loads_with_8760_finite_values_and_named_sources(name):
    site = load_site(name)
    for series in SERIES:
        values = getattr(site, series)
        assert isinstance(values, np.ndarray) and values.dtype.kind == "f", series
        assert values.shape == (8760,), series
        assert np.isfinite(values).all(), series
    assert (site.wetbulb_c <= site.drybulb_c + 1e-6).all()
    assert site.timezone and np.isfinite(site.elevation_m) and site.water_price_usd_per_m3 > 0
    assert set(site.sources) == {"weather", "carbon", "water", "price", "water_price"}
    for key in ("weather", "carbon", "water"):  # each series names the file it was read from
        assert "shared/data/" in site.sources[key] or "PyPI sdist" in site.sources[key], key
    entry = site_entry(name)
    # a series that is not measured at the site says so
    if entry["weather_basis"].startswith("ERA5"):
        assert "reanalysis, not a station record" in site.sources["weather"]
    if np.ptp(site.carbon_g_per_kwh) == 0:
        assert "held constant, no hourly series available" in site.sources["carbon"]
    if np.ptp(site.price_usd_per_kwh) == 0:
        assert "held flat" in site.sources["price"] or "flat tariff" in site.sources["price"]


@pytest.mark.parametrize("name", ALL_SITES)
def test_diurnal_drybulb_peak_is_in_the_local_afternoon(name):
    """Weather stamped in local (standard) time, grid in UTC, the run in UTC: misaligned time
    zones would put the warmest hour at night."""
    site = load_site(name)
    assert 12 <= int(np.argmax(_by_local_hour(site, site.drybulb_c))) <= 17


@pytest.mark.parametrize(
    "name, lo, hi",
    [("singapore", 26.0, 29.0), ("stockholm-se", 5.0, 9.0), ("phoenix-az", 23.0, 26.0), ("toronto-ca", 7.0, 11.0)],
)
def test_annual_mean_drybulb(name, lo, hi):
    assert lo <= load_site(name).drybulb_c.mean() <= hi


@pytest.mark.parametrize("name", ALL_SITES)
def test_ghi_is_dark_at_local_midnight_and_peaks_near_solar_noon(name):
    site = load_site(name)
    assert (site.ghi_w_m2[_local_hour(site) == 0] == 0.0).all()
    profile = _by_local_hour(site, site.ghi_w_m2)
    peak = int(np.argmax(profile))
    # solar noon in local standard time (equation of time ignored, < 0.3 h); the stamps are
    # hour-ending, so the brightest stamp sits about half an hour after it
    solar_noon = 12.0 - (site.longitude / 15.0 - site.utc_offset_h)
    assert abs(peak - (solar_noon + 0.5)) <= 1.5
    assert (site.dni_w_m2 >= 0).all() and (site.dhi_w_m2 <= site.ghi_w_m2 + 1.0).mean() > 0.99


def test_stockholm_flat_series_are_labelled_as_such():
    site = load_site("stockholm-se")
    assert (
        np.ptp(site.carbon_g_per_kwh) == 0 and np.ptp(site.water_l_per_kwh) == 0 and np.ptp(site.price_usd_per_kwh) == 0
    )
    assert "held constant, no hourly series available" in site.sources["carbon"]
    assert "SE3" in site.sources["price"] and "held flat" in site.sources["price"]
    assert "annual constant" in site.sources["water"]


def test_singapore_carbon_is_the_direct_hourly_series():
    site = load_site("singapore")
    assert "direct (operational)" in site.sources["carbon"] and np.ptp(site.carbon_g_per_kwh) > 0
    assert "annual constant" in site.sources["water"]


@pytest.mark.skipif(not (SHARED / "weather" / "openmeteo_hourly_greendcc").is_dir(), reason="shared/data not present")
def test_reanalysis_weather_is_shifted_from_its_fixed_query_offset_to_utc():
    """Open-Meteo's time_local is UTC + the offset at query time (no DST): Sydney's was +11 h
    (summer time), so its 2023-01-01T00:00 row is 2022-12-31 13:00 UTC -> hour-of-year 8749."""
    raw = pd.read_csv(SHARED / "weather" / "openmeteo_hourly_greendcc" / "AU-NSW_2023.csv")
    site = pd.read_parquet(SITES_DIR / "data" / "sydney-au.parquet")
    assert site["drybulb_c"].iloc[8749] == pytest.approx(raw["temperature_2m_degC"].iloc[0], abs=1e-4)
    assert site["drybulb_c"].iloc[11] == pytest.approx(raw["temperature_2m_degC"].iloc[22], abs=1e-4)


def _write_tmy3(path, utc_offset_h=-6.0, drybulb=None):
    """A minimal TMY3 (header line, column line, 8,760 hour-ending rows) with only the columns read."""
    days = pd.date_range("1990-01-01", periods=365, freq="D")
    dates = np.repeat(days.strftime("%m/%d/%Y"), 24)
    hours = np.tile(np.arange(1, 25), 365)
    db = np.tile(np.arange(1, 25, dtype=float), 365) if drybulb is None else drybulb
    ghi = np.where((hours >= 8) & (hours <= 17), 500, 0)
    frame = pd.DataFrame(
        {
            "Date (MM/DD/YYYY)": dates,
            "Time (HH:MM)": [f"{h:02d}:00" for h in hours],
            "GHI (W/m^2)": ghi,
            "DNI (W/m^2)": ghi,
            "DHI (W/m^2)": ghi // 5,
            "Dry-bulb (C)": db,
            "Dew-point (C)": db - 5.0,
            "RHum (%)": 70,
            "Pressure (mbar)": 1013,
        }
    )
    with open(path, "w") as fh:
        fh.write(f'722430,"TEST STATION",TX,{utc_offset_h},30.0,-95.4,29\n')
        frame.to_csv(fh, index=False)
    return path


def test_tmy3_local_standard_hour_ending_maps_to_utc_like_epw(tmp_path):
    frame, meta = read_tmy3(_write_tmy3(tmp_path / "x.tmy3"))
    assert len(frame) == 8760 and meta["utc_offset_h"] == -6.0 and meta["elevation_m"] == 29.0
    # 1 January 01:00 local (UTC-6) = 07:00 UTC; 31 December 24:00 local wraps to 06:00 UTC
    assert frame["drybulb_c"].iloc[7] == 1.0 and frame["drybulb_c"].iloc[6] == 24.0
    assert frame["pressure_pa"].iloc[0] == 101300.0
    # GHI hour-ending 08..17 local = 14..23 UTC
    assert (frame["ghi_w_m2"].to_numpy().reshape(365, 24)[:, 14:24] == 500).all()
    assert (frame["ghi_w_m2"].to_numpy().reshape(365, 24)[:, :14] == 0).all()


def test_tmy3_out_of_range_value_is_reported(tmp_path):
    db = np.full(8760, 20.0)
    db[100] = -9900.0
    with pytest.raises(SiteDataError, match="drybulb_c has 1 missing or out-of-range"):
        read_tmy3(_write_tmy3(tmp_path / "bad.tmy3", drybulb=db))


def _write_epw(path, utc_offset_h=8.0, ghi_at_local_noon=600.0):
    """A minimal EPW: 8 header lines and 8,760 rows of the 35 EPW fields."""
    head = [
        f"LOCATION,TEST,-,XXX,test,000000,1.37,103.98,{utc_offset_h},16.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,synthetic",
        "COMMENTS 2,synthetic",
        "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
    ]
    rows = []
    for day in pd.date_range("2001-01-01", periods=365, freq="D"):
        for hour in range(1, 25):
            ghi = ghi_at_local_noon if hour == 12 else 0.0
            rows.append(
                f"2001,{day.month},{day.day},{hour},60,?,27.0,24.0,84,100800,0,0,400,{ghi},{ghi / 2},{ghi / 2},"
                "0,0,0,0,180,2.0,5,5,16.0,77777,9,999999999,40,0.1,0,88,0.2,0.0,0.0"
            )
    path.write_text("\n".join(head + rows) + "\n")
    return path


def test_user_epw_provides_irradiance_on_the_utc_axis(tmp_path):
    site = load_site("singapore", weather_file=_write_epw(tmp_path / "own.epw"))
    lit = np.flatnonzero(site.ghi_w_m2)
    assert lit.size == 365 and set(lit % 24) == {4}  # 12:00 local at UTC+8 = 04:00 UTC
    assert site.dni_w_m2[lit].min() == 300.0 and site.dhi_w_m2[lit].min() == 300.0
    assert site.timezone == "UTC+08:00" and site.elevation_m == 16.0
    assert site.sources["weather"].startswith("user EPW")
    # the grid series stay the bundled ones
    np.testing.assert_array_equal(site.carbon_g_per_kwh, load_site("singapore").carbon_g_per_kwh)


def test_user_epw_missing_irradiance_marker_is_reported(tmp_path):
    with pytest.raises(SiteDataError, match="ghi_w_m2 has 365 missing or out-of-range"):
        load_site("singapore", weather_file=_write_epw(tmp_path / "own.epw", ghi_at_local_noon=9999.0))


def test_user_tmy3_weather_file_is_read_as_tmy3(tmp_path):
    site = load_site("houston-tx", weather_file=_write_tmy3(tmp_path / "own.tmy3"))
    assert site.sources["weather"].startswith("user TMY3") and site.timezone == "UTC-06:00"
    assert site.drybulb_c[7] == 1.0


@pytest.mark.skipif(not (SHARED / "weather" / "tmy3_nsrdb").is_dir(), reason="shared/data not present")
def test_read_tmy3_agrees_with_pvlibs_own_time_index():
    import pvlib

    path = SHARED / "weather" / "tmy3_nsrdb" / "TX-Houston_Bush_Intercontinental.tmy3"
    frame, _ = read_tmy3(path)
    data, _ = pvlib.iotools.read_tmy3(path, coerce_year=2001, map_variables=True)
    utc = data.index.tz_convert("UTC")
    hoy = ((utc - pd.Timestamp("2001-01-01", tz="UTC")) // pd.Timedelta("1h")).to_numpy() % 8760
    expected = np.empty(8760)
    expected[hoy] = data["temp_air"].to_numpy()
    np.testing.assert_array_equal(frame["drybulb_c"].to_numpy(), expected)
    # and the bundled Houston file carries exactly these values
    np.testing.assert_allclose(load_site("houston-tx").drybulb_c, expected.astype(np.float32))


def test_onsite_solar_and_battery_cut_daytime_grid_import_and_carbon():
    from conftest import short_scenario

    from twin.metrics import kpis, totals
    from twin.pipeline import simulate
    from twin.scenario import Scenario

    base = short_scenario(start="2023-06-21")
    plain = simulate(Scenario.model_validate(base))
    base["facility"]["onsite"] = {"solar_mw_dc": 3.0, "battery_mwh": 2.0, "battery_mw": 1.0}
    scenario = Scenario.model_validate(base)
    f = simulate(scenario)
    noon_local = f["timestamp"].dt.tz_convert("America/New_York").dt.hour == 13
    assert (f.loc[noon_local, "solar_power_w"] > 0.0).all()
    assert (f.loc[noon_local, "grid_import_w"] < f.loc[noon_local, "facility_power_w"]).all()
    night = f["timestamp"].dt.tz_convert("America/New_York").dt.hour.between(1, 4)
    assert f.loc[night, "solar_power_w"].eq(0.0).all()
    assert (f["battery_power_w"] > 0.0).any() and (f["battery_power_w"] < 0.0).any()
    k = kpis(totals(f, scenario.step_s))
    assert 0.0 < k["ref"] < 1.0
    assert f["carbon_kg"].sum() < plain["carbon_kg"].sum()
    assert f["facility_power_w"].sum() == plain["facility_power_w"].sum()  # supply does not change the load
