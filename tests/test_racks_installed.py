"""Racks added by date: a rack group's `installed` day puts it into service; before it its positions are
built for but empty, and the hall's demand falls on the racks already there."""

import numpy as np
from conftest import short_scenario

from twin.pipeline import execute_with_racks
from twin.scenario import Scenario
from twin.sim.engine import Simulation


def _hall(late_day):
    data = short_scenario(duration="3d", step="300s")  # 2023-04-27 .. 2023-04-30
    data["facility"]["halls"][0].update(
        rack_count=32,
        row_count=2,
        racks=[{"count": 16, "servers_per_rack": 4}, {"count": 16, "servers_per_rack": 4, "installed": late_day}],
    )
    data["results"] = {"rack_series": "hourly"}
    return Scenario.model_validate(data)


def test_late_racks_draw_and_serve_nothing_before_their_day():
    frame, summary, racks = execute_with_racks(_hall("2023-04-29"))
    day = frame["timestamp"].dt.floor("D")
    first, last = day == "2023-04-27", day == "2023-04-29"
    # half the racks carry the first day's load: less IT power, and demand they cannot serve
    assert frame.loc[first, "it_power_w"].mean() < 0.8 * frame.loc[last, "it_power_w"].mean()
    served = lambda rows: frame.loc[rows, "tokens"].sum() / frame.loc[rows, "tokens_demanded"].sum()  # noqa: E731
    assert served(first) < 0.9 * served(last)
    # racks.parquet: the late racks' positions are empty (no power) before their day, busy after it
    per_rack = racks.assign(day=racks["period_start_utc"].dt.floor("D"))
    power = per_rack.pivot_table(index="rack_id", columns="day", values="it_power_w", observed=True)
    late = power.iloc[:, 0] == 0.0
    assert late.sum() == 16
    assert (power.loc[late].iloc[:, 2] > 0.0).all() and (power.loc[~late].iloc[:, 0] > 0.0).all()
    assert (racks["tripped_s"] == 0.0).all()  # an empty position is not a tripped rack


def test_racks_installed_before_the_run_are_there_from_its_start():
    before, plain = Simulation(_hall("2023-01-01")), Simulation(_hall(None))
    before.run()
    plain.run()
    np.testing.assert_array_equal(before.ledger.values, plain.ledger.values)
