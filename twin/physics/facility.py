"""The whole facility for a run of steps: racks of servers -> rows and their cooling units ->
power chain -> facility cooling plants -> grid.

One kernel call advances every rack (twin/physics/servers.py) and every row's cooling
(twin/physics/rows.py) over every step between two simulation events
(docs/architecture.md#the-flow-of-a-run: few events, many steps). Results go into one preallocated
(steps x columns) array whose columns are twin/physics/columns.py COLUMNS; the thermal state (die
temperatures, rows' air and coolant, facility water, battery) carries over from one call to the next
in a FacilityState (twin/physics/state.py). Each subsystem is its own function: servers_step,
chain_losses_w, air_step (rows' CRAHs and the chilled-water plant), liquid_step (rows' CDUs, the
facility water and its dry coolers), behind_the_meter; solve_step joins them, record writes the row.

Power flow (each loss is heat in the room where it occurs):
    servers (GPUs + host + fans, behind their PSUs: IT power at the wall) <- PDU (white space)
    <- UPS or HVDC rectifier (electrical room, cooled by the air path) <- transformer (outdoor
    yard, rejected to ambient); the transformer also feeds cooling and other loads.
    facility = IT + cooling + (PDU + UPS + transformer losses) + other
    grid import (the meter) = facility - on-site solar used - battery discharge; carbon, indirect
    water and energy cost follow the grid import.
Heat flow: a rack's IT heat splits into liquid (cold plates / tanks) and its row's air; PDU, UPS and
other loads heat the rows' air in proportion to their design heat. Each row's units remove what they
can and the facility plants take it on; what is not removed is stored in the row's air or coolant (or
the facility water), whose temperature rises, and the row's racks see it.
"""

import numpy as np
from numba import njit

from twin.physics.air_plant import AirFlows, AirPlantParams, air_plant, air_plant_power_w
from twin.physics.columns import N_DRIVE, N_RACK, R_IT
from twin.physics.cooling import loop_temp_after_c, recovery_demand_w
from twin.physics.drivers import Drivers
from twin.physics.grid import battery_step
from twin.physics.liquid_plant import LiquidFlows, LiquidPlantParams, liquid_plant
from twin.physics.placement import REORDER_S, place_load, placement_order
from twin.physics.power import converter_loss_w, pdu_loss_w, transformer_loss_w
from twin.physics.rack_gpus import N_WORK, node_decays
from twin.physics.record import record
from twin.physics.rows import Rows, rows_air_after, rows_air_ask, rows_liquid_gain, rows_liquid_step
from twin.physics.servers import N_SUMS, fleet_constants, servers_step
from twin.physics.state import (
    A_CHILLERS,
    A_DRYCOOLER,
    S_BATTERY,
    S_STORAGE,
    S_WATER,
    FacilityParams,
    FacilityState,
    OnSite,
    PowerChainParams,
    Records,
    StepFlows,
    StepWork,
)
from twin.physics.units import U_GPUS_PER_SERVER, U_RACK_LIMIT_W, U_SERVERS, UnitState

# Facility power cap: passes per step, and the meter watts per GPU watt assumed when lowering the limit
MAX_CAP_PASSES = 6
CAP_TOLERANCE = 0.001  # [M] a draw within 0.1 % of a cap holds it: the passes converge to about that
CAP_MARGINAL_W_PER_GPU_W = 1.3  # [M] PSU ~1.05 x power chain ~1.05 x cooling ~1.2; the passes correct the rest
UPS_MARGINAL_W_PER_GPU_W = 1.1  # [M] PSU ~1.05 x PDU; the passes correct the rest
WALL_MARGINAL_W_PER_GPU_W = 1.1  # [M] at a rack's wall: PSU ~1.05 and fans; the passes correct the rest
MIN_LIMIT_SCALE = 0.05  # [M] one pass lowers a GPU limit to no less than 5 % of its last power


@njit(cache=True)
def advance(
    i0: int, i1: int, dt_s: float, drivers: Drivers, plant: FacilityParams, state: FacilityState, out: Records
) -> None:
    """Advance steps [i0, i1) and write one row of COLUMNS per step into out.values.

    Above a cap (drivers.cap_w at the meter, drivers.ups_cap_w at the UPS, drivers.ups_group_cap_w at the racks
    of a UPS group, the racks', rows' and halls' limits) the GPUs get a power limit
    (their power in the previous pass, scaled down by the excess) and the step is solved again until
    the draw is within CAP_TOLERANCE of the cap (MAX_CAP_PASSES at most).
    """
    n_units = plant.units.shape[1]
    start = _copy_state(state)  # each pass of a step starts from the state the step started from
    w = step_work(dt_s, plant, state)
    order = np.arange(n_units)  # the order each hall fills its racks in (placement_order)
    reorder = max(1, int(round(REORDER_S / dt_s)))
    rack_limits = False  # any rack with a power limit: its steps may be solved again
    for h in range(n_units):
        rack_limits = rack_limits or plant.units[U_RACK_LIMIT_W, h] < np.inf
    group_limits = np.isfinite(plant.rows.power_limit_w).any() or np.isfinite(plant.where.hall_limit_w).any()
    ups_groups = drivers.ups_group_cap_w.shape[1] > 0  # UPS groups whose racks outages may cap
    for i in range(i0, i1):
        if (i - i0) % reorder == 0:
            placement_order(plant.where, plant.units, state.row_air_c, state.row_coolant_c, order)
        # a step under no cap is solved once: keep its starting state only where a cap may send it round again
        capped = rack_limits or group_limits or drivers.cap_w[i] < np.inf or drivers.ups_cap_w[i] < np.inf
        if ups_groups:
            for g in range(drivers.ups_group_cap_w.shape[1]):
                capped = capped or drivers.ups_group_cap_w[i, g] < np.inf
        if capped:
            _restore_state(start, state)
        for attempt in range(MAX_CAP_PASSES):
            if attempt > 0:
                _restore_state(state, start)
            place_load(i, drivers, plant.units, plant.where, order, state.rack_load, w.drive)
            f = solve_step(i, dt_s, drivers, plant, state, w)
            over, scale = cap_scale(f, drivers.cap_w[i], drivers.ups_cap_w[i])
            if attempt < MAX_CAP_PASSES - 1 and capped:
                racks_over = rack_limits and rack_caps(plant.units, w.per_server, w.last_w, CAP_TOLERANCE, w.limit_w)
                if group_limits:  # each group (row, hall) over its limit lowers its racks' GPUs
                    where = plant.where
                    racks_over = racks_over | group_over(plant.units, where.unit_row, plant.rows.power_limit_w, w)
                    racks_over = racks_over | group_over(plant.units, where.unit_hall, where.hall_limit_w, w)
                if ups_groups:
                    ups_cap = drivers.ups_group_cap_w[i]
                    racks_over = racks_over | group_over(plant.units, plant.where.rack_ups_group, ups_cap, w)
                if over:
                    for h in range(n_units):
                        w.limit_w[h] = min(w.limit_w[h], w.last_w[h] * scale)
                if over or racks_over:
                    continue
            record(
                out,
                i,
                dt_s,
                drivers,
                plant,
                f,
                w.limit_w,
                attempt > 0,
                w.per_server,
                w.drive,
                w.row_w,
                w.exact_racks[0] > 0,
            )
            if attempt > 0:  # limits were set: none at the next step's start (no pass over every rack each step)
                w.limit_w.fill(np.inf)
            break  # the step is within its caps (or has used its passes)


@njit(cache=True)
def step_work(dt_s: float, plant: FacilityParams, state: FacilityState) -> StepWork:
    """The kernel call's constants (units in service change only at events, between calls) and scratch."""
    n_units, n_rows = plant.units.shape[1], state.row_air_c.shape[0]
    return StepWork(
        node_decays(plant.units, dt_s),
        rows_liquid_gain(plant.rows, state.cdu_in_service, dt_s),
        fleet_constants(plant.units, plant.where.unit_hall, plant.where.hall_first.shape[0] - 1),
        np.full(n_units, np.inf),
        np.zeros(n_units),
        np.zeros((N_RACK, n_units)),
        np.zeros((4, n_rows)),
        np.zeros((N_DRIVE, n_units)),
        np.zeros((N_WORK, n_units)),
        np.ones(1, dtype=np.int64),  # as if the last pass had: the first sets every rack's clock
        np.zeros(N_SUMS),
    )


@njit(cache=True)
def _copy_state(state: FacilityState) -> FacilityState:
    units = state.units
    return FacilityState(
        state.plant.copy(),
        state.available,
        state.row_air_c.copy(),
        state.row_coolant_c.copy(),
        state.crah_in_service,
        state.cdu_in_service,
        UnitState(
            units.die_temp_c.copy(),
            units.sink_temp_c.copy(),
            units.tripped.copy(),
            units.air_w.copy(),
            units.off.copy(),
            units.within_s.copy(),
        ),
        state.rack_load,
    )


@njit(cache=True, inline="always")
def _restore_state(dst: FacilityState, src: FacilityState) -> None:
    """Copy src's values into dst's arrays (units in service change only by events between calls).
    Element by element: a slice assignment makes views, whose reference counts cost more than the copy."""
    for k in range(src.plant.shape[0]):
        dst.plant[k] = src.plant[k]
    for g in range(src.row_air_c.shape[0]):
        dst.row_air_c[g] = src.row_air_c[g]
        dst.row_coolant_c[g] = src.row_coolant_c[g]
    a, b = dst.units, src.units
    for h in range(b.die_temp_c.shape[0]):
        a.die_temp_c[h] = b.die_temp_c[h]
        a.sink_temp_c[h] = b.sink_temp_c[h]
        a.tripped[h] = b.tripped[h]
        a.air_w[h] = b.air_w[h]
        a.off[h] = b.off[h]
        a.within_s[h] = b.within_s[h]


@njit(cache=True, inline="always")
def solve_step(
    i: int,
    dt_s: float,
    d: Drivers,
    plant: FacilityParams,
    state: FacilityState,
    w: StepWork,
) -> StepFlows:
    """Step i at the GPU power limits w.limit_w: racks, power chain, rows' cooling units and the plants,
    transformer, solar and battery. Updates state; returns the step's flows."""
    row_air_w, row_liquid_w, row_served_w = w.row_w[0], w.row_w[1], w.row_w[2]
    srv = servers_step(
        i,
        dt_s,
        plant.units,
        plant.where,
        state.row_air_c,
        state.row_coolant_c,
        state.units,
        w,
        d.demand,
    )
    pdu_w, ups_out_w, ups_w = chain_losses_w(srv.it_w, plant.chain)
    other_w = plant.chain.other_power_w
    room_w = pdu_w + ups_w + other_w  # heat outside the racks, into the rows' air
    for g in range(row_air_w.shape[0]):
        row_air_w[g] += plant.rows.room_heat_share[g] * room_w
    air, stored_w = air_step(
        row_air_w, row_served_w, d.drybulb_c[i], d.wetbulb_c[i], dt_s, plant.air, plant.rows, state
    )
    liquid = LiquidFlows(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    heat_rejected_w = air.heat_rejected_w
    if plant.liquid.design_heat_w > 0.0:
        liquid, liquid_stored_w = liquid_step(
            row_liquid_w, d.drybulb_c[i], d.wetbulb_c[i], dt_s, plant.liquid, plant.rows, w.liquid_gain, state
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
        state.plant[S_STORAGE],
    )


@njit(cache=True, inline="always")
def chain_losses_w(it_w: float, chain: PowerChainParams) -> tuple[float, float, float]:
    """(PDU loss, UPS output, UPS loss) [W] for it_w of server wall power."""
    pdu_w = pdu_loss_w(it_w, chain.pdu_rating_w, chain.pdu_full_load_loss_fraction)
    ups_out_w = it_w + pdu_w
    ups_w = converter_loss_w(ups_out_w, chain.ups_rating_w, chain.ups_c0, chain.ups_c1, chain.ups_c2)
    return pdu_w, ups_out_w, ups_w


# [M] a plant short of chillers is stepped at most this long: its removal rises steeply with the room's warming
# (the economiser on warmer return water), and a longer explicit step overshoots the level where removal meets heat
AIR_SUBSTEP_S = 60.0


@njit(cache=True, inline="always")
def air_step(
    row_heat_w: np.ndarray,
    row_served_w: np.ndarray,
    drybulb_c: float,
    wetbulb_c: float,
    dt_s: float,
    air: AirPlantParams,
    rows: Rows,
    state: FacilityState,
) -> tuple[AirFlows, float]:
    """The rows' CRAHs and the chilled-water plant over the step (air_substep); where the plant falls short over a
    step longer than AIR_SUBSTEP_S, the step is taken again in sub-steps of at most that, the flows averaged."""
    if dt_s <= AIR_SUBSTEP_S:
        return air_substep(row_heat_w, row_served_w, drybulb_c, wetbulb_c, dt_s, air, rows, state)
    start_c = state.row_air_c.copy()
    start_j = state.plant[S_STORAGE]
    flows, stored_w = air_substep(row_heat_w, row_served_w, drybulb_c, wetbulb_c, dt_s, air, rows, state)
    if flows.unmet_w <= 0.0:
        return flows, stored_w
    for g in range(start_c.shape[0]):
        state.row_air_c[g] = start_c[g]
    state.plant[S_STORAGE] = start_j
    n = int(np.ceil(dt_s / AIR_SUBSTEP_S))
    mean = np.zeros(14)
    for _ in range(n):
        f, stored_w = air_substep(row_heat_w, row_served_w, drybulb_c, wetbulb_c, dt_s / n, air, rows, state)
        for k in range(13):
            mean[k] += f[k] / n
        mean[13] += stored_w / n
    m = mean
    flows = AirFlows(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[11], m[12])
    return flows, m[13]


@njit(cache=True, inline="always")
def air_substep(
    row_heat_w: np.ndarray,
    row_served_w: np.ndarray,
    drybulb_c: float,
    wetbulb_c: float,
    dt_s: float,
    air: AirPlantParams,
    rows: Rows,
    state: FacilityState,
) -> tuple[AirFlows, float]:
    """Each row's CRAHs take what their coils can of the row's heat plus its recovery to set point; the
    chilled-water plant serves their sum (what it cannot, the chilled-water tank if there is one, and then
    every row keeps in proportion). A plant that falls short runs warm: its chilled water floats up with the
    rooms (air_plant's warm_k), never one whose chillers keep up. Spare chillers refill the tank on the water
    side. Returns the plant's flows (unmet_w: after the tank) and the heat stored in the rows' air and the tank
    [W]; the rows' air temperatures and the tank's charge are updated."""
    set_c = air.supply_air_temp_c
    asked_w = rows_air_ask(
        rows,
        state.row_air_c,
        row_heat_w,
        state.crah_in_service,
        set_c,
        air.air_delta_t_k,
        air.chw_supply_temp_c,
        dt_s,
        row_served_w,
    )
    chillers = int(state.available[A_CHILLERS])
    recharge_w = 0.0  # spare chillers refill the tank, only with every chiller in service
    if air.storage_j > 0.0 and chillers >= air.chiller_count:
        recharge_w = min((air.storage_j - state.plant[S_STORAGE]) / dt_s, air.storage_recharge_w)
    flows = air_plant(asked_w, drybulb_c, wetbulb_c, air, chillers, 0.0, recharge_w)
    if flows.unmet_w > recharge_w and asked_w > 0.0:  # short of chillers: the loop runs as warm as the rooms
        warm_k = 0.0  # the rows' air above set point, weighted by what their CRAHs take
        for g in range(row_served_w.shape[0]):
            warm_k += row_served_w[g] * (state.row_air_c[g] - set_c) / asked_w
        if warm_k > 0.0:
            flows = air_plant(asked_w, drybulb_c, wetbulb_c, air, chillers, warm_k, recharge_w)
    unmet_w = max(flows.unmet_w - recharge_w, 0.0)  # what the plant cannot serve comes out of the refill first
    tank_w = -max(recharge_w - flows.unmet_w, 0.0)  # heat into the tank's water (its charge is cold)
    if unmet_w > 0.0 and state.plant[S_STORAGE] > 0.0:  # the tank carries the rest while it lasts
        tank_w = min(unmet_w, state.plant[S_STORAGE] / dt_s)
        unmet_w -= tank_w
    state.plant[S_STORAGE] = max(state.plant[S_STORAGE] - tank_w * dt_s, 0.0) if unmet_w <= 0.0 else 0.0
    flows = AirFlows(
        flows.crah_fan_w,
        flows.chiller_w,
        flows.chw_pump_w,
        flows.cw_pump_w,
        flows.tower_fan_w,
        flows.economiser_fraction,
        flows.chiller_cop,
        unmet_w,
        flows.heat_rejected_w,
        flows.evaporation_kg_s,
        flows.drift_kg_s,
        flows.blowdown_kg_s,
        flows.adiabatic_kg_s,
    )
    share = (asked_w - unmet_w) / asked_w if asked_w > 0.0 else 1.0
    return flows, tank_w + rows_air_after(rows, state.row_air_c, row_heat_w, row_served_w, share, set_c, dt_s)


@njit(cache=True, inline="always")
def liquid_step(
    row_heat_w: np.ndarray,
    drybulb_c: float,
    wetbulb_c: float,
    dt_s: float,
    liquid: LiquidPlantParams,
    rows: Rows,
    gain: np.ndarray,
    state: FacilityState,
) -> tuple[LiquidFlows, float]:
    """Each row's CDUs pass heat to the facility water, whose plant is asked for it plus what returns the
    water to set point. Returns the plant's flows and the heat stored in the rows' coolant and the
    facility water [W]; the temperatures are updated in state."""
    water_c = state.plant[S_WATER]
    to_water_w, stored_w = rows_liquid_step(
        rows, state.row_coolant_c, row_heat_w, state.cdu_in_service, gain, water_c, dt_s
    )
    c = liquid.heat_capacity_j_per_k
    ask_w = recovery_demand_w(water_c, liquid.supply_temp_c, to_water_w, c, dt_s)
    flows = liquid_plant(ask_w, water_c, drybulb_c, wetbulb_c, liquid, state.available[A_DRYCOOLER])
    state.plant[S_WATER] = loop_temp_after_c(water_c, liquid.supply_temp_c, to_water_w, flows.removed_w, c, dt_s)
    return flows, stored_w + to_water_w - flows.removed_w


@njit(cache=True, inline="always")
def behind_the_meter(
    facility_w: float, solar_w: float, dt_s: float, onsite: OnSite, state: FacilityState
) -> tuple[float, float, float]:
    """Solar first, then the battery; the grid supplies the rest: (charge, discharge, grid import) [W].
    The battery's charge is updated in state."""
    solar_used_w = min(solar_w, facility_w)
    charge_w, discharge_w, state.plant[S_BATTERY] = battery_step(
        state.plant[S_BATTERY],
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
    return True, max(1.0 - cut, MIN_LIMIT_SCALE)


@njit(cache=True, inline="always")
def rack_caps(
    units: np.ndarray, per_server: np.ndarray, last_w: np.ndarray, tolerance: float, limit_w: np.ndarray
) -> bool:
    """Lower the GPUs' power limit of every rack drawing more than its limit at the wall (limit_w, in place),
    taking each GPU watt as 1.1 W at the wall (PSU and fans; the passes correct the rest). Returns whether
    any rack was over."""
    over = False
    for h in range(units.shape[1]):
        cap = units[U_RACK_LIMIT_W, h]
        drawn = units[U_SERVERS, h] * per_server[R_IT, h]
        if drawn > cap * (1.0 + tolerance) and last_w[h] > 0.0:
            gpus = units[U_SERVERS, h] * units[U_GPUS_PER_SERVER, h]
            cut = (drawn - cap) / (WALL_MARGINAL_W_PER_GPU_W * gpus * last_w[h])
            limit_w[h] = min(limit_w[h], last_w[h] * max(1.0 - cut, MIN_LIMIT_SCALE))
            over = True
    return over


@njit(cache=True, inline="always")
def group_over(units: np.ndarray, group: np.ndarray, group_limit_w: np.ndarray, w: StepWork) -> bool:
    """group_caps at the kernel's tolerance, on this pass's per-server values and GPU powers (w)."""
    return group_caps(units, group, group_limit_w, w.per_server, w.last_w, CAP_TOLERANCE, w.limit_w)


@njit(cache=True)
def group_caps(
    units: np.ndarray,
    group: np.ndarray,
    group_limit_w: np.ndarray,
    per_server: np.ndarray,
    last_w: np.ndarray,
    tolerance: float,
    limit_w: np.ndarray,
) -> bool:
    """As rack_caps for groups of racks (a row, a hall; group: each rack's group): a group drawing more than
    its limit lowers its racks' GPUs by one factor, its excess taken as 1.1 W per GPU watt. Returns whether
    any group was over."""
    n = group_limit_w.shape[0]
    drawn = np.zeros(n)
    gpu_w = np.zeros(n)
    for h in range(units.shape[1]):
        drawn[group[h]] += units[U_SERVERS, h] * per_server[R_IT, h]
        gpu_w[group[h]] += units[U_SERVERS, h] * units[U_GPUS_PER_SERVER, h] * last_w[h]
    over = False
    for g in range(n):
        if drawn[g] > group_limit_w[g] * (1.0 + tolerance) and gpu_w[g] > 0.0:
            cut = (drawn[g] - group_limit_w[g]) / (WALL_MARGINAL_W_PER_GPU_W * gpu_w[g])
            drawn[g] = max(1.0 - cut, MIN_LIMIT_SCALE)  # now the factor
            over = True
        else:
            drawn[g] = 1.0
    if over:
        for h in range(units.shape[1]):
            if drawn[group[h]] < 1.0:
                limit_w[h] = min(limit_w[h], last_w[h] * drawn[group[h]])
    return over
