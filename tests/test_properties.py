"""Physical invariants (hypothesis): cooling power never falls as the outdoor wet-bulb rises;
an idle fleet makes no tokens and draws only idle and overhead power; GPU thermal step is stable."""

import math

import numpy as np
import pytest
from conftest import short_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import catalog
from twin.physics import gpu
from twin.physics.air_plant import air_plant, air_plant_power_w
from twin.pipeline import simulate
from twin.scenario import AirPath, Scenario
from twin.sim.plant import build_air_plant


def _plant(economiser, airside):
    return build_air_plant(AirPath(economiser=economiser, airside_economiser=airside), 1.0e7)


@settings(max_examples=300, deadline=None)
@given(
    load=st.floats(0.25, 1.2),
    drybulb=st.floats(-20.0, 45.0),
    wb_low=st.floats(0.0, 1.0),
    wb_step=st.floats(0.0, 1.0),
    economiser=st.booleans(),
    airside=st.booleans(),
)
def test_air_cooled_plant_power_never_falls_as_wetbulb_rises(load, drybulb, wb_low, wb_step, economiser, airside):
    plant = _plant(economiser, airside)
    # two wet-bulbs at the same dry-bulb: wb_a <= wb_b <= dry-bulb
    floor = drybulb - 25.0
    wb_a = floor + wb_low * (drybulb - floor)
    wb_b = wb_a + wb_step * (drybulb - wb_a)
    out = [air_plant(load * 1e7, drybulb, wb, plant, plant.chiller_count) for wb in (wb_a, wb_b)]
    power = [air_plant_power_w(o) for o in out]
    unmet = [o.unmet_w for o in out]
    # A warmer wet-bulb never leaves less heat unmet; while all heat is removed it never costs less.
    # Loads from 25 % of design: below that the DOE-2 EIR curve's no-load term, which scales with
    # the capacity available (CAPFT), can make a hotter condenser look cheaper: an artifact of the
    # curve form at a few per cent load, not of the plant.
    assert unmet[1] >= unmet[0] - 1e-6
    if unmet[1] == 0.0:
        assert power[1] >= power[0] - 1e-6 * max(power[0], 1.0)


def test_zero_demand_gives_zero_tokens_and_only_idle_and_overhead_power():
    data = short_scenario()
    data["workload"]["inference"].update(peak_demand_fraction=0.0, trough_demand_fraction=0.0, noise_cv=0.0)
    scenario = Scenario.model_validate(data)
    f = simulate(scenario)
    spec = catalog.load("gpus")[scenario.facility.halls[0].gpu]
    hall = scenario.facility.halls[0]
    gpus = hall.rack_count * hall.servers_per_rack * hall.server_spec()[0]
    assert (f["tokens"] == 0.0).all()
    assert (f["gpu_utilization"] == 0.0).all()
    # idle board power, a few percent below the catalog figure with a cool die (less leakage)
    np.testing.assert_allclose(f["gpu_power_w"], gpus * spec["idle_w"], rtol=0.05)
    assert (f["cooling_power_w"] > 0.0).all() and (f["power_chain_loss_w"] > 0.0).all()
    assert (f["facility_power_w"] >= f["it_power_w"]).all()


@settings(max_examples=300, deadline=None)
@given(u=st.floats(0.0, 1.0), die=st.floats(20.0, 90.0), coolant=st.floats(10.0, 60.0), dt=st.floats(0.01, 3600.0))
def test_gpu_step_is_stable_and_respects_its_limits_at_any_step(u, die, coolant, dt):
    spec, m = catalog.load("gpus")["H100-SXM"], catalog.load("gpu_model")
    r = 31.0 / spec["tdp_w"]
    p, clock, end, _, tripped = gpu.step(
        u,
        die,
        coolant,
        coolant,
        dt,
        spec["idle_w"],
        0.0,
        spec["tdp_w"] - spec["idle_w"],
        0.0,
        spec["tdp_w"],
        m["leak_fraction"],
        m["leak_per_k"],
        m["leak_ref_temp_c"],
        r,
        m["die_time_constant_s"] / r,
        0.0,
        1.0,
        spec["max_operating_temp_c"],
        m["min_clock_fraction"],
        spec["shutdown_temp_c"],
        False,
    )
    assert math.isfinite(end) and 0.0 <= p <= spec["tdp_w"] + 1e-9
    assert m["min_clock_fraction"] - 1e-12 <= clock <= 1.0 or tripped
    # exact integration: the end temperature lies between the start and the steady state
    steady = coolant + p * r
    assert min(die, steady) - 1e-9 <= end <= max(die, steady) + 1e-9
    # thermal slowdown: a GPU that could be held at its limit ends at or below it
    if clock > m["min_clock_fraction"] + 1e-9 and not tripped:
        assert end <= spec["max_operating_temp_c"] + 1e-6 or die > spec["max_operating_temp_c"]


@settings(max_examples=300, deadline=None)
@given(
    u=st.floats(0.0, 1.0),
    die_rise=st.floats(0.0, 40.0),
    sink_rise=st.floats(0.0, 30.0),
    coolant=st.floats(10.0, 50.0),
    dt=st.floats(0.01, 3600.0),
    clock_w=st.floats(0.0, 80.0),
    v_floor=st.floats(0.0, 1.0),
    limit_share=st.floats(0.2, 1.5),
)
def test_calibrated_gpu_step_keeps_its_power_law_limits_and_foster_bounds(
    u, die_rise, sink_rise, coolant, dt, clock_w, v_floor, limit_share
):
    """The kernel with a calibration's terms: clock-tree power, voltage floor, a sink term, a power limit."""
    idle, dyn, tdp, m = 70.0, 560.0, 700.0, catalog.load("gpu_model")
    r_die, tau_die, r_sink, tau_sink = 0.02, 2.0, 0.04, 60.0
    sink0, die0 = coolant + sink_rise, coolant + sink_rise + die_rise
    limit = limit_share * tdp
    p, clock, end, sink_end, tripped = gpu.step(
        u,
        die0,
        sink0,
        coolant,
        dt,
        idle,
        clock_w,
        dyn,
        v_floor,
        tdp,
        m["leak_fraction"],
        m["leak_per_k"],
        m["leak_ref_temp_c"],
        r_die,
        tau_die / r_die,
        r_sink,
        tau_sink / r_sink,
        87.0,
        m["min_clock_fraction"],
        92.0,
        False,
        limit,
    )
    at_min_clock = clock <= m["min_clock_fraction"] + 1e-9
    assert p <= min(tdp, limit) + 1e-6 or at_min_clock
    law = gpu.power_w(
        u, clock, die0, idle, clock_w, dyn, v_floor, m["leak_fraction"], m["leak_per_k"], m["leak_ref_temp_c"]
    )
    assert p == pytest.approx(law, rel=1e-9)  # the clock it reports is the clock its power was drawn at
    # each Foster term ends between its start and its steady value at this power
    for start, steady, value in ((sink_rise, p * r_sink, sink_end - coolant), (die_rise, p * r_die, end - sink_end)):
        assert min(start, steady) - 1e-9 <= value <= max(start, steady) + 1e-9
    if not at_min_clock and not tripped:
        assert end <= 87.0 + 1e-6 or die0 > 87.0
