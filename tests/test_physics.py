"""Single models against the figures their sources give."""

import pytest

from twin import catalog
from twin.physics import cooling, power
from twin.physics.gpu import power_w
from twin.sim.plant import build_air_plant, chiller_curve


def _curve():
    return chiller_curve(catalog.load("cooling")["air"]["chiller_curve"])


def test_gpu_power_spans_idle_to_tdp_and_clamps():
    # at full clock and the reference die temperature the model is linear from idle to TDP
    p = lambda u, clock=1.0, temp=32.0: power_w(u, clock, temp, 74.7, 0.0, 625.3, 0.0, 0.27, 0.02, 32.0)  # noqa: E731
    assert p(0.0) == pytest.approx(74.7)
    assert p(1.0) == pytest.approx(700.0)
    assert p(1.5) == pytest.approx(700.0)
    assert p(0.5) == pytest.approx(387.35)
    assert p(1.0, clock=0.5) == pytest.approx(74.7 + 625.3 / 8.0)  # dynamic power ~ clock^3
    assert p(0.0, temp=62.0) == pytest.approx(74.7 * (0.73 + 0.27 * 2.718281828**0.6))  # leakage


@pytest.mark.parametrize("load, efficiency", [(0.25, 0.946), (0.5, 0.962), (1.0, 0.966)])
def test_ups_efficiency_in_published_double_conversion_band(load, efficiency):
    # Double conversion 94-97 % (Eaton 9395XR 97.5 %, Galaxy VS up to 97 %)
    loss = power.converter_loss_w(load * 1e6, 1e6, *catalog.load("power_chain")["ups_modes"]["double_conversion"])
    eta = load * 1e6 / (load * 1e6 + loss)
    assert eta == pytest.approx(efficiency, abs=0.001)
    assert 0.94 <= eta <= 0.975


def test_transformer_efficiency_at_half_load_above_99_pct():
    tr = catalog.load("power_chain")["transformer"]
    loss = power.transformer_loss_w(0.5e6, 1e6, tr["no_load_loss_fraction"], tr["load_loss_fraction"])
    assert 0.5e6 / (0.5e6 + loss) > 0.99


def test_chiller_at_reference_conditions_gives_reference_cop():
    curve = _curve()
    cap = 2.124e6
    p, unmet, units = cooling.chiller_power_eir_w(cap, 8.89, 23.89, cap, 1, curve)
    assert unmet == 0.0 and units == 1
    # The dataset's curves are normalised to 1.0 at rated conditions only to within 2 %
    # (EIRFT = 1.019, CAPFT = 1.005 there); EnergyPlus accepts up to 10 %.
    assert cap / p == pytest.approx(curve.reference_cop, rel=0.02)


def test_chiller_cop_falls_as_condenser_water_warms():
    curve = _curve()
    cops = [1e6 / cooling.chiller_power_eir_w(1e6, 8.89, t, 2e6, 1, curve)[0] for t in (15.0, 20.0, 25.0, 29.0)]
    assert all(a > b for a, b in zip(cops, cops[1:]))


def test_beyond_its_curve_a_chiller_keeps_its_second_law_efficiency():
    """Hot condenser water keeps costing (COP falls past the curve's 29.44 C), continuously at the edge; cold
    condenser water past the curve gains nothing (head-pressure control, as EnergyPlus clamps it)."""
    curve = _curve()

    def cop(chw, cw):  # at part load that every condition here can carry
        power_w, unmet_w, _ = cooling.chiller_power_eir_w(5e5, chw, cw, 2e6, 1, curve)
        assert unmet_w == 0.0
        return 5e5 / power_w

    hot = [cop(7.0, t) for t in (29.0, 29.44, 32.0, 35.0, 40.0, 45.0)]
    assert all(a > b > 0.0 for a, b in zip(hot, hot[1:]))
    assert cop(7.0, 29.44 - 1e-9) == pytest.approx(cop(7.0, 29.44 + 1e-9), rel=1e-6)
    assert cop(8.89 + 1e-9, 28.0) == pytest.approx(cop(8.89, 28.0), rel=1e-6)
    assert cop(7.0, 5.0) == pytest.approx(cop(7.0, 12.78), rel=1e-12)
    assert cooling.carnot_eir_scale(8.0, 20.0, 8.0, 20.0) == 1.0


def test_warm_chilled_water_beats_cold_at_the_same_lift_and_more_so_at_the_same_condenser():
    """Issue 22: a 15 C chilled-water design has a higher COP than a 7 C one at the lifts of its design (condenser
    water 25-30 C: its evaporator is warmer, COP_Carnot = T_evap / lift), and at one condenser water temperature
    by the lift it saves. (At lifts of 20 K and more the fitted curve's own loss of efficiency with warmer chilled
    water at constant lift, 1.6 % of EIR per 3.3 K inside its data, outweighs the Carnot gain: docs/model.md.)"""
    curve = _curve()

    def cop(chw, cw):
        return 5e5 / cooling.chiller_power_eir_w(5e5, chw, cw, 2e6, 1, curve)[0]

    for lift_k in (10.0, 12.5, 15.0):
        assert cop(15.0, 15.0 + lift_k) > cop(7.0, 7.0 + lift_k)
    for cw_c in (15.0, 20.0, 25.0, 30.0, 35.0, 40.0):
        assert cop(15.0, cw_c) > cop(7.0, cw_c) * 1.05
    assert cop(15.0, 29.0) > cop(12.0, 29.0) > cop(8.89, 29.0)
    assert cop(15.0, 29.0) / cop(8.89, 29.0) < (29.0 + 8.0 - 6.89) / (29.0 + 8.0 - 13.0) * 1.0001  # Carnot bound


def test_past_its_hottest_condenser_water_a_chiller_loses_capacity():
    curve = _curve()
    caps = [cooling.chiller_capacity_fraction(curve, 8.0, t) for t in (25.0, 29.44, 32.0, 36.0, 40.0)]
    assert all(a > b for a, b in zip(caps, caps[1:])) and caps[-1] >= cooling.MIN_CAPFT
    edge = cooling.chiller_capacity_fraction(curve, 8.0, 29.44)
    assert cooling.chiller_capacity_fraction(curve, 8.0, 29.44 + 1e-9) == pytest.approx(edge, rel=1e-8)
    assert cooling.chiller_capacity_fraction(curve, 15.0, 20.0) == cooling.chiller_capacity_fraction(curve, 8.89, 20.0)


def test_chillers_are_sized_at_the_sites_design_wetbulb():
    """A humid site's design condenser water is hotter, where the chiller carries less: it gets bigger units."""
    from twin.scenario.facility import AirPath

    plants = {wb: build_air_plant(AirPath(), 1.0e7, wb) for wb in (18.0, 28.0)}
    assert plants[28.0].chiller_unit_capacity_w > plants[18.0].chiller_unit_capacity_w
    assert build_air_plant(AirPath(), 1.0e7).chiller_unit_capacity_w == pytest.approx(1.0e7 * 1.15 / 3)


def test_fan_affinity_law_is_cubic():
    assert cooling.affinity_power_w(0.5, 1000.0, 0.2) == pytest.approx(125.0)
    assert cooling.affinity_power_w(0.1, 1000.0, 0.2) == pytest.approx(8.0)


def test_tower_evaporation_below_latent_heat_limit():
    # E <= Q / h_fg: at most ~1.48 kg per kWh rejected (h_fg about 2,430 kJ/kg near 30 C)
    evap, drift, blow = cooling.tower_water_kg_s(1000.0, 5.6, 25.0, 0.85, 5e-5, 5.0)
    kg_per_kwh = evap * 3600.0
    assert 1.0 < kg_per_kwh < 1.48
    assert blow == pytest.approx(evap / 4.0 - drift)


def test_economiser_full_when_tower_water_cold_and_off_when_warm():
    assert cooling.waterside_economiser_fraction(21.0, 15.0, 5.0, 2.2) == 1.0
    assert cooling.waterside_economiser_fraction(21.0, 15.0, 20.0, 2.2) == 0.0
    assert 0.0 < cooling.waterside_economiser_fraction(21.0, 15.0, 15.0, 2.2) < 1.0
