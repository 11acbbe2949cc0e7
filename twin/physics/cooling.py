"""Cooling components shared by the plants: fans and pumps on the affinity laws, the EIR chiller
curves, economisers, cooling-tower water, evaporative pads, and the coolant loop's energy balance.

The plants that put them together are twin/physics/air_plant.py (CRAH/AHU fans, chilled-water
plant, tower, economisers) and twin/physics/liquid_plant.py (CDUs or tanks, dry coolers, trim
chiller). Each plant serves a coolant loop with a thermal mass: when it cannot reject the heat it
is given (outdoor conditions, lost units), the loop temperature rises (loop_temp_after_c) and the
GPUs, which see that coolant, heat up and throttle.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics.psychro import _humidity_ratio_at_wetbulb, humidity_ratio, saturation_pressure_pa

AIR_DENSITY_KG_M3 = 1.2  # kg/m3, dry air at 20 C, 101.3 kPa (ASHRAE Fundamentals 2017 ch.1)
# C, the highest facility-water supply temperature of each ASHRAE TC9.9 liquid cooling class (ASHRAE TC9.9,
# Thermal Guidelines for Data Processing Environments, 5th ed., 2021) [S]
# ASHRAE TC9.9 (2021) allowable server inlet dry-bulb maxima per class [C] (Thermal Guidelines for Data Processing
# Environments, 5th ed.) [S]
INLET_ALLOWABLE_MAX_C = {"A1": 32.0, "A2": 35.0, "A3": 40.0, "A4": 45.0}
LIQUID_CLASSES_C = {"W17": 17.0, "W27": 27.0, "W32": 32.0, "W40": 40.0, "W45": 45.0}
AIR_CP_J_KG_K = 1006.0  # J/(kg K), dry air (ASHRAE Fundamentals 2017 ch.1 eq. 30)
WATER_CP_J_KG_K = 4186.0  # J/(kg K), liquid water near 20 C
WATER_DENSITY_KG_M3 = 998.0  # kg/m3, liquid water at 20 C


class ChillerCurve(NamedTuple):
    """EnergyPlus Chiller:Electric:EIR performance curves (DOE-2.1 chiller model)."""

    reference_cop: float
    chw_min_c: float
    chw_max_c: float
    cw_min_c: float
    cw_max_c: float
    plr_min: float
    plr_max: float
    capft: np.ndarray  # 6 biquadratic coefficients in (T_chw,leaving, T_cw,entering) [degC]
    eirft: np.ndarray  # 6 biquadratic coefficients
    eirfplr: np.ndarray  # 3 quadratic coefficients in PLR


@njit(cache=True)
def affinity_power_w(flow_fraction: float, design_power_w: float, min_fraction: float) -> float:
    """Fan or pump power [W] by the affinity laws: P = P_design (Q/Q_design)^3.

    Q ~ N, dp ~ N^2, P ~ N^3 (e.g. ASHRAE Handbook - HVAC Systems and Equipment, ch. 21
    "Fans"); below the minimum speed the machine runs at that speed, above full speed it cannot.
    """
    f = min(max(flow_fraction, min_fraction), 1.0)
    return design_power_w * f * f * f


@njit(cache=True)
def fan_or_pump_design_power_w(flow_m3_s: float, pressure_pa: float, efficiency: float) -> float:
    """Shaft-to-wire power [W] of a fan or pump: P = dp V / eta."""
    return pressure_pa * flow_m3_s / efficiency


@njit(cache=True)
def crah_airflow_m3_s(heat_w: float, air_delta_t_k: float) -> float:
    """Air volume flow [m3/s] to carry heat_w at a supply/return difference: V = Q / (rho c_p dT)."""
    return heat_w / (AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K * air_delta_t_k)


@njit(cache=True)
def biquadratic(c: np.ndarray, x: float, y: float) -> float:
    """EnergyPlus Curve:Biquadratic: c0 + c1 x + c2 x^2 + c3 y + c4 y^2 + c5 x y."""
    return c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y


# Beyond the EIR curve's data the chiller keeps its second-law efficiency (below): refrigerant temperatures
# from the water temperatures [M]: condensing ~8 K above the entering condenser water (its ~5.6 K rise through
# the condenser and ~2.5 K approach), evaporating ~2 K below the leaving chilled water; lift never below 5 K.
CONDENSING_OVER_CW_K = 8.0
EVAPORATING_BELOW_CHW_K = 2.0
MIN_LIFT_K = 5.0


@njit(cache=True)
def carnot_eir_scale(chw_c: float, cw_c: float, chw_curve_c: float, cw_curve_c: float) -> float:
    """EIR at (chw_c, cw_c) over EIR at the curve's nearest point (chw_curve_c, cw_curve_c) for a chiller whose
    second-law efficiency eta_II = COP / COP_Carnot stays as it is there: the ratio of the Carnot COPs,
    COP_Carnot = T_evap / (T_cond - T_evap) [K] (ASHRAE Handbook - Fundamentals 2017, ch. 2, refrigeration
    cycle; the constant-eta_II extrapolation of Gordon and Ng, Cool Thermodynamics, 2000). 1 inside the data."""
    t_evap = chw_c - EVAPORATING_BELOW_CHW_K + 273.15
    t_evap_curve = chw_curve_c - EVAPORATING_BELOW_CHW_K + 273.15
    lift = max(cw_c + CONDENSING_OVER_CW_K + 273.15 - t_evap, MIN_LIFT_K)
    lift_curve = max(cw_curve_c + CONDENSING_OVER_CW_K + 273.15 - t_evap_curve, MIN_LIFT_K)
    return (lift / t_evap) / (lift_curve / t_evap_curve)


MIN_CAPFT = 0.05  # [M] floor of the extrapolated capacity: a chiller past surge still moves a little heat


@njit(cache=True)
def chiller_capacity_fraction(curve: ChillerCurve, chw_leaving_c: float, cw_entering_c: float) -> float:
    """CAPFT at the operating point: the curve inside its data; past its hottest condenser water, the curve's own
    slope there carried on linearly (capacity falls with lift, toward surge), at least MIN_CAPFT [M]; chilled
    water outside the data, and cold condenser water, at the edge (EnergyPlus's clamping)."""
    tchw = min(max(chw_leaving_c, curve.chw_min_c), curve.chw_max_c)
    tcw = min(max(cw_entering_c, curve.cw_min_c), curve.cw_max_c)
    capft = biquadratic(curve.capft, tchw, tcw)
    if cw_entering_c > curve.cw_max_c:
        c = curve.capft
        slope = c[3] + 2.0 * c[4] * tcw + c[5] * tchw  # d CAPFT / d T_cw at the edge
        capft += slope * (cw_entering_c - curve.cw_max_c)
    return max(capft, MIN_CAPFT)


@njit(cache=True)
def chiller_eirft(curve: ChillerCurve, chw_leaving_c: float, cw_entering_c: float) -> float:
    """EIRFT at the operating point, over the whole range. Inside the curve's data, the curve. Outside it, the
    chiller keeps the second-law efficiency of the curve's point of the same lift (compressor efficiency follows
    the pressure ratio, i.e. the lift [M]) at the nearest chilled water of the data; past the hottest condenser
    water, that of the hottest: EIR scales with the Carnot COP (carnot_eir_scale). Condenser water colder than
    the data counts as its coldest (head-pressure control holds the condensing temperature)."""
    cw_c = max(cw_entering_c, curve.cw_min_c)
    tchw = min(max(chw_leaving_c, curve.chw_min_c), curve.chw_max_c)
    tcw = min(max(cw_c - (chw_leaving_c - tchw), curve.cw_min_c), curve.cw_max_c)
    return biquadratic(curve.eirft, tchw, tcw) * carnot_eir_scale(chw_leaving_c, cw_c, tchw, tcw)


@njit(cache=True)
def chiller_power_eir_w(
    load_w: float,
    chw_leaving_c: float,
    cw_entering_c: float,
    unit_capacity_w: float,
    unit_count: int,
    curve: ChillerCurve,
) -> tuple[float, float, int]:
    """Electric power of a bank of equal chillers staged on load [W], and the unmet load [W].

    EnergyPlus Engineering Reference, "Electric Chiller Model Based on Condenser Entering
    Temperature" (Chiller:Electric:EIR, the DOE-2.1 model):
        Q_avail = Q_ref CAPFT(T_chw,l, T_cw,e)
        PLR     = Q / Q_avail
        P       = (Q_avail / COP_ref) EIRFT(T_chw,l, T_cw,e) EIRFPLR(PLR)
    Outside the curve's data (where EnergyPlus clamps its inputs) the EIR follows the Carnot COP at the
    second-law efficiency of the curve's point of the same lift (chiller_eirft): past its hottest condenser
    water (hot weather), and with chilled water warmer or colder than the data (a 15 C design lifts less and
    evaporates warmer than a 7 C one). Capacity falls on along the curve's slope past the hottest condenser water
    (chiller_capacity_fraction); warmer chilled water gets no extra capacity (the compressor motor and the
    vendor's selection cap it [M]). Condenser water below the range gains nothing (head-pressure control holds
    the condensing temperature). Below PLR_min
    the compressor cycles (false loading), so EIRFPLR is taken at PLR_min and scaled by
    PLR/PLR_min. Staging: of the chiller counts that meet the load (sharing it equally), the
    plant runs the one that draws least, as kW/ton-based chiller plant managers do (with the
    DOE-2 part-load curve two chillers at part load often beat one at full load).
    """
    if load_w <= 0.0:
        return 0.0, 0.0, 0
    if unit_count <= 0:
        return 0.0, load_w, 0
    capft = chiller_capacity_fraction(curve, chw_leaving_c, cw_entering_c)
    eirft = chiller_eirft(curve, chw_leaving_c, cw_entering_c)
    unit_avail_w = unit_capacity_w * capft
    served_w = min(load_w, unit_count * unit_avail_w * curve.plr_max)
    best_w = -1.0
    best_units = unit_count
    for k in range(1, unit_count + 1):
        if served_w > k * unit_avail_w * curve.plr_max:
            continue
        plr = served_w / (k * unit_avail_w)
        if plr >= curve.plr_min:
            eirfplr = curve.eirfplr[0] + curve.eirfplr[1] * plr + curve.eirfplr[2] * plr * plr
        else:
            q = curve.plr_min
            eirfplr = (curve.eirfplr[0] + curve.eirfplr[1] * q + curve.eirfplr[2] * q * q) * plr / q
        power_w = k * unit_avail_w / curve.reference_cop * eirft * eirfplr
        if best_w < 0.0 or power_w < best_w:
            best_w = power_w
            best_units = k
    return best_w, load_w - served_w, best_units


@njit(cache=True)
def waterside_economiser_fraction(
    chw_return_c: float, chw_supply_c: float, tower_water_c: float, hx_approach_k: float
) -> float:
    """Share of the chilled-water load the economiser heat exchanger carries, 0..1.

    The plate heat exchanger sits upstream of the chillers on the chilled-water return and
    cools it to at best T_tower + approach_HX; the chillers trim the rest (partial
    economiser). Full economiser when T_wb + approach_CT + approach_HX <= T_chw,supply
    (FEMP Best Practices Guide for Energy-Efficient Data Center Design, 2024; Lei & Masanet
    2022 Table 3 approaches). docs/model.md#air-cooling-plant.
    """
    hx_leaving_c = tower_water_c + hx_approach_k
    frac = (chw_return_c - hx_leaving_c) / (chw_return_c - chw_supply_c)
    return min(max(frac, 0.0), 1.0)


@njit(cache=True)
def latent_heat_vaporisation_j_kg(water_temp_c: float) -> float:
    """h_fg [J/kg] of water: (2501 - 2.326 t) kJ/kg, the linearisation inside ASHRAE
    Fundamentals 2017 ch.1 eq. 33 (h_g - h_f with c_p,v = 1.86, c_w = 4.186 kJ/kg/K)."""
    return (2501.0 - 2.326 * water_temp_c) * 1000.0


@njit(cache=True)
def moist_air_enthalpy_j_kg(drybulb_c: float, humidity_ratio: float) -> float:
    """h = 1.006 t + W (2501 + 1.86 t) kJ/kg dry air; ASHRAE Fundamentals 2017 ch.1 eq. 30."""
    return (1.006 * drybulb_c + humidity_ratio * (2501.0 + 1.86 * drybulb_c)) * 1000.0


@njit(cache=True)
def tower_evaporative_fraction(drybulb_c: float, wetbulb_c: float, mean_water_c: float) -> float:
    """Share of a wet tower's heat that leaves as latent heat, from the air-side balance.

    Air enters at (T_db, T_wb) and leaves saturated at the mean water temperature (Merkel's
    saturated-exhaust assumption [M]); the heat taken up is m_a (h_out - h_in) and the water
    evaporated m_a (W_out - W_in), so f = h_fg (W_out - W_in) / (h_out - h_in) (ASHRAE
    Fundamentals 2017 ch.1 eq. 20, 30, 33 at standard pressure). Dry air brings sensible heat
    that becomes latent (f > 1), cold air takes heat sensibly (f < 1): the rule of thumb
    0.65 humid ... 1.0-1.2 dry (Hill, Pring & Osborn, Cooling Towers: Principles and Practice; checalc). Bounded to [0.1, 1.5].
    """
    p = 101325.0
    w_in = _humidity_ratio_at_wetbulb(drybulb_c, wetbulb_c, p)
    w_out = humidity_ratio(saturation_pressure_pa(mean_water_c), p)
    dh = moist_air_enthalpy_j_kg(mean_water_c, w_out) - moist_air_enthalpy_j_kg(drybulb_c, w_in)
    if dh <= 1000.0:  # exhaust barely warmer than the entering air's enthalpy: all heat latent
        return 1.0
    return min(max(latent_heat_vaporisation_j_kg(mean_water_c) * (w_out - w_in) / dh, 0.1), 1.5)


@njit(cache=True)
def tower_water_kg_s(
    heat_rejected_w: float,
    range_k: float,
    water_temp_c: float,
    evaporative_fraction: float,
    drift_fraction: float,
    cycles_of_concentration: float,
) -> tuple[float, float, float]:
    """Cooling-tower evaporation, drift and blowdown [kg/s].

    E = f_evap Q / h_fg           (f_evap from tower_evaporative_fraction; the rule of thumb
                                   E[gpm] = 0.00085 Range[F] Q[gpm] is f_evap = 0.85)
    D = f_drift m_circ,  m_circ = Q / (c_p Range)
    B = max(E / (CoC - 1) - D, 0) (Lei & Masanet 2022 eq. 5-7)
    """
    if heat_rejected_w <= 0.0:
        return 0.0, 0.0, 0.0
    evap = evaporative_fraction * heat_rejected_w / latent_heat_vaporisation_j_kg(water_temp_c)
    circulation = heat_rejected_w / (WATER_CP_J_KG_K * range_k)
    drift = drift_fraction * circulation
    blowdown = max(evap / (cycles_of_concentration - 1.0) - drift, 0.0)
    return evap, drift, blowdown


@njit(cache=True)
def direct_evaporative_outlet_c(drybulb_c: float, wetbulb_c: float, effectiveness: float) -> float:
    """Air leaving a direct evaporative pad: T = T_db - eps (T_db - T_wb) (saturation effectiveness
    0.8-0.9 for rigid media; ASHRAE Handbook HVAC Applications ch. 53)."""
    return drybulb_c - effectiveness * (drybulb_c - wetbulb_c)


@njit(cache=True)
def evaporated_water_kg_s(air_mass_kg_s: float, cooling_k: float, water_temp_c: float) -> float:
    """Water evaporated to cool an air stream adiabatically by cooling_k [kg/s]: m_a c_p dT / h_fg
    (the sensible heat given up becomes latent heat of the added vapour)."""
    return air_mass_kg_s * AIR_CP_J_KG_K * cooling_k / latent_heat_vaporisation_j_kg(water_temp_c)


@njit(cache=True)
def airside_economiser(
    drybulb_c: float,
    wetbulb_c: float,
    supply_c: float,
    return_c: float,
    evaporative: bool,
    effectiveness: float,
    max_wetbulb_c: float,
) -> tuple[float, float]:
    """Share of the room load carried by outdoor air, 0..1, and the air's evaporative cooling [K].

    Outdoor air replaces return air when it is cooler than the return; it carries the whole load
    when at or below the supply set point (mixing with return air holds the supply temperature),
    a share (T_ret - T_oa)/(T_ret - T_sup) of it otherwise, the coil trimming the rest. Direct
    evaporative pads first cool the outdoor air towards its wet-bulb, only as far as needed.
    Dampers close when the outdoor wet-bulb exceeds the humidity envelope (ASHRAE TC9.9
    recommended dew point <= 15 C, ~18 C wet-bulb at 24 C supply) [D].
    Lei & Masanet 2022 "airside economizer + adiabatic" design; docs/model.md#air-cooling-plant.
    """
    if wetbulb_c > max_wetbulb_c:
        return 0.0, 0.0
    oa_c = drybulb_c
    if evaporative and drybulb_c > supply_c:
        oa_c = max(direct_evaporative_outlet_c(drybulb_c, wetbulb_c, effectiveness), supply_c)
    frac = (return_c - oa_c) / (return_c - supply_c)
    return min(max(frac, 0.0), 1.0), drybulb_c - oa_c


@njit(cache=True)
def carnot_chiller_cop(evaporator_c: float, condenser_c: float, carnot_efficiency: float) -> float:
    """Chiller COP as a fraction of the Carnot COP: eta_II T_evap / (T_cond - T_evap) (K).
    eta_II ~ 0.45-0.65 for large machines ([M], docs/model.md#air-cooling-plant); capped at 15 for tiny lifts."""
    lift = max(condenser_c - evaporator_c, 1.0)
    return min(carnot_efficiency * (evaporator_c + 273.15) / lift, 15.0)


@njit(cache=True)
def loop_temp_after_c(
    temp_c: float, set_point_c: float, heat_in_w: float, removed_w: float, heat_capacity_j_per_k: float, dt_s: float
) -> float:
    """Coolant loop temperature after a step: C dT/dt = Q_in - Q_removed, never below set point.

    The plant is asked for Q_in + C (T - T_set) / dt (recover to set point within the step) and
    removes what it can; the balance is stored in the loop (lumped capacitance, energy balance).
    """
    return max(temp_c + (heat_in_w - removed_w) * dt_s / heat_capacity_j_per_k, set_point_c)


@njit(cache=True)
def recovery_demand_w(
    temp_c: float, set_point_c: float, heat_in_w: float, heat_capacity_j_per_k: float, dt_s: float
) -> float:
    """Heat the plant is asked to remove this step: the load plus what returns the loop to set point."""
    return heat_in_w + max(temp_c - set_point_c, 0.0) * heat_capacity_j_per_k / dt_s
