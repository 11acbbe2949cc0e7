"""Rows of racks and their own cooling units: the room air of each row with its CRAHs (or in-row
coolers), and each row's secondary coolant loop with its CDUs (or tank heat exchangers).

A row's racks breathe the row's supply air and see its coolant; when one of its units fails, its
own air or coolant warms and its racks throttle, while other rows do not (rows are separated by
their aisles: no heat is passed between rows). docs/model.md#rows-and-their-cooling-units.

Air: the CRAHs of a row are asked for the row's heat plus what returns its air to the set point
(recovery_demand_w); they remove what their coils can: the units in service times the unit's design
capacity, scaled by the coil's entering air-to-water temperature difference (a coil's capacity is
proportional to it at fixed flows and effectiveness: ASHRAE Handbook HVAC Systems and Equipment,
ch. 23 "Air-cooling and dehumidifying coils"). What the chilled-water plant cannot serve (chillers
lost) is left in every row in proportion to what it asked.

Liquid: a row's secondary loop (cold plates, manifolds, CDU) of heat capacity C passes heat to the
facility water through its CDUs' heat exchangers, q = n UA (T_coolant - T_facility); with Q the
racks' liquid heat, C dT/dt = Q - n UA (T - T_fw) is integrated exactly over the step:
T_end = T_eq + (T - T_eq) exp(-n UA dt / C), T_eq = T_fw + Q / (n UA). UA is sized so that all
installed units at design heat hold the catalog's coolant approach; with a unit lost the approach
widens; a CDU passes at most its rated heat (cdu_unit_kw, at its rated flow), so a row short of units
warms until its GPUs throttle; with all lost the loop heats at Q / C.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics.cooling import loop_temp_after_c, recovery_demand_w


class Rows(NamedTuple):
    """One entry per row of racks (its cooling group)."""

    hall: np.ndarray  # int64: hall index of each row
    room_heat_share: np.ndarray  # share of the non-rack room heat (PDU, UPS, other loads) the row's air takes
    air_heat_capacity_j_per_k: np.ndarray  # the row's air and its share of the chilled-water loop
    crah_unit_capacity_w: np.ndarray  # one unit at the set point and design chilled water
    crah_units: np.ndarray  # installed (float: outages may take a share)
    liquid_heat_capacity_j_per_k: np.ndarray  # secondary loop (0 where the row has no liquid path)
    cdu_unit_ua_w_per_k: np.ndarray  # one CDU's heat exchanger
    cdu_unit_capacity_w: np.ndarray  # the most one CDU passes (its rated heat at its rated flow)
    cdu_units: np.ndarray  # installed
    design_it_w: np.ndarray  # the row's design IT power: its racks' and its empty positions' (for summaries)
    power_limit_w: np.ndarray  # the most the row's racks may draw together at the wall (inf: none)


@njit(cache=True)
def crah_capacity_w(
    units: float, unit_capacity_w: float, air_c: float, set_c: float, delta_t_k: float, chw_c: float
) -> float:
    """Heat the row's CRAHs in service can remove [W]: their design capacity times the coil's
    entering temperature difference (return air - chilled water supply) over its design value."""
    design_dt = set_c + delta_t_k - chw_c
    if design_dt <= 0.0:
        return units * unit_capacity_w
    return units * unit_capacity_w * max(air_c + delta_t_k - chw_c, 0.0) / design_dt


@njit(cache=True, inline="always")
def rows_air_ask(
    rows: Rows,
    air_c: np.ndarray,
    heat_w: np.ndarray,
    crah_in_service: np.ndarray,
    set_c: float,
    delta_t_k: float,
    chw_c: float,
    dt_s: float,
    served_w: np.ndarray,
) -> float:
    """What each row's CRAHs take this step (into served_w) and the total the chilled-water plant is asked."""
    total_w = 0.0
    for g in range(air_c.shape[0]):
        ask_w = recovery_demand_w(air_c[g], set_c, heat_w[g], rows.air_heat_capacity_j_per_k[g], dt_s)
        cap_w = crah_capacity_w(
            max(crah_in_service[g], 0.0), rows.crah_unit_capacity_w[g], air_c[g], set_c, delta_t_k, chw_c
        )
        served_w[g] = min(ask_w, cap_w)
        total_w += served_w[g]
    return total_w


@njit(cache=True, inline="always")
def rows_air_after(
    rows: Rows,
    air_c: np.ndarray,
    heat_w: np.ndarray,
    served_w: np.ndarray,
    plant_share: float,
    set_c: float,
    dt_s: float,
) -> float:
    """Each row's air temperature after the step (in place), the plant having served plant_share of what
    the rows' CRAHs took; returns the heat stored in the rows' air [W]."""
    stored_w = 0.0
    for g in range(air_c.shape[0]):
        removed_w = plant_share * served_w[g]
        air_c[g] = loop_temp_after_c(air_c[g], set_c, heat_w[g], removed_w, rows.air_heat_capacity_j_per_k[g], dt_s)
        stored_w += heat_w[g] - removed_w
    return stored_w


@njit(cache=True)
def rows_liquid_gain(rows: Rows, cdu_in_service: np.ndarray, dt_s: float) -> np.ndarray:
    """Each row's loop gain over a step of dt_s with its CDUs in service (secondary_gain): fixed between
    events, so computed once per kernel call, not per step."""
    gain = np.zeros(cdu_in_service.shape[0])
    for g in range(gain.shape[0]):
        c = rows.liquid_heat_capacity_j_per_k[g]
        if c > 0.0:
            gain[g] = secondary_gain(max(cdu_in_service[g], 0.0) * rows.cdu_unit_ua_w_per_k[g], c, dt_s)
    return gain


@njit(cache=True, inline="always")
def rows_liquid_step(
    rows: Rows,
    coolant_c: np.ndarray,
    heat_w: np.ndarray,
    cdu_in_service: np.ndarray,
    gain: np.ndarray,
    facility_c: float,
    dt_s: float,
) -> tuple[float, float]:
    """Each row's secondary coolant after the step (in place), gain from rows_liquid_gain: (heat passed to
    the facility water, heat stored in the rows' loops) [W]."""
    to_facility_w = 0.0
    stored_w = 0.0
    for g in range(coolant_c.shape[0]):
        c = rows.liquid_heat_capacity_j_per_k[g]
        if c <= 0.0:
            continue
        units = max(cdu_in_service[g], 0.0)
        end_c = secondary_temp_after_c(
            coolant_c[g],
            heat_w[g],
            units * rows.cdu_unit_ua_w_per_k[g],
            units * rows.cdu_unit_capacity_w[g],
            facility_c,
            c,
            dt_s,
            gain[g],
        )
        kept_w = c * (end_c - coolant_c[g]) / dt_s
        coolant_c[g] = end_c
        to_facility_w += heat_w[g] - kept_w
        stored_w += kept_w
    return to_facility_w, stored_w


@njit(cache=True)
def secondary_gain(ua_w_per_k: float, heat_capacity_j_per_k: float, dt_s: float) -> float:
    """(1 - e^-x) / UA [K/W] with x = UA dt / C: the loop's temperature response to its net heat over a step
    (secondary_temp_after_c); dt / C as UA -> 0 (finite)."""
    x = ua_w_per_k * dt_s / heat_capacity_j_per_k
    return -math.expm1(-x) / ua_w_per_k if x > 1e-12 else dt_s / heat_capacity_j_per_k


@njit(cache=True)
def secondary_temp_after_c(
    temp_c: float,
    heat_w: float,
    ua_w_per_k: float,
    capacity_w: float,
    facility_c: float,
    heat_capacity_j_per_k: float,
    dt_s: float,
    gain: float,
) -> float:
    """The loop after dt of C dT/dt = Q - min(UA (T - T_fw), q_max) (module docstring): the exact solution
    of the linear law, or, where that would pass more than the units' rated q_max on average over the
    step, q_max throughout; no units in service: T + Q dt / C. gain: secondary_gain(UA, C, dt)."""
    if ua_w_per_k <= 0.0 or capacity_w <= 0.0:
        return temp_c + heat_w * dt_s / heat_capacity_j_per_k
    # T_end = T + (T_eq - T)(1 - e^-x), written as (Q - UA (T - T_fw)) (1 - e^-x) / UA: finite as UA -> 0
    end_c = temp_c + (heat_w - ua_w_per_k * (temp_c - facility_c)) * gain
    passed_w = heat_w - heat_capacity_j_per_k * (end_c - temp_c) / dt_s
    if passed_w > capacity_w:
        return temp_c + (heat_w - capacity_w) * dt_s / heat_capacity_j_per_k
    return end_c
