"""Cooling plants: the air path (CRAH/AHU fans, water-cooled chilled-water plant with staged EIR
chillers, cooling tower, water-side and air-side economisers) and the liquid path (direct-to-chip
CDUs or immersion tanks, facility water, dry coolers with adiabatic assist and a trim chiller).

Every architecture has an air path for the heat left in the room air (all of it for air cooling;
the share cold plates do not capture, PSUs, PDUs, UPS and lighting otherwise). Liquid-cooled
halls add a liquid path. Each path serves a coolant loop with a thermal mass: when a plant cannot
reject the heat it is given (outdoor conditions, lost units), the loop temperature rises
(loop_temp_after_c) and the GPUs, which see that coolant, heat up and throttle.

Heat path of the air plant: white-space heat is picked up by the CRAH coils (plus CRAH fan heat),
carried by chilled water (plus pump heat) to the economiser heat exchanger and/or the chillers;
the condenser heat (load + compressor work + condenser pump heat) is rejected by the tower,
mostly by evaporation.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics.psychro import _humidity_ratio_at_wetbulb, humidity_ratio, saturation_pressure_pa

AIR_DENSITY_KG_M3 = 1.2  # kg/m3, dry air at 20 C, 101.3 kPa (ASHRAE Fundamentals 2017 ch.1)
# C, the highest facility-water supply temperature of each ASHRAE TC9.9 liquid cooling class (ASHRAE TC9.9,
# Thermal Guidelines for Data Processing Environments, 5th ed., 2021) [S]
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


class AirPlantParams(NamedTuple):
    """Design of the air path: CRAH/AHU fans + water-cooled chilled-water plant (catalog/cooling.yaml)."""

    design_heat_w: float  # white-space heat the plant is sized for [W]
    condenser_design_heat_w: float  # heat the tower rejects at design (load + compressor work) [W]
    crah_design_power_w: float
    crah_min_speed_fraction: float
    supply_air_temp_c: float
    air_delta_t_k: float
    chw_supply_temp_c: float
    chw_delta_t_k: float
    chw_pump_design_power_w: float
    cw_pump_design_power_w: float
    pump_min_flow_fraction: float
    cw_range_k: float
    tower_approach_k: float
    tower_fan_design_power_w: float
    tower_min_fan_fraction: float
    tower_min_water_temp_c: float
    cycles_of_concentration: float
    drift_fraction: float
    economiser: bool  # water-side economiser (plate heat exchanger)
    economiser_hx_approach_k: float
    airside_economiser: bool  # outdoor air through the AHUs when cool and dry enough
    evaporative_assist: bool  # direct evaporative pads on the outdoor air
    evaporative_effectiveness: float
    airside_max_wetbulb_c: float  # above this outdoor wet-bulb the dampers close (humidity envelope)
    chiller_min_condenser_temp_c: float
    chiller_count: int
    chiller_unit_capacity_w: float
    chiller: ChillerCurve
    heat_capacity_j_per_k: float  # thermal mass of room air + chilled-water loop [J/K]
    air_cooled: bool  # dry heat rejection: air-cooled chillers + dry-cooler economiser, no tower
    dry_approach_k: float  # dry-cooler economiser: leaving water - outdoor dry-bulb [K]
    condenser_approach_k: float  # air-cooled condenser: condensing - outdoor dry-bulb [K]
    air_cooled_carnot_efficiency: float


class LiquidPlantParams(NamedTuple):
    """Design of the liquid path: CDUs (direct-to-chip) or tanks (immersion), facility water loop,
    dry coolers with optional adiabatic pre-cooling and trim chiller (catalog/cooling.yaml)."""

    design_heat_w: float  # liquid heat at design [W]
    supply_temp_c: float  # facility-water supply set point [C] (ASHRAE W-class for direct-to-chip)
    loop_delta_t_k: float  # facility-water supply/return difference at design [K]
    coolant_approach_k: float  # GPU coolant = facility water + approach (CDU / tank HX / condenser)
    coolant_floor_c: float  # two-phase: the fluid boils at its saturation temperature, never below
    cdu_capacity_w: float  # installed CDU / tank heat-exchange capacity incl. redundancy [W]
    pump_design_power_w: float  # CDU or dielectric pumps + facility-water pumps at design flow [W]
    pump_min_flow_fraction: float
    drycooler_ua_w_per_k: float  # dry-cooler capacity per K of (return - air inlet) at full fan [W/K]
    drycooler_fan_design_power_w: float
    drycooler_min_fan_fraction: float
    drycooler_air_effectiveness: float  # coil effectiveness on the air side (for air flow and pad water)
    adiabatic: bool
    adiabatic_effectiveness: float
    trim_capacity_w: float  # trim chiller capacity (0: none) [W]
    trim_carnot_efficiency: float  # second-law efficiency of the trim chiller
    trim_condenser_approach_k: float
    heat_capacity_j_per_k: float  # thermal mass of coolant, tanks and facility water [J/K]


@njit(cache=True)
def affinity_power_w(flow_fraction, design_power_w, min_fraction):
    """Fan or pump power [W] by the affinity laws: P = P_design (Q/Q_design)^3.

    Q ~ N, dp ~ N^2, P ~ N^3 (e.g. ASHRAE Handbook - HVAC Systems and Equipment, ch. 21
    "Fans"); below the minimum speed the machine runs at that speed, above full speed it cannot.
    """
    f = min(max(flow_fraction, min_fraction), 1.0)
    return design_power_w * f * f * f


@njit(cache=True)
def fan_or_pump_design_power_w(flow_m3_s, pressure_pa, efficiency):
    """Shaft-to-wire power [W] of a fan or pump: P = dp V / eta."""
    return pressure_pa * flow_m3_s / efficiency


@njit(cache=True)
def crah_airflow_m3_s(heat_w, air_delta_t_k):
    """Air volume flow [m3/s] to carry heat_w at a supply/return difference: V = Q / (rho c_p dT)."""
    return heat_w / (AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K * air_delta_t_k)


@njit(cache=True)
def biquadratic(c, x, y):
    """EnergyPlus Curve:Biquadratic: c0 + c1 x + c2 x^2 + c3 y + c4 y^2 + c5 x y."""
    return c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y


@njit(cache=True)
def chiller_power_eir_w(load_w, chw_leaving_c, cw_entering_c, unit_capacity_w, unit_count, curve):
    """Electric power of a bank of equal chillers staged on load [W], and the unmet load [W].

    EnergyPlus Engineering Reference, "Electric Chiller Model Based on Condenser Entering
    Temperature" (Chiller:Electric:EIR, the DOE-2.1 model):
        Q_avail = Q_ref CAPFT(T_chw,l, T_cw,e)
        PLR     = Q / Q_avail
        P       = (Q_avail / COP_ref) EIRFT(T_chw,l, T_cw,e) EIRFPLR(PLR)
    Curve inputs are clamped to the curve's data range, as EnergyPlus does. Below PLR_min
    the compressor cycles (false loading), so EIRFPLR is taken at PLR_min and scaled by
    PLR/PLR_min. Staging: of the chiller counts that meet the load (sharing it equally), the
    plant runs the one that draws least, as kW/ton-based chiller plant managers do (with the
    DOE-2 part-load curve two chillers at part load often beat one at full load).
    """
    if load_w <= 0.0:
        return 0.0, 0.0, 0
    if unit_count <= 0:
        return 0.0, load_w, 0
    tchw = min(max(chw_leaving_c, curve.chw_min_c), curve.chw_max_c)
    tcw = min(max(cw_entering_c, curve.cw_min_c), curve.cw_max_c)
    capft = biquadratic(curve.capft, tchw, tcw)
    eirft = biquadratic(curve.eirft, tchw, tcw)
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
def waterside_economiser_fraction(chw_return_c, chw_supply_c, tower_water_c, hx_approach_k):
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
def latent_heat_vaporisation_j_kg(water_temp_c):
    """h_fg [J/kg] of water: (2501 - 2.326 t) kJ/kg, the linearisation inside ASHRAE
    Fundamentals 2017 ch.1 eq. 33 (h_g - h_f with c_p,v = 1.86, c_w = 4.186 kJ/kg/K)."""
    return (2501.0 - 2.326 * water_temp_c) * 1000.0


@njit(cache=True)
def moist_air_enthalpy_j_kg(drybulb_c, humidity_ratio):
    """h = 1.006 t + W (2501 + 1.86 t) kJ/kg dry air; ASHRAE Fundamentals 2017 ch.1 eq. 30."""
    return (1.006 * drybulb_c + humidity_ratio * (2501.0 + 1.86 * drybulb_c)) * 1000.0


@njit(cache=True)
def tower_evaporative_fraction(drybulb_c, wetbulb_c, mean_water_c):
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
    heat_rejected_w, range_k, water_temp_c, evaporative_fraction, drift_fraction, cycles_of_concentration
):
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
def direct_evaporative_outlet_c(drybulb_c, wetbulb_c, effectiveness):
    """Air leaving a direct evaporative pad: T = T_db - eps (T_db - T_wb) (saturation effectiveness
    0.8-0.9 for rigid media; ASHRAE Handbook HVAC Applications ch. 53)."""
    return drybulb_c - effectiveness * (drybulb_c - wetbulb_c)


@njit(cache=True)
def evaporated_water_kg_s(air_mass_kg_s, cooling_k, water_temp_c):
    """Water evaporated to cool an air stream adiabatically by cooling_k [kg/s]: m_a c_p dT / h_fg
    (the sensible heat given up becomes latent heat of the added vapour)."""
    return air_mass_kg_s * AIR_CP_J_KG_K * cooling_k / latent_heat_vaporisation_j_kg(water_temp_c)


@njit(cache=True)
def airside_economiser(drybulb_c, wetbulb_c, supply_c, return_c, evaporative, effectiveness, max_wetbulb_c):
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
def air_plant(load_w, drybulb_c, wetbulb_c, p, chillers_available):
    """One step of the air path removing load_w of white-space heat [W].

    Returns (crah_fan_w, chiller_w, chw_pump_w, cw_pump_w, tower_fan_w (or dry-cooler/condenser
    fans when air_cooled), economiser_fraction,
    chiller_cop, unmet_w, heat_rejected_w, evaporation_kg_s, drift_kg_s, blowdown_kg_s,
    adiabatic_kg_s). Every watt drawn by fans and pumps inside the loop ends up in the water the
    tower rejects: heat_rejected_w = room heat removed + CRAH fans + pumps + compressor work
    (outdoor air carries its share straight out). unmet_w is heat the chillers could not take
    (too few available, or beyond capacity): it stays in the room (loop_temp_after_c).
    """
    crah_w = affinity_power_w(load_w / p.design_heat_w, p.crah_design_power_w, p.crah_min_speed_fraction)
    coil_w = load_w + crah_w
    return_c = p.supply_air_temp_c + p.air_delta_t_k

    air_econ = 0.0
    adiabatic = 0.0
    if p.airside_economiser:
        air_econ, evap_k = airside_economiser(
            drybulb_c,
            wetbulb_c,
            p.supply_air_temp_c,
            return_c,
            p.evaporative_assist,
            p.evaporative_effectiveness,
            p.airside_max_wetbulb_c,
        )
        if air_econ > 0.0 and evap_k > 0.0:
            air_kg_s = coil_w / (AIR_CP_J_KG_K * p.air_delta_t_k)
            adiabatic = evaporated_water_kg_s(air_kg_s, evap_k, wetbulb_c)
    water_side_w = (1.0 - air_econ) * coil_w

    chw_pump_w = 0.0
    if water_side_w > 0.0:
        chw_pump_w = affinity_power_w(
            water_side_w / p.design_heat_w, p.chw_pump_design_power_w, p.pump_min_flow_fraction
        )
    chw_load_w = water_side_w + chw_pump_w
    chw_return_c = p.chw_supply_temp_c + p.chw_delta_t_k

    if p.air_cooled:
        # Dry rejection: a dry-cooler economiser coil upstream of air-cooled chillers (Lei & Masanet
        # 2022 "air-cooled chiller" designs); no evaporation, condenser fans on the affinity law.
        economiser_water_c = drybulb_c + p.dry_approach_k
    else:
        economiser_water_c = max(wetbulb_c + p.tower_approach_k, p.tower_min_water_temp_c)
    wse = 0.0
    if p.economiser:
        wse = waterside_economiser_fraction(
            chw_return_c, p.chw_supply_temp_c, economiser_water_c, p.economiser_hx_approach_k
        )
    chiller_load_w = (1.0 - wse) * chw_load_w
    if p.air_cooled:
        cop_ac = carnot_chiller_cop(
            p.chw_supply_temp_c, drybulb_c + p.condenser_approach_k, p.air_cooled_carnot_efficiency
        )
        served_w = min(chiller_load_w, chillers_available * p.chiller_unit_capacity_w)
        chiller_w = served_w / cop_ac
        unmet_w = chiller_load_w - served_w
    else:
        cw_entering_c = max(economiser_water_c, p.chiller_min_condenser_temp_c)
        chiller_w, unmet_w, _ = chiller_power_eir_w(
            chiller_load_w, p.chw_supply_temp_c, cw_entering_c, p.chiller_unit_capacity_w, chillers_available, p.chiller
        )
    cop = (chiller_load_w - unmet_w) / chiller_w if chiller_w > 0.0 else 0.0

    condenser_w = chw_load_w - unmet_w + chiller_w
    cw_pump_w = 0.0
    if condenser_w > 0.0 and not p.air_cooled:
        cw_pump_w = affinity_power_w(
            condenser_w / p.condenser_design_heat_w, p.cw_pump_design_power_w, p.pump_min_flow_fraction
        )
    to_tower_w = condenser_w + cw_pump_w
    tower_fan_w = 0.0
    evap = drift = blowdown = 0.0
    if to_tower_w > 0.0:
        tower_fan_w = affinity_power_w(
            to_tower_w / p.condenser_design_heat_w, p.tower_fan_design_power_w, p.tower_min_fan_fraction
        )
        if not p.air_cooled:
            mean_water_c = economiser_water_c + 0.5 * p.cw_range_k
            evap, drift, blowdown = tower_water_kg_s(
                to_tower_w,
                p.cw_range_k,
                mean_water_c,
                tower_evaporative_fraction(drybulb_c, wetbulb_c, mean_water_c),
                p.drift_fraction,
                p.cycles_of_concentration,
            )
    heat_rejected_w = air_econ * coil_w + to_tower_w
    econ = air_econ + (1.0 - air_econ) * wse
    return (
        crah_w,
        chiller_w,
        chw_pump_w,
        cw_pump_w,
        tower_fan_w,
        econ,
        cop,
        unmet_w,
        heat_rejected_w,
        evap,
        drift,
        blowdown,
        adiabatic,
    )


@njit(cache=True)
def carnot_chiller_cop(evaporator_c, condenser_c, carnot_efficiency):
    """Chiller COP as a fraction of the Carnot COP: eta_II T_evap / (T_cond - T_evap) (K).
    eta_II ~ 0.45-0.65 for large machines ([M], docs/model.md#air-cooling-plant); capped at 15 for tiny lifts."""
    lift = max(condenser_c - evaporator_c, 1.0)
    return min(carnot_efficiency * (evaporator_c + 273.15) / lift, 15.0)


@njit(cache=True)
def liquid_plant(load_w, facility_supply_c, drybulb_c, wetbulb_c, p, cdu_available, drycooler_available):
    """One step of the liquid path removing load_w [W] from the coolant.

    Variable-speed pumps hold the design supply/return difference, so T_ret = T_sup + dT; dry coolers (capacity
    UA (T_ret - T_air) at full fan, fans on the affinity law) reject it to outdoor air, pre-cooled
    by adiabatic pads when the dry coil falls short (T_air = T_db - eps (T_db - T_wb)); a trim
    chiller (Carnot-fraction COP, air-cooled condenser) takes what is left up to its capacity.
    CDUs (or tank heat exchangers) bound the heat that can leave the racks at all.
    Dry cooler: constant-effectiveness coil, air flow ~ fan speed (ASHRAE Handbook HVAC Systems and
    Equipment ch. 40 "Cooling towers"/dry coolers; approach typically 5-10 K [M]).

    Returns (pump_w, drycooler_fan_w, trim_chiller_w, removed_w, adiabatic_kg_s, trim_cop,
    heat_rejected_w) with heat_rejected_w = removed + pump heat + trim compressor work.
    """
    pump_w = affinity_power_w(load_w / p.design_heat_w, p.pump_design_power_w, p.pump_min_flow_fraction)
    to_reject_w = min(load_w, cdu_available * p.cdu_capacity_w) + pump_w
    return_c = facility_supply_c + p.loop_delta_t_k
    ua = p.drycooler_ua_w_per_k * drycooler_available
    air_c = drybulb_c
    dry_cap_w = ua * max(return_c - air_c, 0.0)
    adiabatic = 0.0
    if p.adiabatic and dry_cap_w < to_reject_w:
        air_c = direct_evaporative_outlet_c(drybulb_c, wetbulb_c, p.adiabatic_effectiveness)
        dry_cap_w = ua * max(return_c - air_c, 0.0)
    dry_w = min(to_reject_w, dry_cap_w)
    fan_frac = 0.0
    if ua > 0.0 and return_c > air_c:
        fan_frac = dry_w / (ua * (return_c - air_c))
    fan_w = 0.0
    if dry_w > 0.0:
        fan_w = affinity_power_w(fan_frac, p.drycooler_fan_design_power_w, p.drycooler_min_fan_fraction)
        if air_c < drybulb_c:
            air_kg_s = fan_frac * p.drycooler_ua_w_per_k / (p.drycooler_air_effectiveness * AIR_CP_J_KG_K)
            adiabatic = evaporated_water_kg_s(air_kg_s, drybulb_c - air_c, wetbulb_c)
    trim_w = 0.0
    trim_cop = 0.0
    trim_q = min(to_reject_w - dry_w, p.trim_capacity_w)
    if trim_q > 0.0:
        trim_cop = carnot_chiller_cop(
            facility_supply_c, drybulb_c + p.trim_condenser_approach_k, p.trim_carnot_efficiency
        )
        trim_w = trim_q / trim_cop
    removed_w = dry_w + trim_q - pump_w
    return pump_w, fan_w, trim_w, removed_w, adiabatic, trim_cop, dry_w + trim_q + trim_w


@njit(cache=True)
def loop_temp_after_c(temp_c, set_point_c, heat_in_w, removed_w, heat_capacity_j_per_k, dt_s):
    """Coolant loop temperature after a step: C dT/dt = Q_in - Q_removed, never below set point.

    The plant is asked for Q_in + C (T - T_set) / dt (recover to set point within the step) and
    removes what it can; the balance is stored in the loop (lumped capacitance, energy balance).
    """
    return max(temp_c + (heat_in_w - removed_w) * dt_s / heat_capacity_j_per_k, set_point_c)


@njit(cache=True)
def recovery_demand_w(temp_c, set_point_c, heat_in_w, heat_capacity_j_per_k, dt_s):
    """Heat the plant is asked to remove this step: the load plus what returns the loop to set point."""
    return heat_in_w + max(temp_c - set_point_c, 0.0) * heat_capacity_j_per_k / dt_s
