"""The vectorisable exp of the rack kernels against the C library's (twin/physics/numerics.py)."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.physics.numerics import EXP_ARG_MAX, exp_series


@settings(deadline=None)  # the first call compiles
@given(st.floats(min_value=-20.0, max_value=20.0))
def test_exp_series_matches_exp_where_leakage_lives(x):
    assert abs(exp_series(x) / math.exp(x) - 1.0) < 2e-14


def test_exp_series_over_its_whole_domain_and_clamped_beyond():
    xs = np.linspace(-EXP_ARG_MAX, EXP_ARG_MAX, 20001)
    worst = max(abs(exp_series(x) / math.exp(x) - 1.0) for x in xs)
    assert worst < 5e-11
    assert exp_series(0.0) == 1.0
    assert exp_series(1e6) == exp_series(EXP_ARG_MAX)
    assert exp_series(-1e6) == exp_series(-EXP_ARG_MAX) > 0.0
