"""The air path: CRAH/AHU fans, a chilled-water plant of staged EIR chillers (or air-cooled
chillers behind a dry-cooler coil), cooling tower, and water-side and air-side economisers.

Every architecture has one, for the heat left in the room air (all of it for air cooling; the
share cold plates do not capture, PSUs, PDUs, UPS and lighting otherwise). Heat path: white-space
heat is picked up by the CRAH coils (plus CRAH fan heat), carried by chilled water (plus pump heat)
to the economiser heat exchanger and/or the chillers; the condenser heat (load + compressor work +
condenser pump heat) is rejected by the tower, mostly by evaporation.
docs/model.md#air-cooling-plant.
"""

from typing import NamedTuple

from numba import njit

from twin.physics.cooling import (
    AIR_CP_J_KG_K,
    ChillerCurve,
    affinity_power_w,
    airside_economiser,
    carnot_chiller_cop,
    chiller_power_eir_w,
    evaporated_water_kg_s,
    tower_evaporative_fraction,
    tower_water_kg_s,
    waterside_economiser_fraction,
)


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
    storage_j: float  # chilled-water storage: the cooling a full tank holds [J] (0: none)
    storage_recharge_w: float  # the most spare chillers put back into it [W]


class AirFlows(NamedTuple):
    """One step of the air plant. Every watt drawn by fans and pumps inside the loop ends up in the
    water the tower rejects: heat_rejected_w = room heat removed + CRAH fans + pumps + compressor
    work (outdoor air carries its share straight out). unmet_w is heat the chillers could not take
    (too few available, or beyond capacity): it stays in the room (loop_temp_after_c)."""

    crah_fan_w: float
    chiller_w: float
    chw_pump_w: float
    cw_pump_w: float
    tower_fan_w: float  # or dry-cooler / condenser fans when air_cooled
    economiser_fraction: float  # share of the load carried by outdoor air or the economiser HX, 0..1
    chiller_cop: float
    unmet_w: float
    heat_rejected_w: float
    evaporation_kg_s: float
    drift_kg_s: float
    blowdown_kg_s: float
    adiabatic_kg_s: float  # evaporative pads on the outdoor air


@njit(cache=True)
def air_plant_power_w(f: AirFlows) -> float:
    """Electric power of the air plant's fans, pumps and chillers in one step [W]."""
    return f.crah_fan_w + f.chiller_w + f.chw_pump_w + f.cw_pump_w + f.tower_fan_w


@njit(cache=True)
def air_plant(
    load_w: float,
    drybulb_c: float,
    wetbulb_c: float,
    p: AirPlantParams,
    chillers_available: int,
    warm_k: float = 0.0,
    refill_w: float = 0.0,
) -> AirFlows:
    """One step of the air path removing load_w of white-space heat [W] (see AirFlows). warm_k: how far the
    room and its chilled water run above their set points (a plant short of chillers): the chillers' leaving
    water and the economiser's entering water are that much warmer. refill_w: heat taken from a chilled-water
    tank on the water side (the coils and outdoor air do not see it)."""
    crah_w, coil_w, air_econ, adiabatic = _airside(load_w, drybulb_c, wetbulb_c, p)
    chw_pump_w, chw_load_w, economiser_water_c, wse, chiller_w, unmet_w, cop = _chilled_water(
        (1.0 - air_econ) * coil_w + refill_w, drybulb_c, wetbulb_c, p, chillers_available, max(warm_k, 0.0)
    )
    cw_pump_w, to_tower_w, tower_fan_w, evap, drift, blowdown = _condenser(
        chw_load_w - unmet_w + chiller_w, economiser_water_c, drybulb_c, wetbulb_c, p
    )
    return AirFlows(
        crah_w,
        chiller_w,
        chw_pump_w,
        cw_pump_w,
        tower_fan_w,
        air_econ + (1.0 - air_econ) * wse,
        cop,
        unmet_w,
        air_econ * coil_w + to_tower_w,
        evap,
        drift,
        blowdown,
        adiabatic,
    )


@njit(cache=True, inline="always")
def _airside(load_w, drybulb_c, wetbulb_c, p):
    """CRAH fans on the affinity law and the air-side economiser: (crah_w, coil_w, share carried by
    outdoor air, pad water [kg/s])."""
    crah_w = affinity_power_w(load_w / p.design_heat_w, p.crah_design_power_w, p.crah_min_speed_fraction)
    coil_w = load_w + crah_w
    air_econ = 0.0
    adiabatic = 0.0
    if p.airside_economiser:
        air_econ, evap_k = airside_economiser(
            drybulb_c,
            wetbulb_c,
            p.supply_air_temp_c,
            p.supply_air_temp_c + p.air_delta_t_k,
            p.evaporative_assist,
            p.evaporative_effectiveness,
            p.airside_max_wetbulb_c,
        )
        if air_econ > 0.0 and evap_k > 0.0:
            air_kg_s = coil_w / (AIR_CP_J_KG_K * p.air_delta_t_k)
            adiabatic = evaporated_water_kg_s(air_kg_s, evap_k, wetbulb_c)
    return crah_w, coil_w, air_econ, adiabatic


@njit(cache=True, inline="always")
def _chilled_water(water_side_w, drybulb_c, wetbulb_c, p, chillers_available, warm_k):
    """Chilled-water pumps, the water-side economiser and the chillers for the coils' water-side load:
    (chw_pump_w, chw_load_w, economiser water temperature, economiser share, chiller_w, unmet_w, COP).
    With the loop warm_k above its set points the economiser precools warmer return water (its share of the
    load, (T_ret - T_hx) / (T_ret - T_sup) at constant flow, grows) and the chillers leave warmer water: so a
    plant short of chillers removes more as the room warms, and an outage levels off where that meets the heat
    (or the servers reach their inlet limit first). The economiser takes its share of at most the design flow's
    heat (ASHRAE Handbook HVAC Systems and Equipment ch. 48, plate heat exchangers at fixed flow [M])."""
    chw_pump_w = 0.0
    if water_side_w > 0.0:
        chw_pump_w = affinity_power_w(
            water_side_w / p.design_heat_w, p.chw_pump_design_power_w, p.pump_min_flow_fraction
        )
    chw_load_w = water_side_w + chw_pump_w
    chw_supply_c = p.chw_supply_temp_c + warm_k
    chw_return_c = chw_supply_c + p.chw_delta_t_k
    if p.air_cooled:
        # Dry rejection: a dry-cooler economiser coil upstream of air-cooled chillers (Lei & Masanet
        # 2022 "air-cooled chiller" designs); no evaporation, condenser fans on the affinity law.
        economiser_water_c = drybulb_c + p.dry_approach_k
    else:
        economiser_water_c = max(wetbulb_c + p.tower_approach_k, p.tower_min_water_temp_c)
    wse = 0.0
    if p.economiser:
        # the exchanger cools the return water on its way to the chillers: its share of the water's heat, at most
        # the design flow's (pumps at full speed), however much a warm room asks
        share = waterside_economiser_fraction(
            chw_return_c, chw_supply_c, economiser_water_c, p.economiser_hx_approach_k
        )
        design_w = p.design_heat_w + p.crah_design_power_w + p.chw_pump_design_power_w  # the coils' design load
        if chw_load_w > 0.0:
            wse = share * min(chw_load_w, design_w) / chw_load_w
    chiller_load_w = (1.0 - wse) * chw_load_w
    if p.air_cooled:
        cop_ac = carnot_chiller_cop(chw_supply_c, drybulb_c + p.condenser_approach_k, p.air_cooled_carnot_efficiency)
        served_w = min(chiller_load_w, chillers_available * p.chiller_unit_capacity_w)
        chiller_w = served_w / cop_ac
        unmet_w = chiller_load_w - served_w
    else:
        cw_entering_c = max(economiser_water_c, p.chiller_min_condenser_temp_c)
        chiller_w, unmet_w, _ = chiller_power_eir_w(
            chiller_load_w, chw_supply_c, cw_entering_c, p.chiller_unit_capacity_w, chillers_available, p.chiller
        )
    cop = (chiller_load_w - unmet_w) / chiller_w if chiller_w > 0.0 else 0.0
    return chw_pump_w, chw_load_w, economiser_water_c, wse, chiller_w, unmet_w, cop


@njit(cache=True, inline="always")
def _condenser(condenser_w, economiser_water_c, drybulb_c, wetbulb_c, p):
    """Condenser-water pumps, tower (or dry-cooler) fans and tower water for condenser_w of heat:
    (cw_pump_w, heat to the tower [W], tower_fan_w, evaporation, drift, blowdown [kg/s])."""
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
    return cw_pump_w, to_tower_w, tower_fan_w, evap, drift, blowdown
