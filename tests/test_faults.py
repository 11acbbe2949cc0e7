"""Cooling outages: temperatures rise, GPUs throttle, and the plant recovers afterwards."""

import pytest
import yaml
from conftest import SCENARIOS

from twin.pipeline import simulate
from twin.scenario import ScenarioError, load_scenario_text


def _window(frame, start, end):
    return frame.set_index("timestamp").loc[start:end]


def test_every_chiller_lost_on_a_hot_afternoon_heats_shuts_servers_down_and_recovers():
    """All four chillers lost (the bundled outage loses two, and levels off: tests/test_edges.py): the rows warm
    past the A2 allowable inlet (35 C), the servers power off and restart 15 min after the inlet is back within
    it (warming again while the chillers are out), and the facility is back to normal after the outage."""
    data = yaml.safe_load((SCENARIOS / "chiller-outage.yaml").read_text())
    data["faults"]["cooling_outages"][0]["fraction"] = 1.0
    scenario = load_scenario_text(yaml.safe_dump(data), base_dir=SCENARIOS)
    f = simulate(scenario)
    setpoint = scenario.facility.cooling.supply_air_temp_c
    before = _window(f, "2023-08-01 20:00", "2023-08-01 20:59")
    during = _window(f, "2023-08-01 21:00", "2023-08-01 22:30")
    after = _window(f, "2023-08-02 01:00", "2023-08-02 03:00")
    assert before["outdoor_drybulb_c"].min() > 35.0  # a hot afternoon
    assert (before["server_inlet_temp_c"] == setpoint).all()
    assert (before["gpu_clock_fraction"] == 1.0).all()
    assert 35.0 < during["server_inlet_temp_c"].max() < 37.0  # past the A2 limit by at most a step's warming
    off = during["it_power_w"] == 0.0
    assert 15 <= off.sum() <= 75  # minutes off: at least one restart delay, not the whole window
    assert (during["tokens"] / during["tokens_demanded"]).min() == 0.0
    assert during["cooling_unmet_w"].max() > 0.0
    assert (after["server_inlet_temp_c"] == setpoint).all()  # recovered
    assert (after["gpu_clock_fraction"] == 1.0).all()


def test_cdu_outage_heats_the_liquid_loop_and_gpus_then_recovers():
    data = yaml.safe_load((SCENARIOS / "chiller-outage.yaml").read_text())
    data["facility"]["cooling"] = {"type": "direct_to_chip"}
    data["faults"]["cooling_outages"][0].update(unit="cdu", fraction=1.0)  # every row's CDUs
    scenario = load_scenario_text(yaml.safe_dump(data), base_dir=SCENARIOS)
    f = simulate(scenario)
    before = _window(f, "2023-08-01 20:00", "2023-08-01 20:59")
    during = _window(f, "2023-08-01 21:00", "2023-08-01 22:00")
    after = _window(f, "2023-08-02 01:00", "2023-08-02 03:00")
    assert during["coolant_supply_temp_c"].max() > before["coolant_supply_temp_c"].max() + 10.0
    assert during["gpu_clock_fraction"].min() < 1.0
    # back within the band of the hour before (the coolant follows the load: q = n UA (T - T_facility))
    assert after["coolant_supply_temp_c"].max() < before["coolant_supply_temp_c"].max() + 0.5
    assert (after["gpu_clock_fraction"] == 1.0).all()


def test_one_cdu_of_an_n_plus_1_row_lost_changes_little():
    """N+1: a row that loses one of its CDUs keeps its racks cool (the others widen their approach)."""
    data = yaml.safe_load((SCENARIOS / "chiller-outage.yaml").read_text())
    data["facility"]["cooling"] = {"type": "direct_to_chip"}
    data["faults"]["cooling_outages"] = [
        {"unit": "cdu", "hall": "hall-a", "row": 3, "units": 1, "start": "2023-08-01T21:00", "duration": "1h"}
    ]
    f = simulate(load_scenario_text(yaml.safe_dump(data), base_dir=SCENARIOS))
    during = _window(f, "2023-08-01 21:00", "2023-08-01 22:00")
    assert (during["gpu_clock_fraction"] == 1.0).all()


def test_outage_outside_the_run_is_refused_with_the_field_named(tmp_path):
    data = yaml.safe_load((SCENARIOS / "chiller-outage.yaml").read_text())
    data["faults"]["cooling_outages"][0]["start"] = "2024-01-01T00:00"
    with pytest.raises(ScenarioError, match="cooling_outages\\[0\\].start"):
        load_scenario_text(yaml.safe_dump(data), base_dir=SCENARIOS)
