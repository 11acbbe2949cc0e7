"""Psychrometrics of moist air: saturation pressure, humidity ratio, wet-bulb temperature.

All equations from ASHRAE Handbook - Fundamentals (2017), chapter 1 "Psychrometrics"
(SI edition), the same equations psychrolib implements; this module re-derives them as
numba kernels so that a year of hourly weather converts in microseconds.
"""

import math

import numpy as np
from numba import njit

ZERO_C_K = 273.15  # K, 0 degC
WATER_AIR_MOLAR_MASS_RATIO = 0.621945  # ASHRAE 2017 ch.1 eq. 20

# ASHRAE 2017 ch.1 eq. 5 (over ice, -100..0 C) and eq. 6 (over liquid water, 0..200 C),
# Hyland & Wexler (1983) coefficients; T in K, p_ws in Pa.
_C1, _C2, _C3, _C4 = -5.6745359e03, 6.3925247, -9.6778430e-03, 6.2215701e-07
_C5, _C6, _C7 = 2.0747825e-09, -9.4840240e-13, 4.1635019
_C8, _C9, _C10 = -5.8002206e03, 1.3914993, -4.8640239e-02
_C11, _C12, _C13 = 4.1764768e-05, -1.4452093e-08, 6.5459673


@njit(cache=True)
def saturation_pressure_pa(temp_c: float) -> float:
    """Saturation vapour pressure of water [Pa] at temp_c [degC].

    ASHRAE Fundamentals 2017 ch.1 eq. 5 (ice, T <= 0.01 C) and eq. 6 (liquid water):
    ln p_ws = C8/T + C9 + C10 T + C11 T^2 + C12 T^3 + C13 ln T,  T in K.
    """
    t_k = temp_c + ZERO_C_K
    if temp_c <= 0.01:
        ln_p = _C1 / t_k + _C2 + _C3 * t_k + _C4 * t_k**2 + _C5 * t_k**3 + _C6 * t_k**4 + _C7 * math.log(t_k)
    else:
        ln_p = _C8 / t_k + _C9 + _C10 * t_k + _C11 * t_k**2 + _C12 * t_k**3 + _C13 * math.log(t_k)
    return math.exp(ln_p)


@njit(cache=True)
def humidity_ratio(vapour_pressure_pa: float, pressure_pa: float) -> float:
    """Humidity ratio W [kg water / kg dry air]; ASHRAE 2017 ch.1 eq. 20: W = 0.621945 p_w / (p - p_w)."""
    return WATER_AIR_MOLAR_MASS_RATIO * vapour_pressure_pa / (pressure_pa - vapour_pressure_pa)


@njit(cache=True)
def _humidity_ratio_at_wetbulb(drybulb_c: float, wetbulb_c: float, pressure_pa: float) -> float:
    """W of air whose thermodynamic wet-bulb is wetbulb_c; ASHRAE 2017 ch.1 eq. 33 (t* > 0) and eq. 35 (t* <= 0)."""
    ws_star = humidity_ratio(saturation_pressure_pa(wetbulb_c), pressure_pa)
    if wetbulb_c > 0.0:
        return ((2501.0 - 2.326 * wetbulb_c) * ws_star - 1.006 * (drybulb_c - wetbulb_c)) / (
            2501.0 + 1.86 * drybulb_c - 4.186 * wetbulb_c
        )
    return ((2830.0 - 0.24 * wetbulb_c) * ws_star - 1.006 * (drybulb_c - wetbulb_c)) / (
        2830.0 + 1.86 * drybulb_c - 2.1 * wetbulb_c
    )


@njit(cache=True)
def wetbulb_from_humidity_ratio(drybulb_c: float, w: float, pressure_pa: float) -> float:
    """Thermodynamic wet-bulb [degC] from dry-bulb, humidity ratio and pressure.

    Solves ASHRAE 2017 ch.1 eq. 33/35 for t* by bisection between the dew point and the
    dry-bulb (W at t* rises monotonically with t*), to 1e-6 K.
    """
    lo = -100.0
    hi = drybulb_c
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _humidity_ratio_at_wetbulb(drybulb_c, mid, pressure_pa) > w:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-6:
            break
    return 0.5 * (lo + hi)


@njit(cache=True)
def wetbulb_from_dewpoint_c(drybulb_c: np.ndarray, dewpoint_c: np.ndarray, pressure_pa: np.ndarray) -> np.ndarray:
    """Wet-bulb [degC] for arrays of dry-bulb [degC], dew point [degC] and pressure [Pa].

    p_w = p_ws(T_dp) (ASHRAE 2017 ch.1 eq. 36), W from eq. 20, then eq. 33/35.
    A dew point above the dry-bulb (sensor noise in weather files) is taken as saturation.
    """
    n = drybulb_c.shape[0]
    out = np.empty(n)
    for i in range(n):
        dp = min(dewpoint_c[i], drybulb_c[i])
        w = humidity_ratio(saturation_pressure_pa(dp), pressure_pa[i])
        out[i] = wetbulb_from_humidity_ratio(drybulb_c[i], w, pressure_pa[i])
    return out


@njit(cache=True)
def wetbulb_from_relhum_c(drybulb_c: np.ndarray, relhum_fraction: np.ndarray, pressure_pa: np.ndarray) -> np.ndarray:
    """Wet-bulb [degC] for arrays of dry-bulb [degC], relative humidity [0-1] and pressure [Pa].

    p_w = RH p_ws(T) (ASHRAE 2017 ch.1 eq. 22/24), then as wetbulb_from_dewpoint_c.
    """
    n = drybulb_c.shape[0]
    out = np.empty(n)
    for i in range(n):
        rh = min(max(relhum_fraction[i], 0.0), 1.0)
        w = humidity_ratio(rh * saturation_pressure_pa(drybulb_c[i]), pressure_pa[i])
        out[i] = wetbulb_from_humidity_ratio(drybulb_c[i], w, pressure_pa[i])
    return out


@njit(cache=True)
def relhum_from_wetbulb(drybulb_c: np.ndarray, wetbulb_c: np.ndarray, pressure_pa: float) -> np.ndarray:
    """Relative humidity [0-1] of air at (dry-bulb, wet-bulb) [degC]: W from the wet-bulb (eq. 33/35),
    p_w = p W / (0.621945 + W) (eq. 20 inverted), RH = p_w / p_ws(T) (eq. 22), at most 1."""
    out = np.empty(drybulb_c.shape[0])
    for i in range(drybulb_c.shape[0]):
        w = _humidity_ratio_at_wetbulb(drybulb_c[i], wetbulb_c[i], pressure_pa)
        p_w = pressure_pa * w / (WATER_AIR_MOLAR_MASS_RATIO + w)
        out[i] = min(p_w / saturation_pressure_pa(drybulb_c[i]), 1.0)
    return out


@njit(cache=True)
def dewpoint_from_relhum_c(drybulb_c: np.ndarray, relhum_fraction: np.ndarray) -> np.ndarray:
    """Dew point [degC] for arrays of dry-bulb [degC] and relative humidity [0-1].

    The temperature whose saturation pressure (ASHRAE 2017 ch.1 eq. 5/6) equals the vapour
    pressure RH p_ws(T) (eq. 22/24, the definition of the dew point, eq. 36), by bisection
    to 1e-6 K. RH is clipped to [1e-4, 1].
    """
    n = drybulb_c.shape[0]
    out = np.empty(n)
    for i in range(n):
        p_w = min(max(relhum_fraction[i], 1e-4), 1.0) * saturation_pressure_pa(drybulb_c[i])
        lo = -100.0
        hi = drybulb_c[i]
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if saturation_pressure_pa(mid) > p_w:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1e-6:
                break
        out[i] = 0.5 * (lo + hi)
    return out


def standard_pressure_pa(elevation_m: float | np.ndarray) -> float | np.ndarray:
    """Standard-atmosphere barometric pressure [Pa] at an elevation [m];
    ASHRAE Fundamentals 2017 ch.1 eq. 3: p = 101.325 (1 - 2.25577e-5 Z)^5.2559 kPa."""
    return 101325.0 * (1.0 - 2.25577e-5 * np.asarray(elevation_m, dtype=float)) ** 5.2559
