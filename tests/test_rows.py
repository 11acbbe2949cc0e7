"""Every rack its own unit, every row its own cooling units: a failed CDU heats its own row only, the
heat of every row's loops balances every step, and racks.parquet has one row per rack per period."""

import numpy as np
import pytest
from conftest import short_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.physics.rows import Rows, rows_liquid_gain, rows_liquid_step
from twin.pipeline import execute_with_racks
from twin.scenario import Scenario, ScenarioError
from twin.sim.engine import Simulation


def _hall_10mw(outage=None, ups=None, power_outage=None, **results):
    """A 10 MW direct-to-chip hall (300 racks of 4 DGX H100) in 4 rows, one CDU per row (N: no spare), on
    Houston's hottest August afternoon."""
    data = short_scenario(start="2023-08-01", duration="1d", step="60s")
    data["site"] = {"name": "houston-tx"}
    data["facility"]["halls"] = [
        {"name": "hall-a", "rack_count": 300, "row_count": 4, "servers_per_rack": 4, "gpu": "H100-SXM"}
    ]
    data["facility"]["cooling"] = {"type": "direct_to_chip", "cdu_redundancy": "N", "cdu_unit_kw": 2500}
    data["workload"]["inference"].update(peak_demand_fraction=0.9, trough_demand_fraction=0.5, peak_hour_local=15)
    if outage is not None:
        data["faults"] = {"cooling_outages": [outage]}
    if ups is not None:
        data["facility"]["power_chain"] = {"ups": ups}
    if power_outage is not None:
        data["faults"] = {"power_outages": [power_outage]}
    data["results"] = {"rack_series": "step", **results}
    return Scenario.model_validate(data)


CDU_OF_ROW_2 = {"unit": "cdu", "hall": "hall-a", "row": 2, "units": 1, "start": "2023-08-01T20:00", "duration": "1h"}


@pytest.fixture(scope="module")
def failed_and_healthy():
    return execute_with_racks(_hall_10mw(CDU_OF_ROW_2)), execute_with_racks(_hall_10mw())


def test_a_failed_cdu_heats_and_throttles_its_own_row_only(failed_and_healthy):
    (frame, summary, racks), (base_frame, base_summary, base_racks) = failed_and_healthy
    assert len(racks) == 1440 * 300 and racks["rack_id"].nunique() == 300
    row2 = racks["row"] == "hall-a/row-2"
    # row 2 heats and throttles (or trips) during the outage
    assert racks.loc[row2, "coolant_temp_c"].max() > base_racks.loc[row2, "coolant_temp_c"].max() + 20.0
    lost_s = (racks.loc[row2, "throttled_s"] + racks.loc[row2, "tripped_s"]).sum()
    assert lost_s > 0.0 and (base_racks["throttled_s"] + base_racks["tripped_s"]).sum() == 0.0
    # rows 1, 3, 4 stay within 1 K of the run without the failure, every step
    for column in ("inlet_temp_c", "coolant_temp_c", "gpu_die_temp_c"):
        gap = (racks.loc[~row2, column] - base_racks.loc[~row2, column]).abs().max()
        assert gap < 1.0, (column, gap)
    assert (racks.loc[~row2, "throttled_s"] + racks.loc[~row2, "tripped_s"]).sum() == 0.0
    # the tokens row 2 did not make are counted
    assert summary["totals"]["tokens"] < base_summary["totals"]["tokens"]
    assert summary["totals"]["hours_gpu_throttled"] > 0.0


def test_each_rack_has_one_row_per_period_and_its_own_power(failed_and_healthy):
    _, (frame, _, racks) = failed_and_healthy
    hourly = execute_with_racks(_hall_10mw(rack_series="hourly"))[2]
    assert len(hourly) == 24 * 300
    assert hourly.groupby("period_start_utc").size().eq(300).all()
    # the racks' power adds up to the facility's IT power every step
    per_step = racks.groupby("period_start_utc", observed=True)["it_power_w"].sum().to_numpy()
    np.testing.assert_allclose(per_step, frame["it_power_w"].to_numpy(), rtol=1e-9)


def test_a_row_outage_names_a_row_that_exists():
    with pytest.raises(ValueError, match="hall 'hall-a' has rows 1..4"):
        _hall_10mw({**CDU_OF_ROW_2, "row": 5})
    with pytest.raises(ScenarioError, match="has 1 cdu units"):
        Simulation(_hall_10mw({**CDU_OF_ROW_2, "units": 2}))


@settings(max_examples=200, deadline=None)
@given(
    heat=st.lists(st.floats(0.0, 5e6), min_size=1, max_size=6),
    units=st.floats(0.0, 4.0),
    start=st.floats(20.0, 90.0),
    facility=st.floats(15.0, 45.0),
    dt=st.sampled_from([1.0, 60.0, 900.0]),
)
def test_every_row_loop_balances_its_heat_every_step(heat, units, start, facility, dt):
    """Per cooling unit: heat in = heat passed on + heat stored (C dT / dt), to 1e-9, whatever the load,
    units in service (none included) and step; and the coolant never drops below the facility water when
    heat is flowing in."""
    n = len(heat)
    capacity = np.full(n, 5e6)
    rows = Rows(
        hall=np.zeros(n, dtype=np.int64),
        room_heat_share=np.full(n, 1.0 / n),
        air_heat_capacity_j_per_k=capacity * 30.0,
        crah_unit_capacity_w=np.full(n, 2e5),
        crah_units=np.full(n, 4.0),
        liquid_heat_capacity_j_per_k=capacity * 5.0,
        cdu_unit_ua_w_per_k=np.full(n, 2e5),
        cdu_unit_capacity_w=np.full(n, 1e6),
        cdu_units=np.full(n, 4.0),
        design_it_w=capacity,
        power_limit_w=np.full(n, np.inf),
    )
    coolant = np.full(n, start)
    before = coolant.copy()
    heat_w = np.array(heat)
    in_service = np.full(n, units)
    gain = rows_liquid_gain(rows, in_service, dt)
    passed, stored = rows_liquid_step(rows, coolant, heat_w, in_service, gain, facility, dt)
    kept = rows.liquid_heat_capacity_j_per_k * (coolant - before) / dt
    assert stored == pytest.approx(kept.sum(), rel=1e-9, abs=1e-3)
    assert passed + stored == pytest.approx(heat_w.sum(), rel=1e-9, abs=1e-3)
    assert passed <= units * 1e6 * n + 1e-6 * max(heat_w.sum(), 1.0)  # no more than the CDUs' rating
    if start >= facility:
        assert (coolant >= facility - 1e-9).all()


def test_dense_racks_breathe_hotter_air_with_partial_containment():
    """Half the racks at ~34 kW (4 DGX H100), half at ~120 kW (14), interleaved along two rows with partial
    containment: the dense racks' inlets and dies run hotter; with full containment inlets are the row's."""

    def run(containment):
        data = short_scenario(duration="1d", step="300s")
        data["facility"]["halls"] = [
            {
                "name": "hall-a",
                "gpu": "H100-SXM",
                "rack_count": 40,
                "row_count": 2,
                "servers_per_rack": 4,
                "racks": [{"count": 20, "servers_per_rack": 4}, {"count": 20, "servers_per_rack": 14}],
                "containment": containment,
            }
        ]
        data["results"] = {"rack_series": "hourly"}
        return execute_with_racks(Scenario.model_validate(data))[2]

    racks = run("partial")
    assert len(racks) == 24 * 40 and racks.groupby("period_start_utc").size().eq(40).all()
    dense = racks["it_power_w"] > racks.groupby("period_start_utc")["it_power_w"].transform("median")
    per_rack = racks.groupby("rack_id", observed=True)[["inlet_temp_c", "gpu_die_temp_c", "it_power_w"]].mean()
    heavy = per_rack["it_power_w"] > per_rack["it_power_w"].median()
    assert heavy.sum() == 20 and dense.mean() == pytest.approx(0.5)
    assert per_rack.loc[heavy, "inlet_temp_c"].min() > per_rack.loc[~heavy, "inlet_temp_c"].max() + 0.5
    assert per_rack.loc[heavy, "gpu_die_temp_c"].mean() > per_rack.loc[~heavy, "gpu_die_temp_c"].mean() + 0.5
    assert set(racks["row"]) == {"hall-a/row-1", "hall-a/row-2"}  # the groups are mixed along each row
    assert racks.groupby("row", observed=True)["it_power_w"].max().min() > 90e3
    full = run("full")
    spread = full.groupby("period_start_utc")["inlet_temp_c"].agg(lambda t: t.max() - t.min())
    assert spread.max() < 1e-9  # no recirculation: every rack breathes its row's supply


def test_the_summary_names_the_hottest_rack_and_what_was_never_drawn(failed_and_healthy):
    (frame, summary, racks), _ = failed_and_healthy
    block = summary["racks"]
    assert block["racks"] == 300 and block["rows"] == 4
    assert block["hottest_rack"]["rack_id"].startswith("hall-a/row-2/")
    assert block["hottest_rack"]["max_gpu_die_temp_c"] == pytest.approx(racks["gpu_die_temp_c"].max())
    lost = (racks["throttled_s"].sum()) / (300 * 86400.0)
    assert block["rack_hours_throttled_share"] == pytest.approx(lost, rel=1e-9)
    stranded = block["stranded_power"]
    per_rack_peak = racks.groupby("rack_id", observed=True)["it_power_w"].max()
    assert stranded["sum_of_rack_peaks_mw"] == pytest.approx(per_rack_peak.sum() / 1e6, rel=1e-9)
    assert stranded["stranded_at_racks_mw"] > 0.0  # demand peaks at 90 %: a tenth of the provisioned power idles
    assert stranded["provisioned_mw"] == pytest.approx(stranded["provisioned_to_racks_mw"], rel=1e-12)  # a full hall
    assert stranded["provisioned_mw"] > stranded["sum_of_rack_peaks_mw"] >= stranded["sum_of_row_peaks_mw"] - 1e-9
    units = {u["row"]: u for u in block["row_units"]}
    assert units["hall-a/row-2"]["cdu_units"] == 1.0 and 0.0 < units["hall-a/row-1"]["cdu_peak_load_share"] <= 1.0


def _placed(placement, outage=None):
    data = _hall_10mw(outage).model_dump(mode="json", exclude_none=True)
    data["workload"]["inference"].update(placement=placement, peak_demand_fraction=0.6, trough_demand_fraction=0.4)
    return execute_with_racks(Scenario.model_validate(data))


def test_pack_fills_whole_racks_and_leaves_the_rest_idle():
    spread, pack = _placed("spread"), _placed("pack")
    racks = pack[2]
    per_step = racks.groupby("period_start_utc", observed=True)["gpu_utilization"]
    # every step: racks either full, idle, or the one part-filled rack
    partial = racks["gpu_utilization"].between(1e-9, 1.0 - 1e-9).groupby(racks["period_start_utc"]).sum()
    assert partial.max() <= 1 and (racks["gpu_utilization"].isin([0.0, 1.0]).mean() > 0.99)
    np.testing.assert_allclose(
        per_step.mean().to_numpy(),
        spread[2].groupby("period_start_utc")["gpu_utilization"].mean().to_numpy(),
        rtol=1e-9,
    )
    # the same work is served; the filled racks run in row order
    assert pack[1]["totals"]["tokens"] == pytest.approx(spread[1]["totals"]["tokens"], rel=1e-6)
    first = racks[racks["period_start_utc"] == racks["period_start_utc"].iloc[0]]
    assert first.loc[first["gpu_utilization"] == 1.0, "row"].iloc[0] == "hall-a/row-1"


def test_coolest_first_moves_load_off_a_row_that_lost_its_cooling():
    racks = _placed("coolest_first", CDU_OF_ROW_2)[2]
    during = racks[(racks["period_start_utc"] >= "2023-08-01 20:20") & (racks["period_start_utc"] < "2023-08-01 21:00")]
    by_row = during.groupby("row", observed=True)["gpu_utilization"].mean()
    assert by_row["hall-a/row-2"] < 0.05 < by_row.drop("hall-a/row-2").mean()


def test_a_rack_power_limit_holds_each_rack_and_lowers_only_its_gpus():
    """Racks of ~29 kW at peak, one group limited to 25 kW: its racks stay within the limit every step
    (their GPUs capped), the unlimited racks draw as before."""

    def run(limit):
        data = short_scenario(duration="1d", step="300s")
        data["workload"]["inference"].update(peak_demand_fraction=1.0, trough_demand_fraction=0.9)
        hall = data["facility"]["halls"][0]
        hall["racks"] = [
            {"count": 16, "servers_per_rack": 4, "power_limit_kw": limit},
            {"count": 16, "servers_per_rack": 4},
        ]
        data["results"] = {"rack_series": "step"}
        return execute_with_racks(Scenario.model_validate(data))

    free_frame, free, free_racks = run(None)
    frame, capped, racks = run(25.0)
    limited = racks.groupby("rack_id", observed=True)["it_power_w"].transform("max") <= 25e3 * 1.001
    assert limited.sum() == 16 * 288 and free_racks["it_power_w"].max() > 28e3
    assert (frame["gpu_power_limit_fraction"] < 1.0).any()
    unlimited = racks[~limited].groupby("period_start_utc")["it_power_w"].mean().to_numpy()
    reference = free_racks[~limited].groupby("period_start_utc")["it_power_w"].mean().to_numpy()
    np.testing.assert_allclose(unlimited, reference, rtol=1e-3)  # the other racks barely notice (shared air)
    assert capped["totals"]["tokens"] < free["totals"]["tokens"]


def test_a_partly_populated_hall_is_built_for_its_floor():
    """180 racks on a floor of 300 positions in 4 rows of 75: power and cooling are built for 300, the racks
    fill rows 1 and 2 and 30 positions of row 3, the rest stand empty."""

    def run(positions):
        data = short_scenario(duration="2d", step="300s")
        hall = data["facility"]["halls"][0]
        hall.update(rack_count=180, row_count=4, positions=positions)
        return execute_with_racks(Scenario.model_validate(data))

    built, summary, racks = run(300)
    _, tight, _ = run(None)
    assert summary["racks"]["empty_positions"] == 120 and tight["racks"]["empty_positions"] == 0
    per_row = racks.groupby("row", observed=True)["rack_id"].nunique()
    assert per_row.to_dict() == {"hall-a/row-1": 75, "hall-a/row-2": 75, "hall-a/row-3": 30}
    stranded = summary["racks"]["stranded_power"]
    assert stranded["provisioned_mw"] == pytest.approx(stranded["provisioned_to_racks_mw"] * 300 / 180, rel=1e-9)
    # loads that scale with the design (lighting, offices: other_power_fraction_of_design_it) are 300/180 as big
    assert summary["totals"]["other_energy_mwh"] == pytest.approx(tight["totals"]["other_energy_mwh"] * 300 / 180)
    assert summary["kpi"]["pue"] != tight["kpi"]["pue"]
    assert summary["totals"]["tokens"] == pytest.approx(tight["totals"]["tokens"], rel=1e-9)


def test_a_row_or_hall_power_limit_holds_its_racks_together():
    """A row limit (a busway's rating) holds each row's racks within it together; a hall limit the hall's."""

    def run(**limits):
        data = short_scenario(duration="1d", step="300s")
        data["workload"]["inference"].update(peak_demand_fraction=1.0, trough_demand_fraction=0.9)
        data["facility"]["halls"][0].update(row_count=2, **limits)
        data["results"] = {"rack_series": "step"}
        return execute_with_racks(Scenario.model_validate(data))

    free = run()[2]
    peak_row = free.groupby(["period_start_utc", "row"], observed=True)["it_power_w"].sum().max()
    row_frame, row_summary, rows = run(row_power_limit_kw=0.8 * peak_row / 1e3)
    per_row = rows.groupby(["period_start_utc", "row"], observed=True)["it_power_w"].sum()
    assert per_row.max() <= 0.8 * peak_row * 1.001 and (row_frame["gpu_power_limit_fraction"] < 1.0).any()
    peak_hall = free.groupby("period_start_utc")["it_power_w"].sum().max()
    _, _, halls = run(power_limit_mw=0.7 * peak_hall / 1e6)
    assert halls.groupby("period_start_utc")["it_power_w"].sum().max() <= 0.7 * peak_hall * 1.001


def test_a_ups_group_outage_limits_its_own_rows_only():
    """Two UPS groups (rows 1-2 and 3-4, each sized on its rows): 40 % of group 1's modules out for an hour
    lowers the GPUs of rows 1-2 to fit what is left, and leaves rows 3-4 as they were."""
    ups = {"groups": 2, "module_kw": 500}
    plant = Simulation(_hall_10mw(ups=ups)).plant
    assert plant.ups_row_group.tolist() == [0, 0, 1, 1]
    lost = int(np.ceil(0.4 * plant.ups_group_rating_w[0] / 500e3))
    outage = {"group": 1, "modules_lost": lost, "start": "2023-08-01T20:00", "duration": "1h"}
    _, summary, racks = execute_with_racks(_hall_10mw(ups=ups, power_outage=outage))
    _, base_summary, base = execute_with_racks(_hall_10mw(ups=ups))
    group1 = racks["row"].isin(["hall-a/row-1", "hall-a/row-2"])
    window = (racks["period_start_utc"] >= "2023-08-01T20:00Z") & (racks["period_start_utc"] < "2023-08-01T21:00Z")
    left_w = (plant.ups_group_rating_w[0] - lost * 500e3) / (1.0 + plant.chain.pdu_full_load_loss_fraction)
    drawn = racks[group1 & window].groupby("period_start_utc", observed=True)["it_power_w"].sum()
    assert drawn.max() <= left_w * 1.002  # within the kernel's cap tolerance
    assert drawn.max() < base[group1 & window].groupby("period_start_utc", observed=True)["it_power_w"].sum().min()
    for column in ("it_power_w", "gpu_die_temp_c", "inlet_temp_c"):
        gap = (racks.loc[~group1, column] - base.loc[~group1, column]).abs().max()
        assert gap <= 1e-6 * base[column].abs().max(), (column, gap)
    assert summary["totals"]["tokens"] < base_summary["totals"]["tokens"]


def test_a_ups_outage_names_its_group():
    with pytest.raises(ValueError, match=r"has 2 UPS groups \(power_chain.ups.groups; allowed: 1..2\)"):
        _hall_10mw(ups={"groups": 2}, power_outage={"modules_lost": 1, "start": "2023-08-01T20:00", "duration": "1h"})
    with pytest.raises(ValueError, match="allowed: 1..2"):
        _hall_10mw(
            ups={"groups": 2},
            power_outage={"group": 3, "modules_lost": 1, "start": "2023-08-01T20:00", "duration": "1h"},
        )
