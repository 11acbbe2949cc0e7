"""A site's typical year made a future year: shifted by warming at constant relative humidity (the 'shift' of
Belcher, Hacker and Powell's morphing, Building Serv. Eng. Res. Technol. 26(1), 2005; without a climate model's
monthly change in diurnal range, no 'stretch'), with heat waves added as the climate makes them more frequent.

Heat waves (IPCC AR6 WG1 SPM, Figure SPM.6, hot temperature extremes over land): a 10-year event of 1850-1900 now
occurs HOT_EXTREME_PER_DECADE times a decade at a global warming level, and is HOT_EXTREME_INTENSITY_K hotter. A
typical year (made of representative months) holds none; a forecast year at level g gains the events the warmer
climate adds over the present's, (f(g) - f(g_now)) / 10 a year, summed over the years and placed whole. Each is
the site's own hottest HEATWAVE_DAYS days of the typical year, raised so that their mean equals the year's hottest
day's mean, plus the extreme's extra intensity (I(g) - I(g_now)) over the mean shift the whole year already has.
"""

import dataclasses

import numpy as np

from twin.physics.psychro import relhum_from_wetbulb, standard_pressure_pa, wetbulb_from_relhum_c

# IPCC AR6 WG1 SPM Figure SPM.6: global warming level [K] -> frequency per decade and intensity [K] of the
# 1850-1900 10-year hot extreme over land
WARMING_LEVELS_K = (0.0, 1.0, 1.5, 2.0, 4.0)
HOT_EXTREME_PER_DECADE = (1.0, 2.8, 4.1, 5.6, 9.4)
HOT_EXTREME_INTENSITY_K = (0.0, 1.2, 1.9, 2.6, 5.1)
PRESENT_WARMING_K = 1.09  # global surface warming 2011-2020 over 1850-1900 (AR6 WG1 SPM A.1.2): the typical year's
LAND_OVER_GLOBAL = 1.55  # land warms 1.4-1.7x the global mean (AR6 SPM B.2.2); as catalog/forecast.yaml derives
HEATWAVE_DAYS = 3  # [M] a heat wave: three consecutive days (national definitions run 2-5 days)


def global_level_k(local_warming_k):
    """The global warming level [K over 1850-1900] at which a site's land has warmed local_warming_k past today."""
    return PRESENT_WARMING_K + local_warming_k / LAND_OVER_GLOBAL


def extra_heatwaves_per_year(level_k):
    """10-year hot extremes a year beyond today's, at a global warming level (AR6, interpolated)."""
    now = np.interp(PRESENT_WARMING_K, WARMING_LEVELS_K, HOT_EXTREME_PER_DECADE)
    return max(np.interp(level_k, WARMING_LEVELS_K, HOT_EXTREME_PER_DECADE) - now, 0.0) / 10.0


def extra_intensity_k(level_k):
    """How much hotter a 10-year extreme is than today's, at a global warming level (AR6, interpolated)."""
    now = np.interp(PRESENT_WARMING_K, WARMING_LEVELS_K, HOT_EXTREME_INTENSITY_K)
    return max(np.interp(level_k, WARMING_LEVELS_K, HOT_EXTREME_INTENSITY_K) - now, 0.0)


def heatwave_count(warming_k_per_year, k):
    """Heat waves in forecast year k: the whole events the summed extra frequency reaches by then, less those of
    the years before (so the expected count over the years is kept, each event placed whole)."""
    summed = [  # through year n (year 0, today's climate, adds none)
        sum(extra_heatwaves_per_year(global_level_k(warming_k_per_year * j)) for j in range(1, n + 1))
        for n in (k - 1, k)
    ]
    return int(np.floor(summed[1] + 1e-9) - np.floor(summed[0] + 1e-9)) if k >= 0 else 0


def morph(site, warming_k, heatwaves=0, extra_k=0.0):
    """The site's series with dry-bulb + warming_k at each hour's relative humidity (the wet-bulb recomputed), and
    `heatwaves` heat waves: the hottest HEATWAVE_DAYS-day windows (apart), raised to the hottest day plus extra_k.
    The site's other series are kept."""
    pressure_pa = float(standard_pressure_pa(site.elevation_m if np.isfinite(site.elevation_m) else 0.0))
    rh = relhum_from_wetbulb(site.drybulb_c, site.wetbulb_c, pressure_pa)
    drybulb_c = site.drybulb_c + warming_k
    hours = 24 * HEATWAVE_DAYS
    taken = np.zeros(drybulb_c.shape[0], dtype=bool)
    hottest_day_c = np.convolve(site.drybulb_c, np.ones(24) / 24.0, mode="valid").max()
    for _ in range(heatwaves):
        window = np.convolve(site.drybulb_c, np.ones(hours) / hours, mode="valid")
        blocked = np.convolve(taken, np.ones(hours), mode="valid") > 0
        window[blocked] = -np.inf
        start = int(np.argmax(window))
        lift_k = max(hottest_day_c - window[start], 0.0) + extra_k
        drybulb_c[start : start + hours] += lift_k
        taken[start : start + hours] = True
    wetbulb_c = wetbulb_from_relhum_c(drybulb_c, rh, np.full(drybulb_c.shape[0], pressure_pa))
    return dataclasses.replace(site, drybulb_c=drybulb_c, wetbulb_c=wetbulb_c), int(taken.sum() // 24)
