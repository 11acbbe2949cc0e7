"""Elementary functions the rack kernels can vectorise.

numba compiles math.exp to a call into the C library, and a loop that calls a function is not
vectorised by LLVM (numba's LLVM has no vector maths library), so one exp per GPU per step would keep
every rack loop scalar. exp_series is exp written with multiplies and adds only: the argument is
divided by 2^6, the Taylor series of degree 12 is summed there, and the result squared six times,
exp(x) = (exp(x / 64))^64. Truncation error of the series at |x / 64| <= r is below
r^13 / 13!, squared up 64-fold: relative error under 2e-14 for |x| <= 20 and under 5e-11 for |x| <= 40
(tests/test_numerics.py checks it against math.exp). Arguments are clamped to [-EXP_ARG_MAX, EXP_ARG_MAX].
"""

from numba import njit

EXP_ARG_MAX = 40.0  # [M] exp_series's domain: e^40 ~ 2e17, beyond any leakage factor a GPU reaches


@njit(cache=True, inline="always")
def exp_series(x: float) -> float:
    """e^x for |x| <= EXP_ARG_MAX (module docstring), clamped outside it; vectorisable."""
    y = min(max(x, -EXP_ARG_MAX), EXP_ARG_MAX) * (1.0 / 64.0)
    p = 1.0 / 479001600.0  # 1 / 12!
    p = p * y + 1.0 / 39916800.0
    p = p * y + 1.0 / 3628800.0
    p = p * y + 1.0 / 362880.0
    p = p * y + 1.0 / 40320.0
    p = p * y + 1.0 / 5040.0
    p = p * y + 1.0 / 720.0
    p = p * y + 1.0 / 120.0
    p = p * y + 1.0 / 24.0
    p = p * y + 1.0 / 6.0
    p = p * y + 0.5
    p = p * y + 1.0
    p = p * y + 1.0
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p * p
