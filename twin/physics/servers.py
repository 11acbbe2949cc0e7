"""The servers of every rack over one step: GPUs (power, clock, die temperature, trips), host, server
fans and PSUs; what they draw at the wall, the heat their liquid path takes, and the tokens they produce.

The unit of simulation is the rack: its servers are alike and see one inlet and one coolant temperature.
Everything that differs between racks (parameters, die and heat-sink temperatures, trips, power state,
power limits) is a struct of arrays indexed by the rack, each field contiguous over the racks, so that the
loops over the racks run in vector lanes (docs/architecture.md#speed).
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics import gpu
from twin.physics.columns import (
    D_ACTIVITY,
    D_PRODUCTIVE,
    D_THROUGHPUT,
    D_UTILIZATION,
    R_CLOCK,
    R_COOLANT,
    R_DIE,
    R_FAN,
    R_GPU,
    R_HOST,
    R_INLET,
    R_IT,
    R_LIQ,
    R_THROTTLED,
    R_TRIPPED,
    R_UTIL,
)
from twin.physics.rack import fan_power_w, fan_speed_fraction, host_power_linear_w, wall_power_w
from twin.physics.units import (
    U_COOLANT_LIMIT_C,
    U_DIE_C_J_PER_K,
    U_DIE_R_K_PER_W,
    U_FAN_MAX_W,
    U_FAN_MIN_SPEED,
    U_FAN_REF_TEMP_C,
    U_FAN_SPEED_AT_REF,
    U_FAN_SPEED_PER_K,
    U_GPU_CLOCK_W,
    U_GPU_DYNAMIC_W,
    U_GPU_IDLE_W,
    U_GPU_TDP_W,
    U_GPU_V_FLOOR,
    U_GPUS_PER_SERVER,
    U_HOST_IDLE_W,
    U_HOST_MAX_W,
    U_INLET_LIMIT_C,
    U_LEAK_FRACTION,
    U_LEAK_PER_K,
    U_LEAK_REF_TEMP_C,
    U_LIQUID_FRACTION,
    U_MAX_TEMP_C,
    U_MIN_CLOCK_FRACTION,
    U_PSU_C0,
    U_PSU_C1,
    U_PSU_C2,
    U_PSU_RATING_W,
    U_RECIRCULATION_K_PER_W,
    U_RESTART_S,
    U_SERVERS,
    U_SHUTDOWN_TEMP_C,
    U_SINK_C_J_PER_K,
    U_SINK_R_K_PER_W,
    U_THROUGHPUT_CLOCK_EXPONENT,
    U_TOKENS_PER_GPU_S,
    U_TRAINING,
    Topology,
    UnitState,
)

THROTTLED_CLOCK_FRACTION = 0.99  # [M] a GPU below 99 % of its full clock counts as throttled (racks and totals)


class ServerTotals(NamedTuple):
    """One step of every unit's servers, summed over the facility."""

    it_w: float  # wall power of the servers
    gpu_w: float
    host_w: float
    fan_w: float
    psu_w: float
    liquid_heat_w: float
    tokens: float  # served (inference units)
    tokens_demanded: float
    tokens_training: float
    training_it_w: float
    gpus: float
    utilization_gpus: float  # sum of GPUs x utilisation
    clock_gpus: float  # sum of GPUs x clock fraction
    die_max_c: float  # the hottest rack's
    inlet_max_c: float  # the hottest rack inlet at the start of the step
    coolant_max_c: float  # the warmest GPU coolant (inlet air for air-cooled racks)


@njit(cache=True, inline="always")
def servers_step(
    i: int,
    dt_s: float,
    units: np.ndarray,
    where: Topology,
    row_air_c: np.ndarray,
    row_coolant_c: np.ndarray,
    state: UnitState,
    decay: np.ndarray,
    limit_w: np.ndarray,
    last_w: np.ndarray,
    per_server: np.ndarray,
    row_w: np.ndarray,
    drive: np.ndarray,
    fleet: np.ndarray,
    demand: np.ndarray,
    work: np.ndarray,
) -> ServerTotals:
    """Advance every rack's servers over step i at the per-GPU power limits limit_w; drive holds each
    rack's share of its hall's load (place_load). Each rack's GPU power goes into last_w, its per-server
    values (RACK_COLUMNS) into per_server[R_*], each row's heat to air and liquid and its IT power into
    row_w[0], row_w[1], row_w[3]. fleet: fleet_constants; demand: (steps, halls); work: (N_WORK, racks) scratch.

    Passes over the racks, each a loop LLVM vectorises (struct-of-arrays, no calls, no branches): inlets,
    GPUs, server power at the wall, sums. A rack that is off, tripped, power-limited or at its thermal
    limit is flagged by the GPU pass and stepped again by gpus_exact, the scalar path."""
    racks_inlet(units, where, row_air_c, row_coolant_c, state.air_w, per_server)
    if gpus_fast(units, state, decay, limit_w, last_w, per_server, drive, work) > 0:
        gpus_exact(dt_s, units, state, decay, limit_w, last_w, per_server, drive, work)
    gpus_commit(units, state, last_w, per_server, drive, work)
    server_power_step(units, per_server, drive, state)
    rows_total(units, where, per_server, row_w)
    return servers_total(units, where.hall_first, per_server, last_w, drive, fleet, demand[i], dt_s)


@njit(cache=True, inline="always")
def racks_inlet(
    units: np.ndarray,
    where: Topology,
    row_air_c: np.ndarray,
    row_coolant_c: np.ndarray,
    air_w: np.ndarray,
    per_server: np.ndarray,
) -> None:
    """Each rack's inlet at the step's start, its row's supply air plus its recirculation term, and its GPU
    coolant (its row's, not below the floor; the inlet for an air-cooled rack), into per_server."""
    for g in range(where.row_first.shape[0] - 1):
        air_c = row_air_c[g]
        coolant_c = max(where.coolant_floor_c, row_coolant_c[g])
        for h in range(where.row_first[g], where.row_first[g + 1]):
            inlet_c = air_c + units[U_RECIRCULATION_K_PER_W, h] * air_w[h]
            per_server[R_INLET, h] = inlet_c
            per_server[R_COOLANT, h] = coolant_c if units[U_LIQUID_FRACTION, h] > 0.0 else inlet_c


# The GPUs' step results of each rack (servers_step's work array), before they are committed to state
W_DIE, W_SINK, W_EXACT, W_CLOCK, W_TRIPPED_S, W_THROTTLED_S, W_THROUGHPUT = range(7)
N_WORK = 7


@njit(cache=True, inline="always")
def gpus_fast(
    units: np.ndarray,
    state: UnitState,
    decay: np.ndarray,
    limit_w: np.ndarray,
    last_w: np.ndarray,
    per_server: np.ndarray,
    drive: np.ndarray,
    work: np.ndarray,
) -> int:
    """One GPU of each rack over the step at full clock (gpu.step_decayed's common case, the same
    arithmetic): board power into last_w, die and sink temperatures at the step's end into work. A rack
    whose servers are off or must go off, whose GPUs are tripped, over their power limit or past their
    thermal limit is flagged (work[W_EXACT] = 1) for gpus_exact. Returns how many were flagged.
    It writes few arrays: LLVM vectorises a loop only while it can check that its arrays do not overlap."""
    flagged = 0
    for h in range(units.shape[1]):
        inlet_c, coolant_c = per_server[R_INLET, h], per_server[R_COOLANT, h]
        die_c = state.die_temp_c[h]
        static = gpu.static_power_w(
            die_c,
            units[U_GPU_IDLE_W, h],
            units[U_LEAK_FRACTION, h],
            units[U_LEAK_PER_K, h],
            units[U_LEAK_REF_TEMP_C, h],
        )
        p = static + (units[U_GPU_CLOCK_W, h] + units[U_GPU_DYNAMIC_W, h] * min(max(drive[D_ACTIVITY, h], 0.0), 1.0))
        die_end, sink_end = gpu.temps_after_c(
            die_c,
            state.sink_temp_c[h],
            coolant_c,
            p,
            units[U_DIE_R_K_PER_W, h],
            decay[0, h],
            units[U_SINK_R_K_PER_W, h],
            decay[1, h],
        )
        exact = (
            (state.off[h] > 0.0)
            | (state.tripped[h] > 0.0)
            | (inlet_c > units[U_INLET_LIMIT_C, h])
            | (coolant_c > units[U_COOLANT_LIMIT_C, h])
            | (p > min(units[U_GPU_TDP_W, h], limit_w[h]))
            | (die_end > units[U_MAX_TEMP_C, h])
        )
        flagged += exact
        last_w[h] = p
        work[W_DIE, h] = die_end
        work[W_SINK, h] = sink_end
        work[W_EXACT, h] = 1.0 if exact else 0.0
    return flagged


@njit(cache=True)
def gpus_exact(
    dt_s: float,
    units: np.ndarray,
    state: UnitState,
    decay: np.ndarray,
    limit_w: np.ndarray,
    last_w: np.ndarray,
    per_server: np.ndarray,
    drive: np.ndarray,
    work: np.ndarray,
) -> None:
    """The racks gpus_fast flagged, stepped by gpu.step_decayed with their servers' power state
    (power_state, updated) and trip flags (updated): power into last_w, the rest into work."""
    for h in range(units.shape[1]):
        if work[W_EXACT, h] == 0.0:
            continue
        off = power_state(units, h, per_server[R_INLET, h], per_server[R_COOLANT, h], dt_s, state)
        p_gpu, clock, die_end, sink_end, trip = gpu.step_decayed(
            drive[D_ACTIVITY, h],
            state.die_temp_c[h],
            state.sink_temp_c[h],
            per_server[R_COOLANT, h],
            decay[0, h],
            decay[1, h],
            units[U_GPU_IDLE_W, h],
            units[U_GPU_CLOCK_W, h],
            units[U_GPU_DYNAMIC_W, h],
            units[U_GPU_V_FLOOR, h],
            units[U_GPU_TDP_W, h],
            units[U_LEAK_FRACTION, h],
            units[U_LEAK_PER_K, h],
            units[U_LEAK_REF_TEMP_C, h],
            units[U_DIE_R_K_PER_W, h],
            units[U_SINK_R_K_PER_W, h],
            units[U_MAX_TEMP_C, h],
            units[U_MIN_CLOCK_FRACTION, h],
            units[U_SHUTDOWN_TEMP_C, h],
            state.tripped[h] > 0.0 or off,
            limit_w[h],
        )
        state.tripped[h] = 1.0 if trip else 0.0
        last_w[h] = p_gpu
        work[W_DIE, h] = die_end
        work[W_SINK, h] = sink_end
        work[W_CLOCK, h] = clock
        work[W_TRIPPED_S, h] = dt_s if trip or off else 0.0
        work[W_THROTTLED_S, h] = dt_s if clock < THROTTLED_CLOCK_FRACTION and not (trip or off) else 0.0
        # throughput follows clock^beta (gpu.py); at full clock 1, without a pow
        work[W_THROUGHPUT, h] = 1.0 if clock >= 1.0 else clock ** units[U_THROUGHPUT_CLOCK_EXPONENT, h]


@njit(cache=True, inline="always")
def gpus_commit(
    units: np.ndarray, state: UnitState, last_w: np.ndarray, per_server: np.ndarray, drive: np.ndarray, work: np.ndarray
) -> None:
    """The GPUs' step into state (die and sink temperatures) and per_server (GPU power per server, clock,
    die, seconds tripped and throttled), and each rack's throughput factor into drive[D_THROUGHPUT]: full
    clock, no trip, where gpus_fast's result stood."""
    n = units.shape[1]
    for h in range(n):  # loops of one or two arrays each: LLVM vectorises those (measured), not one of all
        state.die_temp_c[h] = work[W_DIE, h]
        state.sink_temp_c[h] = work[W_SINK, h]
    for h in range(n):
        per_server[R_GPU, h] = units[U_GPUS_PER_SERVER, h] * last_w[h]
        per_server[R_DIE, h] = work[W_DIE, h]
    for h in range(n):
        per_server[R_CLOCK, h] = work[W_CLOCK, h] if work[W_EXACT, h] > 0.0 else 1.0
    for h in range(n):
        per_server[R_TRIPPED, h] = work[W_TRIPPED_S, h] if work[W_EXACT, h] > 0.0 else 0.0
    for h in range(n):
        per_server[R_THROTTLED, h] = work[W_THROTTLED_S, h] if work[W_EXACT, h] > 0.0 else 0.0
    for h in range(n):
        drive[D_THROUGHPUT, h] = work[W_THROUGHPUT, h] if work[W_EXACT, h] > 0.0 else 1.0


@njit(cache=True, inline="always")
def server_power_step(units: np.ndarray, per_server: np.ndarray, drive: np.ndarray, state: UnitState) -> None:
    """Host, fans and PSU of one server of each rack over the step, from its GPU power and inlet in
    per_server: wall (IT) power, host and fan power, liquid heat and utilisation into per_server, the
    heat to air into state.air_w. A powered-off rack draws nothing (on = 0)."""
    for h in range(units.shape[1]):
        on = 1.0 - state.off[h]
        u = drive[D_UTILIZATION, h]
        host = host_power_linear_w(u, units[U_HOST_IDLE_W, h], units[U_HOST_MAX_W, h])
        speed = fan_speed_fraction(
            per_server[R_INLET, h],
            units[U_FAN_SPEED_AT_REF, h],
            units[U_FAN_REF_TEMP_C, h],
            units[U_FAN_SPEED_PER_K, h],
            units[U_FAN_MIN_SPEED, h],
        )
        fan = fan_power_w(speed, units[U_FAN_MAX_W, h])
        dc = per_server[R_GPU, h] + host + fan
        wall = wall_power_w(dc, units[U_PSU_RATING_W, h], units[U_PSU_C0, h], units[U_PSU_C1, h], units[U_PSU_C2, h])
        liquid = units[U_LIQUID_FRACTION, h] * wall
        per_server[R_IT, h] = on * wall
        per_server[R_HOST, h] = on * host
        per_server[R_FAN, h] = on * fan
        per_server[R_LIQ, h] = on * liquid
        per_server[R_UTIL, h] = on * u
        state.air_w[h] = on * (wall - liquid)


@njit(cache=True, inline="always")
def rows_total(units: np.ndarray, where: Topology, per_server: np.ndarray, row_w: np.ndarray) -> None:
    """Each row's racks' heat to air (row_w[0]) and to liquid (row_w[1]) and their wall power (row_w[3])."""
    for g in range(where.row_first.shape[0] - 1):
        it_w = liquid_w = 0.0
        for h in range(where.row_first[g], where.row_first[g + 1]):
            it_w += units[U_SERVERS, h] * per_server[R_IT, h]
            liquid_w += units[U_SERVERS, h] * per_server[R_LIQ, h]
        row_w[0, g] = it_w - liquid_w
        row_w[1, g] = liquid_w
        row_w[3, g] = it_w


F_GPUS, F_TRAINING_GPUS = 0, 1  # fleet_constants: [F_HALL_RATE + hall] each hall's serving tokens/s at full demand
F_HALL_RATE = 2


@njit(cache=True)
def fleet_constants(units: np.ndarray, unit_hall: np.ndarray, n_halls: int) -> np.ndarray:
    """What the sums need that does not change within a run: GPUs installed, in training racks, and each
    hall's tokens/s when its serving racks run all their GPUs at full clock."""
    out = np.zeros(F_HALL_RATE + n_halls)
    for h in range(units.shape[1]):
        gpus = units[U_SERVERS, h] * units[U_GPUS_PER_SERVER, h]
        out[F_GPUS] += gpus
        if units[U_TRAINING, h] > 0.0:
            out[F_TRAINING_GPUS] += gpus
        else:
            out[F_HALL_RATE + unit_hall[h]] += units[U_TOKENS_PER_GPU_S, h] * gpus
    return out


@njit(cache=True, fastmath={"reassoc", "nsz"})
def servers_total(
    units: np.ndarray,
    hall_first: np.ndarray,
    per_server: np.ndarray,
    last_w: np.ndarray,
    drive: np.ndarray,
    fleet: np.ndarray,
    demand: np.ndarray,
    dt_s: float,
) -> ServerTotals:
    """The facility's sums over every rack's servers in the step (per_server and last_w filled); demand: the
    halls' this step. Summed in vector lanes (reassociated: the order of a sum is fixed by the build, so runs
    repeat exactly)."""
    it_w = gpu_w = host_w = fan_w = liquid_heat_w = 0.0
    tokens = tokens_train = it_train_w = util_gpu = clock_gpu = 0.0
    for h in range(units.shape[1]):
        servers = units[U_SERVERS, h]
        gpus = servers * units[U_GPUS_PER_SERVER, h]
        wall = servers * per_server[R_IT, h]
        gpu_w += gpus * last_w[h]
        host_w += servers * per_server[R_HOST, h]
        fan_w += servers * per_server[R_FAN, h]
        it_w += wall
        liquid_heat_w += servers * per_server[R_LIQ, h]
        done = units[U_TOKENS_PER_GPU_S, h] * dt_s * gpus * drive[D_PRODUCTIVE, h] * drive[D_THROUGHPUT, h]
        training = units[U_TRAINING, h]
        tokens_train += training * done
        it_train_w += training * wall
        tokens += (1.0 - training) * done
        util_gpu += gpus * per_server[R_UTIL, h]
        clock_gpu += gpus * per_server[R_CLOCK, h]
    die_max = inlet_max = coolant_max = -273.15
    for h in range(units.shape[1]):  # apart: LLVM does not vectorise these maxima, and they would stop the sums
        die_max = max(die_max, per_server[R_DIE, h])
        inlet_max = max(inlet_max, per_server[R_INLET, h])
        coolant_max = max(coolant_max, per_server[R_COOLANT, h])
    tokens_dem = 0.0
    for hall in range(hall_first.shape[0] - 1):
        tokens_dem += fleet[F_HALL_RATE + hall] * dt_s * demand[hall]
    return ServerTotals(
        it_w,
        gpu_w,
        host_w,
        fan_w,
        it_w - gpu_w - host_w - fan_w,
        liquid_heat_w,
        tokens,
        tokens_dem,
        tokens_train,
        it_train_w,
        fleet[F_GPUS],
        util_gpu,
        clock_gpu,
        die_max,
        inlet_max,
        coolant_max,
    )


@njit(cache=True, inline="always")
def power_state(units: np.ndarray, h: int, inlet_c: float, coolant_c: float, dt_s: float, state: UnitState) -> bool:
    """Whether rack h's servers are off this step: they power off when the inlet or the coolant at the step's
    start is past its limit, and on again once both have been within them for the rack's restart delay
    (the state is updated)."""
    past = inlet_c > units[U_INLET_LIMIT_C, h] or coolant_c > units[U_COOLANT_LIMIT_C, h]
    if state.off[h] > 0.0:
        state.within_s[h] = 0.0 if past else state.within_s[h] + dt_s
        if state.within_s[h] >= units[U_RESTART_S, h]:
            state.off[h] = 0.0
            state.within_s[h] = 0.0
    elif past:
        state.off[h] = 1.0
        state.within_s[h] = 0.0
    return state.off[h] > 0.0


@njit(cache=True)
def node_decays(units: np.ndarray, dt_s: float) -> np.ndarray:
    """Each unit's die and sink decays over a step of dt_s (gpu.decays): once per kernel call."""
    out = np.empty((2, units.shape[1]))
    for h in range(units.shape[1]):
        out[0, h], out[1, h] = gpu.decays(
            dt_s,
            units[U_DIE_R_K_PER_W, h],
            units[U_DIE_C_J_PER_K, h],
            units[U_SINK_R_K_PER_W, h],
            units[U_SINK_C_J_PER_K, h],
        )
    return out


@njit(cache=True, inline="always")
def gpu_weighted_limit_fraction(units: np.ndarray, limit_w: np.ndarray, gpus: float) -> float:
    """GPU-weighted mean of each unit's power limit over its board limit (1: no cap)."""
    if gpus <= 0.0:
        return 1.0
    capped = 0.0
    for h in range(units.shape[1]):
        capped += units[U_SERVERS, h] * units[U_GPUS_PER_SERVER, h] * min(limit_w[h] / units[U_GPU_TDP_W, h], 1.0)
    return capped / gpus
