"""The liquid path's facility side: the facility water loop's pumps, dry coolers with adiabatic
pre-cooling, and a trim chiller. The CDUs (direct-to-chip) or tank heat exchangers (immersion) that
pass the racks' heat to the facility water belong to the rows (twin/physics/rows.py).
docs/model.md#liquid-cooling-plant.
"""

from typing import NamedTuple

from numba import njit

from twin.physics.cooling import (
    AIR_CP_J_KG_K,
    affinity_power_w,
    carnot_chiller_cop,
    direct_evaporative_outlet_c,
    evaporated_water_kg_s,
)


class LiquidPlantParams(NamedTuple):
    """Design of the liquid path: CDUs (direct-to-chip) or tanks (immersion), facility water loop,
    dry coolers with optional adiabatic pre-cooling and trim chiller (catalog/cooling.yaml)."""

    design_heat_w: float  # liquid heat at design [W]
    supply_temp_c: float  # facility-water supply set point [C] (ASHRAE W-class for direct-to-chip)
    loop_delta_t_k: float  # facility-water supply/return difference at design [K]
    coolant_approach_k: float  # GPU coolant = facility water + approach (CDU / tank HX / condenser)
    coolant_floor_c: float  # two-phase: the fluid boils at its saturation temperature, never below
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


class LiquidFlows(NamedTuple):
    """One step of the liquid plant; heat_rejected_w = removed + pump heat + trim compressor work."""

    pump_w: float
    drycooler_fan_w: float
    trim_chiller_w: float
    removed_w: float  # heat taken out of the coolant loop
    adiabatic_kg_s: float  # pad water on the dry coolers
    trim_cop: float
    heat_rejected_w: float


@njit(cache=True)
def liquid_plant_power_w(f: LiquidFlows) -> float:
    """Electric power of the liquid plant's pumps, dry-cooler fans and trim chiller in one step [W]."""
    return f.pump_w + f.drycooler_fan_w + f.trim_chiller_w


@njit(cache=True)
def liquid_plant(
    load_w: float,
    facility_supply_c: float,
    drybulb_c: float,
    wetbulb_c: float,
    p: LiquidPlantParams,
    drycooler_available: float,
) -> LiquidFlows:
    """One step of the liquid path removing load_w [W] from the coolant.

    Variable-speed pumps hold the design supply/return difference, so T_ret = T_sup + dT; dry coolers (capacity
    UA (T_ret - T_air) at full fan, fans on the affinity law) reject it to outdoor air; only when the fans at full
    speed fall short are adiabatic pads wetted, section by section, for the missing capacity (the air through a
    wetted section at T_db - eps (T_db - T_wb)), as hybrid dry coolers are controlled (fans first, water last:
    ASHRAE Handbook HVAC Systems and Equipment 2020 ch. 40, hybrid and adiabatic coolers) [M]; a trim
    chiller (Carnot-fraction COP, air-cooled condenser) takes what is left up to its capacity.
    Dry cooler: constant-effectiveness coil, air flow ~ fan speed (ASHRAE Handbook HVAC Systems and
    Equipment ch. 40 "Cooling towers"/dry coolers; approach typically 5-10 K [M]).
    drycooler_available: share of the installed dry coolers in service, 0..1.
    """
    pump_w = affinity_power_w(load_w / p.design_heat_w, p.pump_design_power_w, p.pump_min_flow_fraction)
    to_reject_w = load_w + pump_w
    return_c = facility_supply_c + p.loop_delta_t_k
    ua = p.drycooler_ua_w_per_k * drycooler_available
    dry_cap_w = ua * max(return_c - drybulb_c, 0.0)
    dry_w = min(to_reject_w, dry_cap_w)
    fan_frac = dry_w / (ua * (return_c - drybulb_c)) if ua > 0.0 and return_c > drybulb_c else 0.0
    adiabatic = 0.0
    if p.adiabatic and dry_cap_w < to_reject_w and ua > 0.0:
        # the fans are at full speed and still short: the pads are wetted, section by section, for what is missing
        pad_c = direct_evaporative_outlet_c(drybulb_c, wetbulb_c, p.adiabatic_effectiveness)
        gain_w = ua * (drybulb_c - pad_c)  # with every section wetted
        wet = min((to_reject_w - dry_cap_w) / gain_w, 1.0) if gain_w > 0.0 else 0.0
        dry_w = min(to_reject_w, dry_cap_w + wet * gain_w)
        fan_frac = 1.0
        air_kg_s = p.drycooler_ua_w_per_k * drycooler_available / (p.drycooler_air_effectiveness * AIR_CP_J_KG_K)
        adiabatic = wet * evaporated_water_kg_s(air_kg_s, drybulb_c - pad_c, wetbulb_c)
    fan_w = 0.0
    if dry_w > 0.0:
        fan_w = affinity_power_w(fan_frac, p.drycooler_fan_design_power_w, p.drycooler_min_fan_fraction)
    trim_w = 0.0
    trim_cop = 0.0
    trim_q = min(to_reject_w - dry_w, p.trim_capacity_w)
    if trim_q > 0.0:
        trim_cop = carnot_chiller_cop(
            facility_supply_c, drybulb_c + p.trim_condenser_approach_k, p.trim_carnot_efficiency
        )
        trim_w = trim_q / trim_cop
    removed_w = dry_w + trim_q - pump_w
    return LiquidFlows(pump_w, fan_w, trim_w, removed_w, adiabatic, trim_cop, dry_w + trim_q + trim_w)
