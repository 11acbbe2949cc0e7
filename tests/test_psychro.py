"""Psychrometrics against published values and against psychrolib (ASHRAE 2017 ch.1)."""

import numpy as np
import psychrolib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.physics.psychro import (
    saturation_pressure_pa,
    wetbulb_from_dewpoint_c,
    wetbulb_from_humidity_ratio,
    wetbulb_from_relhum_c,
)

psychrolib.SetUnitSystem(psychrolib.SI)


@pytest.mark.parametrize(
    "temp_c, p_ws_pa",
    [
        # ASHRAE Handbook Fundamentals 2017, ch.1 Table 3 (saturation pressure of water)
        (0.01, 611.7),
        (20.0, 2339.3),
        (25.0, 3169.9),
        (40.0, 7384.9),
        (-20.0, 103.26),
    ],
)
def test_saturation_pressure_matches_ashrae_table_3(temp_c, p_ws_pa):
    assert saturation_pressure_pa(temp_c) == pytest.approx(p_ws_pa, rel=2e-3)


def test_wetbulb_of_ashrae_example_30c_w0_01823_is_25c():
    # ASHRAE Fundamentals 2017 ch.1, worked example: t = 30 C, t* = 25 C, p = 101.325 kPa gives W = 0.01823
    assert wetbulb_from_humidity_ratio(30.0, 0.01823, 101325.0) == pytest.approx(25.0, abs=0.2)


def test_wetbulb_at_20c_50pct_matches_stull_2011():
    # Stull (2011), J. Appl. Meteor. Climatol. 50:2267: T = 20 C, RH = 50 % -> Tw = 13.7 C
    tw = wetbulb_from_relhum_c(np.array([20.0]), np.array([0.5]), np.array([101325.0]))[0]
    assert tw == pytest.approx(13.7, abs=0.1)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.floats(-30.0, 50.0), st.floats(0.05, 1.0), st.floats(80000.0, 105000.0))
def test_wetbulb_matches_psychrolib(drybulb_c, rh, pressure_pa):
    ours = wetbulb_from_relhum_c(np.array([drybulb_c]), np.array([rh]), np.array([pressure_pa]))[0]
    theirs = psychrolib.GetTWetBulbFromRelHum(drybulb_c, rh, pressure_pa)
    # ASHRAE eq. 33 (water) and eq. 35 (ice) meet discontinuously at t* = 0 C, so two solvers
    # may settle on either side of freezing there; elsewhere they agree to 0.01 K.
    # (found by hypothesis: 4.25 C, RH 0.4375, 91.2 kPa gives -0.28 C here, +0.002 C in psychrolib;
    # 11 C, RH 0.0625, 80 kPa gives -0.31 C against +0.37 C: the gap at freezing is up to ~0.7 K)
    assert ours == pytest.approx(theirs, abs=1.0 if abs(theirs) < 1.0 else 0.01)


@settings(max_examples=100, deadline=None)
@given(st.floats(-20.0, 45.0), st.floats(0.0, 30.0))
def test_wetbulb_lies_between_dewpoint_and_drybulb(drybulb_c, depression_k):
    dew = drybulb_c - depression_k
    tw = wetbulb_from_dewpoint_c(np.array([drybulb_c]), np.array([dew]), np.array([101325.0]))[0]
    assert dew - 1e-6 <= tw <= drybulb_c + 1e-6
