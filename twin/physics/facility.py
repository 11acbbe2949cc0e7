"""The whole facility for a run of steps: units of servers -> power chain -> cooling -> grid.

One kernel call advances every unit (twin/physics/servers.py) over every step between two
simulation events (docs/architecture.md#the-flow-of-a-run: few events, many steps). Results go
into one preallocated (steps x columns) array whose columns are twin/physics/columns.py COLUMNS;
the thermal state (die temperatures, coolant loops, battery) carries over from one call to the next
in a FacilityState. Each subsystem is its own function: servers_step, chain_losses_w,
air_loop_step, liquid_loop_step, behind_the_meter; solve_step joins them, record writes the row.

Power flow (each loss is heat in the room where it occurs):
    servers (GPUs + host + fans, behind their PSUs: IT power at the wall) <- PDU (white space)
    <- UPS or HVDC rectifier (electrical room, cooled by the air path) <- transformer (outdoor
    yard, rejected to ambient); the transformer also feeds cooling and other loads.
    facility = IT + cooling + (PDU + UPS + transformer losses) + other
    grid import (the meter) = facility - on-site solar used - battery discharge; carbon, indirect
    water and energy cost follow the grid import.
Heat flow: a unit's IT heat splits into liquid (cold plates / tanks) and room air; PDU, UPS and
other loads heat the room air. Each coolant loop removes what its plant can; the rest is stored
in the loop (its temperature rises), and GPUs see their loop's temperature.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics.air_plant import AirFlows, AirPlantParams, air_plant, air_plant_power_w
from twin.physics.columns import (
    C_BATT,
    C_BLOW,
    C_CAPF,
    C_CARBON,
    C_CDU,
    C_CHILLER,
    C_CHWP,
    C_CI,
    C_CLOCK,
    C_COOL,
    C_COOLANT,
    C_COP,
    C_CRAH,
    C_CWP,
    C_DB,
    C_DIE,
    C_DRIFT,
    C_DRYFAN,
    C_ECON,
    C_ECOST,
    C_EVAP,
    C_EWIF,
    C_FAC,
    C_FCOST,
    C_GPU,
    C_HOST,
    C_IMPORT,
    C_INLET,
    C_IT,
    C_ITTRAIN,
    C_LIQ,
    C_LOSS,
    C_OTHER,
    C_PDU,
    C_PRICE,
    C_PSU,
    C_REJ,
    C_SFAN,
    C_SOLAR,
    C_TFAN,
    C_TOK,
    C_TOKDEM,
    C_TOKTRAIN,
    C_TRIM,
    C_UNMET,
    C_UPS,
    C_UTIL,
    C_WADIA,
    C_WB,
    C_WCOST,
    C_WDIR,
    C_WIND,
    C_XFMR,
    N_RACK,
)
from twin.physics.cooling import WATER_DENSITY_KG_M3, loop_temp_after_c, recovery_demand_w
from twin.physics.grid import J_PER_KWH, battery_step, carbon_location_based_kg, indirect_water_m3
from twin.physics.liquid_plant import LiquidFlows, LiquidPlantParams, liquid_plant
from twin.physics.power import converter_loss_w, pdu_loss_w, transformer_loss_w
from twin.physics.servers import ServerTotals, UnitState, gpu_weighted_limit_fraction, servers_step

# Facility power cap: passes per step, and the meter watts per GPU watt assumed when lowering the limit
MAX_CAP_PASSES = 6
CAP_TOLERANCE = 0.001  # [M] a draw within 0.1 % of a cap holds it: the passes converge to about that
CAP_MARGINAL_W_PER_GPU_W = 1.3  # [M] PSU ~1.05 x power chain ~1.05 x cooling ~1.2; the passes correct the rest
UPS_MARGINAL_W_PER_GPU_W = 1.1  # [M] PSU ~1.05 x PDU; the passes correct the rest

# FacilityState.loops: coolant loop temperatures [C] and battery charge [J]
S_AIR, S_LIQUID, S_BATTERY = 0, 1, 2
# FacilityState.available: cooling units in service (fault events change it)
A_CHILLERS, A_CDU, A_DRYCOOLER = 0, 1, 2


class PowerChainParams(NamedTuple):
    transformer_rating_w: float
    transformer_no_load_fraction: float
    transformer_load_loss_fraction: float
    ups_rating_w: float  # installed UPS (or HVDC rectifier) capacity incl. redundancy
    ups_c0: float
    ups_c1: float
    ups_c2: float
    pdu_rating_w: float
    pdu_full_load_loss_fraction: float
    other_power_w: float


class OnSite(NamedTuple):
    battery_capacity_j: float
    battery_power_w: float
    battery_round_trip_efficiency: float


class Prices(NamedTuple):
    water_usd_per_m3: float
    fixed_usd_per_s: float  # amortised capex + fixed opex


class FacilityParams(NamedTuple):
    """Everything fixed about the facility during a run (twin/sim/plant.py sizes it)."""

    units: np.ndarray  # (units, fields): twin/physics/servers.py unit_matrix of the Halls
    air: AirPlantParams
    liquid: LiquidPlantParams
    chain: PowerChainParams
    onsite: OnSite
    prices: Prices


class Drivers(NamedTuple):
    """Per-step inputs. (steps, units): utilization and demand (GPU utilisation served and requested,
    0..1, shares of serving capacity; tokens and host power follow utilisation), activity (the GPU
    power model's activity at that utilisation, twin/sim/serving.py), productive (share of the
    unit's GPUs doing work that counts: training work later lost to a failure does not). (steps,):
    the site series, on-site solar AC power, and the most the facility may draw from the grid
    (cap_w) and the UPS may carry (ups_cap_w, IT + PDU), inf where nothing limits it."""

    utilization: np.ndarray
    activity: np.ndarray
    productive: np.ndarray
    demand: np.ndarray
    drybulb_c: np.ndarray
    wetbulb_c: np.ndarray
    carbon_g_per_kwh: np.ndarray
    water_l_per_kwh: np.ndarray
    price_usd_per_kwh: np.ndarray
    solar_w: np.ndarray
    cap_w: np.ndarray
    ups_cap_w: np.ndarray


class FacilityState(NamedTuple):
    """What carries over from one step (and one kernel call) to the next, updated in place."""

    loops: np.ndarray  # S_*
    available: np.ndarray  # A_*
    units: UnitState


class Records(NamedTuple):
    """Where the kernel writes: values (steps, COLUMNS); rack_sums (periods, units, RACK_COLUMNS) and
    rack_steps (periods): each unit's per-server values summed per period of period_steps steps (step i
    in period i // period_steps) and the steps counted; no periods: not kept."""

    values: np.ndarray
    rack_sums: np.ndarray
    rack_steps: np.ndarray
    period_steps: int


class StepFlows(NamedTuple):
    """One step of the whole facility, solved (see the module docstring for the flows)."""

    servers: ServerTotals
    pdu_w: float
    ups_out_w: float  # what the UPS delivers: IT + PDU losses
    ups_w: float
    other_w: float
    air: AirFlows
    liquid: LiquidFlows
    stored_w: float  # heat left in the coolant loops (the plants could not remove it)
    heat_rejected_w: float
    cooling_w: float
    transformer_w: float
    facility_w: float
    charge_w: float  # battery
    discharge_w: float
    import_w: float  # grid import at the meter
    inlet_c: float  # room air (server inlet) at the start of the step
    coolant_c: float  # GPU coolant of liquid-cooled units (room air where there are none)


@njit(cache=True)
def advance(
    i0: int, i1: int, dt_s: float, drivers: Drivers, plant: FacilityParams, state: FacilityState, out: Records
) -> None:
    """Advance steps [i0, i1) and write one row of COLUMNS per step into out.values.

    Above a cap (drivers.cap_w at the meter, drivers.ups_cap_w at the UPS) the GPUs get a power limit
    (their power in the previous pass, scaled down by the excess) and the step is solved again until
    the draw is within CAP_TOLERANCE of the cap (MAX_CAP_PASSES at most).
    """
    n_units = plant.units.shape[0]
    start = _copy_state(state)  # each pass of a step starts from the state the step started from
    limit_w = np.full(n_units, np.inf)  # per-GPU power limit of each unit in this pass
    last_w = np.zeros(n_units)  # per-GPU power of each unit in the last pass
    per_server = np.zeros((n_units, N_RACK))  # this pass's per-server values of each unit
    for i in range(i0, i1):
        _restore_state(start, state)
        limit_w.fill(np.inf)
        for attempt in range(MAX_CAP_PASSES):
            _restore_state(state, start)
            f = solve_step(i, dt_s, drivers, plant, state, limit_w, last_w, per_server)
            over, scale = cap_scale(f, drivers.cap_w[i], drivers.ups_cap_w[i])
            if over and attempt < MAX_CAP_PASSES - 1:
                for h in range(n_units):
                    limit_w[h] = last_w[h] * scale
                continue
            record(out, i, dt_s, drivers, plant, f, limit_w, per_server)
            break  # the step is within its caps (or has used its passes)


@njit(cache=True)
def _copy_state(state: FacilityState) -> FacilityState:
    units = state.units
    return FacilityState(
        state.loops.copy(),
        state.available,
        UnitState(units.die_temp_c.copy(), units.sink_temp_c.copy(), units.tripped.copy()),
    )


@njit(cache=True, inline="always")
def _restore_state(dst: FacilityState, src: FacilityState) -> None:
    """Copy src's values into dst's arrays (availability is changed only by events between calls).
    Element by element: a slice assignment makes views, whose reference counts cost more than the copy."""
    for k in range(src.loops.shape[0]):
        dst.loops[k] = src.loops[k]
    a, b = dst.units, src.units
    for h in range(b.die_temp_c.shape[0]):
        a.die_temp_c[h] = b.die_temp_c[h]
        a.sink_temp_c[h] = b.sink_temp_c[h]
        a.tripped[h] = b.tripped[h]


@njit(cache=True, inline="always")
def solve_step(
    i: int,
    dt_s: float,
    d: Drivers,
    plant: FacilityParams,
    state: FacilityState,
    limit_w: np.ndarray,
    last_w: np.ndarray,
    per_server: np.ndarray,
) -> StepFlows:
    """Step i at the GPU power limits limit_w: servers, power chain, both plants and their loops,
    transformer, solar and battery. Updates state; returns the step's flows."""
    air_c = state.loops[S_AIR]
    has_liquid = plant.liquid.design_heat_w > 0.0
    liquid_coolant_c = max(plant.liquid.coolant_floor_c, state.loops[S_LIQUID] + plant.liquid.coolant_approach_k)
    srv = servers_step(
        i,
        d,
        dt_s,
        plant.units,
        air_c,
        liquid_coolant_c,
        state.units,
        limit_w,
        last_w,
        per_server,
    )
    pdu_w, ups_out_w, ups_w = chain_losses_w(srv.it_w, plant.chain)
    other_w = plant.chain.other_power_w
    air_heat_w = srv.it_w - srv.liquid_heat_w + pdu_w + ups_w + other_w
    air, stored_w = air_loop_step(air_heat_w, d.drybulb_c[i], d.wetbulb_c[i], dt_s, plant.air, state)
    liquid = LiquidFlows(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    heat_rejected_w = air.heat_rejected_w
    if has_liquid:
        liquid, liquid_stored_w = liquid_loop_step(
            srv.liquid_heat_w, d.drybulb_c[i], d.wetbulb_c[i], dt_s, plant.liquid, state
        )
        stored_w += liquid_stored_w
        heat_rejected_w += liquid.heat_rejected_w
    cooling_w = air_plant_power_w(air) + liquid.pump_w + liquid.drycooler_fan_w + liquid.trim_chiller_w
    xfmr_out_w = ups_out_w + ups_w + cooling_w + other_w
    xfmr_w = transformer_loss_w(
        xfmr_out_w,
        plant.chain.transformer_rating_w,
        plant.chain.transformer_no_load_fraction,
        plant.chain.transformer_load_loss_fraction,
    )
    facility_w = xfmr_out_w + xfmr_w
    charge_w, discharge_w, import_w = behind_the_meter(facility_w, d.solar_w[i], dt_s, plant.onsite, state)
    return StepFlows(
        srv,
        pdu_w,
        ups_out_w,
        ups_w,
        other_w,
        air,
        liquid,
        stored_w,
        heat_rejected_w,
        cooling_w,
        xfmr_w,
        facility_w,
        charge_w,
        discharge_w,
        import_w,
        air_c,
        liquid_coolant_c if has_liquid else air_c,
    )


@njit(cache=True, inline="always")
def chain_losses_w(it_w: float, chain: PowerChainParams) -> tuple[float, float, float]:
    """(PDU loss, UPS output, UPS loss) [W] for it_w of server wall power."""
    pdu_w = pdu_loss_w(it_w, chain.pdu_rating_w, chain.pdu_full_load_loss_fraction)
    ups_out_w = it_w + pdu_w
    ups_w = converter_loss_w(ups_out_w, chain.ups_rating_w, chain.ups_c0, chain.ups_c1, chain.ups_c2)
    return pdu_w, ups_out_w, ups_w


@njit(cache=True, inline="always")
def air_loop_step(
    heat_w: float, drybulb_c: float, wetbulb_c: float, dt_s: float, air: AirPlantParams, state: FacilityState
) -> tuple[AirFlows, float]:
    """The air plant asked for heat_w plus what returns the room to set point: (its flows, heat
    stored in the room [W]); the room temperature is updated in state."""
    temp_c = state.loops[S_AIR]
    ask_w = recovery_demand_w(temp_c, air.supply_air_temp_c, heat_w, air.heat_capacity_j_per_k, dt_s)
    flows = air_plant(ask_w, drybulb_c, wetbulb_c, air, int(state.available[A_CHILLERS]))
    removed_w = ask_w - flows.unmet_w
    state.loops[S_AIR] = loop_temp_after_c(
        temp_c, air.supply_air_temp_c, heat_w, removed_w, air.heat_capacity_j_per_k, dt_s
    )
    return flows, heat_w - removed_w


@njit(cache=True, inline="always")
def liquid_loop_step(
    heat_w: float, drybulb_c: float, wetbulb_c: float, dt_s: float, liquid: LiquidPlantParams, state: FacilityState
) -> tuple[LiquidFlows, float]:
    """The liquid plant asked for heat_w plus what returns its loop to set point: (its flows, heat
    stored in the loop [W]); the loop temperature is updated in state."""
    temp_c = state.loops[S_LIQUID]
    ask_w = recovery_demand_w(temp_c, liquid.supply_temp_c, heat_w, liquid.heat_capacity_j_per_k, dt_s)
    flows = liquid_plant(
        ask_w, temp_c, drybulb_c, wetbulb_c, liquid, state.available[A_CDU], state.available[A_DRYCOOLER]
    )
    state.loops[S_LIQUID] = loop_temp_after_c(
        temp_c, liquid.supply_temp_c, heat_w, flows.removed_w, liquid.heat_capacity_j_per_k, dt_s
    )
    return flows, heat_w - flows.removed_w


@njit(cache=True, inline="always")
def behind_the_meter(
    facility_w: float, solar_w: float, dt_s: float, onsite: OnSite, state: FacilityState
) -> tuple[float, float, float]:
    """Solar first, then the battery; the grid supplies the rest: (charge, discharge, grid import) [W].
    The battery's charge is updated in state."""
    solar_used_w = min(solar_w, facility_w)
    charge_w, discharge_w, state.loops[S_BATTERY] = battery_step(
        state.loops[S_BATTERY],
        solar_w - solar_used_w,
        facility_w - solar_used_w,
        dt_s,
        onsite.battery_capacity_j,
        onsite.battery_power_w,
        onsite.battery_round_trip_efficiency,
    )
    return charge_w, discharge_w, facility_w - solar_used_w - discharge_w


@njit(cache=True, inline="always")
def cap_scale(f: StepFlows, cap_w: float, ups_cap_w: float) -> tuple[bool, float]:
    """(over a cap, factor for the GPUs' power): the excess taken as CAP_MARGINAL_W_PER_GPU_W at the meter
    (PSU, power chain and cooling on top) or UPS_MARGINAL_W_PER_GPU_W at the UPS output per GPU watt."""
    gpu_w = f.servers.gpu_w
    over_grid = f.import_w > cap_w * (1.0 + CAP_TOLERANCE)
    over_ups = f.ups_out_w > ups_cap_w * (1.0 + CAP_TOLERANCE)
    if not (over_grid or over_ups) or gpu_w <= 0.0:
        return False, 1.0
    cut = 0.0
    if over_grid:
        cut = (f.import_w - cap_w) / (CAP_MARGINAL_W_PER_GPU_W * gpu_w)
    if over_ups:
        cut = max(cut, (f.ups_out_w - ups_cap_w) / (UPS_MARGINAL_W_PER_GPU_W * gpu_w))
    return True, max(1.0 - cut, 0.05)


@njit(cache=True, inline="always")
def record(
    out: Records,
    i: int,
    dt_s: float,
    d: Drivers,
    plant: FacilityParams,
    f: StepFlows,
    limit_w: np.ndarray,
    per_server: np.ndarray,
) -> None:
    """Write step i's row, and add its per-server values to its period's sums."""
    r = out.values[i]
    _record_power(r, f)
    _record_cooling(r, f, dt_s)
    _record_grid(r, i, d, f, plant.prices, dt_s)
    r[C_CAPF] = gpu_weighted_limit_fraction(plant.units, limit_w, f.servers.gpus)
    if out.rack_sums.shape[0] > 0:  # element by element: no temporary array per step
        period = i // out.period_steps
        out.rack_steps[period] += 1.0
        for h in range(per_server.shape[0]):
            for k in range(N_RACK):
                out.rack_sums[period, h, k] += per_server[h, k]


@njit(cache=True, inline="always")
def _record_power(r: np.ndarray, f: StepFlows) -> None:
    s = f.servers
    r[C_IT] = s.it_w
    r[C_COOL] = f.cooling_w
    r[C_LOSS] = f.pdu_w + f.ups_w + f.transformer_w
    r[C_OTHER] = f.other_w
    r[C_FAC] = f.facility_w
    r[C_TOK] = s.tokens
    r[C_TOKDEM] = s.tokens_demanded
    r[C_TOKTRAIN] = s.tokens_training
    r[C_ITTRAIN] = s.training_it_w
    r[C_UTIL] = s.utilization_gpus / s.gpus if s.gpus > 0.0 else 0.0
    r[C_CLOCK] = s.clock_gpus / s.gpus if s.gpus > 0.0 else 1.0
    r[C_GPU] = s.gpu_w
    r[C_HOST] = s.host_w
    r[C_SFAN] = s.fan_w
    r[C_PSU] = s.psu_w
    r[C_DIE] = s.die_max_c
    r[C_LIQ] = s.liquid_heat_w
    r[C_PDU] = f.pdu_w
    r[C_UPS] = f.ups_w
    r[C_XFMR] = f.transformer_w
    r[C_BATT] = f.discharge_w - f.charge_w
    r[C_IMPORT] = f.import_w


@njit(cache=True, inline="always")
def _record_cooling(r: np.ndarray, f: StepFlows, dt_s: float) -> None:
    a, q = f.air, f.liquid
    to_m3 = dt_s / WATER_DENSITY_KG_M3
    r[C_CRAH] = a.crah_fan_w
    r[C_CHILLER] = a.chiller_w
    r[C_CHWP] = a.chw_pump_w
    r[C_CWP] = a.cw_pump_w
    r[C_TFAN] = a.tower_fan_w
    r[C_ECON] = a.economiser_fraction
    r[C_COP] = a.chiller_cop
    r[C_CDU] = q.pump_w
    r[C_DRYFAN] = q.drycooler_fan_w
    r[C_TRIM] = q.trim_chiller_w
    r[C_UNMET] = f.stored_w
    r[C_REJ] = f.heat_rejected_w
    r[C_INLET] = f.inlet_c
    r[C_COOLANT] = f.coolant_c
    r[C_EVAP] = a.evaporation_kg_s * to_m3
    r[C_DRIFT] = a.drift_kg_s * to_m3
    r[C_BLOW] = a.blowdown_kg_s * to_m3
    r[C_WADIA] = (a.adiabatic_kg_s + q.adiabatic_kg_s) * to_m3


@njit(cache=True, inline="always")
def _record_grid(r: np.ndarray, i: int, d: Drivers, f: StepFlows, prices: Prices, dt_s: float) -> None:
    """Site series, and what the grid import and the site's water cost: carbon, indirect water, money
    (each computed here only; demand charges and the total cost are added per period after the run)."""
    a, q = f.air, f.liquid
    import_j = f.import_w * dt_s
    water_direct = (a.evaporation_kg_s + a.drift_kg_s + a.blowdown_kg_s + a.adiabatic_kg_s + q.adiabatic_kg_s) * (
        dt_s / WATER_DENSITY_KG_M3
    )
    r[C_DB] = d.drybulb_c[i]
    r[C_WB] = d.wetbulb_c[i]
    r[C_CI] = d.carbon_g_per_kwh[i]
    r[C_PRICE] = d.price_usd_per_kwh[i]
    r[C_EWIF] = d.water_l_per_kwh[i]
    r[C_SOLAR] = d.solar_w[i]
    r[C_WDIR] = water_direct
    r[C_WIND] = indirect_water_m3(import_j, d.water_l_per_kwh[i])
    r[C_CARBON] = carbon_location_based_kg(import_j, d.carbon_g_per_kwh[i])
    r[C_ECOST] = import_j / J_PER_KWH * d.price_usd_per_kwh[i]
    r[C_WCOST] = water_direct * prices.water_usd_per_m3
    r[C_FCOST] = prices.fixed_usd_per_s * dt_s
