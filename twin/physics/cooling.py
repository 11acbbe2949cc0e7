"""Air-cooled plant: CRAH fans, chilled-water plant with staged EIR chillers, cooling tower,
water-side economiser, and the tower's water use.

Heat path: white-space heat (IT + losses in the room + other) is picked up by the CRAH
coils (plus CRAH fan heat), carried by chilled water (plus chilled-water pump heat) to the
economiser heat exchanger and/or the chillers; the condenser heat (load + compressor work +
condenser pump heat) is rejected by the tower, mostly by evaporation.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

AIR_DENSITY_KG_M3 = 1.2            # kg/m3, dry air at 20 C, 101.3 kPa (ASHRAE Fundamentals 2017 ch.1)
AIR_CP_J_KG_K = 1006.0             # J/(kg K), dry air (ASHRAE Fundamentals 2017 ch.1 eq. 30)
WATER_CP_J_KG_K = 4186.0           # J/(kg K), liquid water near 20 C
WATER_DENSITY_KG_M3 = 998.0        # kg/m3, liquid water at 20 C


class ChillerCurve(NamedTuple):
    """EnergyPlus Chiller:Electric:EIR performance curves (DOE-2.1 chiller model)."""
    reference_cop: float
    chw_min_c: float
    chw_max_c: float
    cw_min_c: float
    cw_max_c: float
    plr_min: float
    plr_max: float
    capft: np.ndarray   # 6 biquadratic coefficients in (T_chw,leaving, T_cw,entering) [degC]
    eirft: np.ndarray   # 6 biquadratic coefficients
    eirfplr: np.ndarray  # 3 quadratic coefficients in PLR


class AirPlantParams(NamedTuple):
    """Design of an air-cooled hall with a water-cooled chilled-water plant (see catalog/cooling.yaml)."""
    design_heat_w: float             # white-space heat the plant is sized for [W]
    condenser_design_heat_w: float   # heat the tower rejects at design (load + compressor work) [W]
    crah_design_power_w: float
    crah_min_speed_fraction: float
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
    evaporative_fraction: float
    economiser: bool
    economiser_hx_approach_k: float
    chiller_min_condenser_temp_c: float
    chiller_count: int
    chiller_unit_capacity_w: float
    chiller: ChillerCurve


@njit(cache=True)
def affinity_power_w(flow_fraction, design_power_w, min_fraction):
    """Fan or pump power [W] by the affinity laws: P = P_design (Q/Q_design)^3.

    Q ~ N, dp ~ N^2, P ~ N^3 (e.g. ASHRAE Handbook - HVAC Systems and Equipment, ch. 21
    "Fans"); below the minimum speed the machine runs at that speed.
    """
    f = max(flow_fraction, min_fraction)
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
    PLR/PLR_min. The fewest chillers that meet the load run, sharing it equally.
    """
    if load_w <= 0.0:
        return 0.0, 0.0, 0
    tchw = min(max(chw_leaving_c, curve.chw_min_c), curve.chw_max_c)
    tcw = min(max(cw_entering_c, curve.cw_min_c), curve.cw_max_c)
    capft = biquadratic(curve.capft, tchw, tcw)
    eirft = biquadratic(curve.eirft, tchw, tcw)
    unit_avail_w = unit_capacity_w * capft
    units = unit_count
    for k in range(1, unit_count + 1):
        if load_w <= k * unit_avail_w:
            units = k
            break
    served_w = min(load_w, units * unit_avail_w * curve.plr_max)
    plr = served_w / (units * unit_avail_w)
    if plr >= curve.plr_min:
        eirfplr = curve.eirfplr[0] + curve.eirfplr[1] * plr + curve.eirfplr[2] * plr * plr
    else:
        p = curve.plr_min
        eirfplr = (curve.eirfplr[0] + curve.eirfplr[1] * p + curve.eirfplr[2] * p * p) * plr / p
    power_w = units * unit_avail_w / curve.reference_cop * eirft * eirfplr
    return power_w, load_w - served_w, units


@njit(cache=True)
def waterside_economiser_fraction(chw_return_c, chw_supply_c, tower_water_c, hx_approach_k):
    """Share of the chilled-water load the economiser heat exchanger carries, 0..1.

    The plate heat exchanger sits upstream of the chillers on the chilled-water return and
    cools it to at best T_tower + approach_HX; the chillers trim the rest (partial
    economiser). Full economiser when T_wb + approach_CT + approach_HX <= T_chw,supply
    (FEMP Best Practices Guide for Energy-Efficient Data Center Design, 2024; Lei & Masanet
    2022 Table 3 approaches). REFERENCE.md sec. 3.3.
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
def tower_water_kg_s(heat_rejected_w, range_k, water_temp_c, evaporative_fraction,
                     drift_fraction, cycles_of_concentration):
    """Cooling-tower evaporation, drift and blowdown [kg/s].

    E = f_evap Q / h_fg           (f_evap ~ 0.85: E[gpm] = 0.00085 Range[F] Q[gpm], i.e. 85 %
                                   of the heat leaves as latent heat; checalc / Cooling Towers P&P)
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
def air_plant(room_heat_w, drybulb_c, wetbulb_c, p):
    """One step of the air-cooled plant for a white-space heat load [W].

    Returns (crah_fan_w, chiller_w, chw_pump_w, cw_pump_w, tower_fan_w, economiser_fraction,
    chiller_cop, unmet_w, heat_rejected_w, evaporation_kg_s, drift_kg_s, blowdown_kg_s).
    Every watt drawn by fans and pumps inside the loop ends up in the water the tower rejects,
    so heat_rejected_w = room heat + CRAH fans + pumps + compressor work.
    """
    design_frac_air = room_heat_w / p.design_heat_w
    crah_w = affinity_power_w(design_frac_air, p.crah_design_power_w, p.crah_min_speed_fraction)
    coil_w = room_heat_w + crah_w

    chw_pump_w = affinity_power_w(coil_w / p.design_heat_w, p.chw_pump_design_power_w, p.pump_min_flow_fraction)
    chw_load_w = coil_w + chw_pump_w
    chw_return_c = p.chw_supply_temp_c + p.chw_delta_t_k

    tower_water_c = max(wetbulb_c + p.tower_approach_k, p.tower_min_water_temp_c)
    econ = 0.0
    if p.economiser:
        econ = waterside_economiser_fraction(chw_return_c, p.chw_supply_temp_c, tower_water_c,
                                             p.economiser_hx_approach_k)
    chiller_load_w = (1.0 - econ) * chw_load_w
    cw_entering_c = max(tower_water_c, p.chiller_min_condenser_temp_c)
    chiller_w, unmet_w, _ = chiller_power_eir_w(chiller_load_w, p.chw_supply_temp_c, cw_entering_c,
                                                p.chiller_unit_capacity_w, p.chiller_count, p.chiller)
    cop = (chiller_load_w - unmet_w) / chiller_w if chiller_w > 0.0 else 0.0

    condenser_w = chw_load_w - unmet_w + chiller_w
    cw_pump_w = affinity_power_w(condenser_w / p.condenser_design_heat_w, p.cw_pump_design_power_w,
                                 p.pump_min_flow_fraction)
    heat_rejected_w = condenser_w + cw_pump_w
    tower_fan_w = affinity_power_w(heat_rejected_w / p.condenser_design_heat_w, p.tower_fan_design_power_w,
                                   p.tower_min_fan_fraction)
    evap, drift, blowdown = tower_water_kg_s(heat_rejected_w, p.cw_range_k,
                                             tower_water_c + 0.5 * p.cw_range_k, p.evaporative_fraction,
                                             p.drift_fraction, p.cycles_of_concentration)
    return (crah_w, chiller_w, chw_pump_w, cw_pump_w, tower_fan_w, econ, cop, unmet_w,
            heat_rejected_w, evap, drift, blowdown)
