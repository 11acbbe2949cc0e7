"""Grid side of a step: carbon, indirect water and energy cost from hourly intensities; the on-site battery."""

import math

import numpy as np
from numba import njit

J_PER_KWH = 3.6e6  # J/kWh, exact


@njit(cache=True)
def carbon_location_based_kg(energy_j: float, intensity_g_per_kwh: float) -> float:
    """Operational carbon [kg CO2e] = E [kWh] x CI [g/kWh] / 1000.

    Location-based method of the GHG Protocol Scope 2 Guidance (2015): grid-average
    intensity of the hour in which the energy is used.
    """
    return energy_j / J_PER_KWH * intensity_g_per_kwh / 1000.0


@njit(cache=True)
def indirect_water_m3(energy_j: float, water_intensity_l_per_kwh: float) -> float:
    """Water consumed at power plants for the energy used [m3] = E [kWh] x EWIF [L/kWh] / 1000.

    The Green Grid WP#35 (WUE): source water = energy water intensity factor x energy.
    """
    return energy_j / J_PER_KWH * water_intensity_l_per_kwh / 1000.0


@njit(cache=True)
def battery_step(
    soc_j: float,
    surplus_w: float,
    deficit_w: float,
    dt_s: float,
    capacity_j: float,
    power_w: float,
    round_trip_efficiency: float,
) -> tuple[float, float, float]:
    """One step of an on-site battery in self-consumption dispatch: it stores on-site surplus and
    serves the facility's deficit, within its power and energy limits.

    Returns (charge_w, discharge_w, soc_end_j). Round-trip efficiency is split evenly between
    charging and discharging (sqrt(eta) each way), as in NREL's System Advisor Model battery model.
    """
    if capacity_j <= 0.0 or power_w <= 0.0:
        return 0.0, 0.0, soc_j
    leg = math.sqrt(round_trip_efficiency)
    charge = min(surplus_w, power_w, (capacity_j - soc_j) / (dt_s * leg))
    discharge = min(deficit_w, power_w, soc_j * leg / dt_s)
    charge = max(charge, 0.0)
    discharge = max(discharge, 0.0)
    return charge, discharge, soc_j + (charge * leg - discharge / leg) * dt_s


def water_intensity_from_mix_l_per_kwh(
    generation_mwh_by_fuel: dict[str, np.ndarray], water_l_per_kwh_by_fuel: dict[str, float]
) -> np.ndarray:
    """Generation-weighted water consumption factor [L/kWh] of a grid mix, per hour.

    EWIF_h = sum_f G_f,h w_f / sum_f G_f,h, with w_f the operational water consumption per
    fuel (Macknick et al. 2012, Environ. Res. Lett. 7 045802, median values).
    generation_mwh_by_fuel: dict fuel -> array of hourly generation [MWh] (negatives,
    i.e. net imports/storage charging, count as zero).
    """
    fuels = list(generation_mwh_by_fuel)
    gen = np.clip(np.vstack([np.asarray(generation_mwh_by_fuel[f], dtype=float) for f in fuels]), 0.0, None)
    factors = np.array([water_l_per_kwh_by_fuel[f] for f in fuels])[:, None]
    total = gen.sum(axis=0)
    return (gen * factors).sum(axis=0) / np.where(total > 0.0, total, 1.0)
