"""Site series: alignment on the UTC hour-of-year axis, and the user's own grid file."""

import numpy as np
import pandas as pd

from conftest import short_scenario
from twin.pipeline import simulate
from twin.scenario import load_scenario_text
from twin.sites.library import load_site
from twin.sites.readers import hour_of_year_index

import yaml


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
    pd.DataFrame({"timestamp_utc": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "carbon_g_per_kwh": site.carbon_g_per_kwh,
                  "price_usd_per_kwh": site.price_usd_per_kwh, "water_l_per_kwh": site.water_l_per_kwh}
                 ).to_csv(tmp_path / "grid.csv", index=False)
    bundled = short_scenario()
    own = short_scenario()
    own["site"]["grid_file"] = "grid.csv"
    a = simulate(load_scenario_text(yaml.safe_dump(bundled), base_dir=tmp_path))
    b = simulate(load_scenario_text(yaml.safe_dump(own), base_dir=tmp_path))
    pd.testing.assert_frame_equal(a, b)
