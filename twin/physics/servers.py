"""The servers of every unit of simulation over one step: GPUs (power, clock, die temperature,
trips), host, server fans and PSUs; what they draw at the wall, the heat their liquid path takes,
and the tokens they produce.

A unit is a group of identical servers that see one coolant and one inlet temperature; today each
hall is one unit (docs/model.md#known-limits). State that differs between units (die and heat-sink
temperatures, trips, power limits) lives in per-unit arrays indexed by the unit.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics import gpu
from twin.physics.columns import (
    D_ACTIVITY,
    D_PRODUCTIVE,
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
from twin.physics.drivers import Drivers
from twin.physics.rack import fan_power_w, fan_speed_fraction, host_power_linear_w, wall_power_w


class Halls(NamedTuple):
    """Struct-of-arrays description of the units of simulation (today one per hall): one entry per
    unit, its servers identical."""

    servers: np.ndarray  # servers in the unit
    gpus_per_server: np.ndarray
    gpu_idle_w: np.ndarray  # board power at idle clocks and leak_ref_temp_c
    gpu_tdp_w: np.ndarray  # board power limit
    gpu_clock_w: np.ndarray  # clock-tree power at full clock, no kernel running (0 in the catalog)
    gpu_dynamic_w: np.ndarray  # switching power at full activity and clock (catalog: tdp_w - idle_w)
    gpu_v_floor: np.ndarray  # lowest core voltage over the full-clock one (0 in the catalog: pure cube law)
    leak_fraction: np.ndarray  # share of idle power that is leakage at leak_ref_temp_c
    leak_per_k: np.ndarray  # leakage temperature coefficient [1/K]
    leak_ref_temp_c: np.ndarray
    die_r_k_per_w: np.ndarray  # die-to-coolant thermal resistance [K/W]
    die_c_j_per_k: np.ndarray  # die + heat-spreader heat capacity [J/K]
    sink_r_k_per_w: np.ndarray  # heat-sink-to-coolant resistance [K/W] (0: no sink node, the catalog's default)
    sink_c_j_per_k: np.ndarray  # heat-sink heat capacity [J/K]
    max_temp_c: np.ndarray  # die temperature where thermal slowdown holds the clock
    shutdown_temp_c: np.ndarray  # die temperature where the GPU trips off
    min_clock_fraction: np.ndarray
    throughput_clock_exponent: np.ndarray  # tokens ~ clock^beta
    host_idle_w: np.ndarray  # non-GPU DC power at idle (fans and PSU loss excluded)
    host_max_w: np.ndarray
    fan_max_w: np.ndarray  # server fans at full speed
    fan_speed_at_ref: np.ndarray
    fan_ref_temp_c: np.ndarray
    fan_speed_per_k: np.ndarray
    fan_min_speed: np.ndarray
    psu_rating_w: np.ndarray  # installed server power conversion (all PSUs share the load)
    psu_c0: np.ndarray
    psu_c1: np.ndarray
    psu_c2: np.ndarray
    liquid_fraction: np.ndarray  # share of server heat captured by liquid
    tokens_per_gpu_s: np.ndarray  # tokens/s of one GPU at utilisation 1, full clock: output tokens
    # served (inference), tokens processed (training)
    training: np.ndarray  # 1 for a training unit (its tokens go to tokens_training), else 0
    recirculation_k_per_w: np.ndarray  # inlet rise above the row's supply per W of a server's air heat
    inlet_limit_c: np.ndarray  # servers power off above this inlet (the ASHRAE allowable maximum of the class)
    coolant_limit_c: np.ndarray  # ... or above this liquid coolant (inf where the rack has no liquid path)
    restart_s: np.ndarray  # ... and power on again after this long back within both
    rack_limit_w: np.ndarray  # most the unit (rack) may draw at the wall (inf: no limit)


THROTTLED_CLOCK_FRACTION = 0.99  # [M] a GPU below 99 % of its full clock counts as throttled (racks and totals)

# The kernels read the units' parameters from one (units x fields) matrix, a row per unit: numba passes
# one array between functions where a tuple of 32 would cost it ~0.5 us per call (measured).
_U = {name: k for k, name in enumerate(Halls._fields)}
U_SERVERS = _U["servers"]
U_GPUS_PER_SERVER = _U["gpus_per_server"]
U_GPU_IDLE_W = _U["gpu_idle_w"]
U_GPU_TDP_W = _U["gpu_tdp_w"]
U_GPU_CLOCK_W = _U["gpu_clock_w"]
U_GPU_DYNAMIC_W = _U["gpu_dynamic_w"]
U_GPU_V_FLOOR = _U["gpu_v_floor"]
U_LEAK_FRACTION = _U["leak_fraction"]
U_LEAK_PER_K = _U["leak_per_k"]
U_LEAK_REF_TEMP_C = _U["leak_ref_temp_c"]
U_DIE_R_K_PER_W = _U["die_r_k_per_w"]
U_DIE_C_J_PER_K = _U["die_c_j_per_k"]
U_SINK_R_K_PER_W = _U["sink_r_k_per_w"]
U_SINK_C_J_PER_K = _U["sink_c_j_per_k"]
U_MAX_TEMP_C = _U["max_temp_c"]
U_SHUTDOWN_TEMP_C = _U["shutdown_temp_c"]
U_MIN_CLOCK_FRACTION = _U["min_clock_fraction"]
U_THROUGHPUT_CLOCK_EXPONENT = _U["throughput_clock_exponent"]
U_HOST_IDLE_W = _U["host_idle_w"]
U_HOST_MAX_W = _U["host_max_w"]
U_FAN_MAX_W = _U["fan_max_w"]
U_FAN_SPEED_AT_REF = _U["fan_speed_at_ref"]
U_FAN_REF_TEMP_C = _U["fan_ref_temp_c"]
U_FAN_SPEED_PER_K = _U["fan_speed_per_k"]
U_FAN_MIN_SPEED = _U["fan_min_speed"]
U_PSU_RATING_W = _U["psu_rating_w"]
U_PSU_C0 = _U["psu_c0"]
U_PSU_C1 = _U["psu_c1"]
U_PSU_C2 = _U["psu_c2"]
U_LIQUID_FRACTION = _U["liquid_fraction"]
U_TOKENS_PER_GPU_S = _U["tokens_per_gpu_s"]
U_TRAINING = _U["training"]
U_RECIRCULATION_K_PER_W = _U["recirculation_k_per_w"]
U_INLET_LIMIT_C = _U["inlet_limit_c"]
U_COOLANT_LIMIT_C = _U["coolant_limit_c"]
U_RESTART_S = _U["restart_s"]
U_RACK_LIMIT_W = _U["rack_limit_w"]


def unit_matrix(units: Halls) -> np.ndarray:
    """The units' parameters as the kernels read them: row h is unit h, column U_X is field x."""
    return np.ascontiguousarray(np.column_stack([np.asarray(v, dtype=np.float64) for v in units]))


class UnitState(NamedTuple):
    """Per-unit thermal state carried from step to step (updated in place)."""

    die_temp_c: np.ndarray
    sink_temp_c: np.ndarray
    tripped: np.ndarray  # 1: the unit's GPUs are off on over-temperature
    air_w: np.ndarray  # a server's heat to air in the last step (drives the rack's recirculation)
    off: np.ndarray  # 1: the rack's servers are powered off (inlet or coolant past its limit)
    within_s: np.ndarray  # how long an off rack has been back within its limits


class Topology(NamedTuple):
    """Where each unit (rack) stands: its hall (whose demand it serves) and its row (whose air and
    coolant it sees and to which its heat goes), and how each hall places its load."""

    unit_hall: np.ndarray  # int64, per unit
    unit_row: np.ndarray  # int64, per unit
    coolant_floor_c: float  # the GPU coolant never falls below it (a two-phase fluid boils there)
    hall_placement: np.ndarray  # int64, per hall: physics/placement.py SPREAD, PACK or COOLEST_FIRST
    hall_first: np.ndarray  # int64, per hall + 1: the hall's units are hall_first[h] .. hall_first[h + 1] - 1
    hall_limit_w: np.ndarray  # float, per hall: the most its racks may draw together at the wall (inf: none)


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
    d: Drivers,
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
    row_air_w: np.ndarray,
    row_liquid_w: np.ndarray,
    row_it_w: np.ndarray,
    drive: np.ndarray,
) -> ServerTotals:
    """Advance every unit's servers over step i at the per-GPU power limits limit_w; drive holds each rack's
    share of its hall's load (place_load), d the hall-level drivers (twin/physics/drivers.py). Each
    unit's GPU power goes into last_w, its per-server values (RACK_COLUMNS) into per_server, the heat its
    servers give to air and liquid and their power into its row's row_air_w, row_liquid_w and row_it_w.
    Three passes over the units, each reading only its own inputs: GPUs (thermal and power state), server
    power at the wall, and the sums (one fused pass was measured slower: 69 against 57 ns per rack-step)."""
    gpus_step(drive, dt_s, units, where, row_air_c, row_coolant_c, state, decay, limit_w, last_w, per_server)
    server_power_step(drive, units, per_server, state.air_w, state.off)
    return servers_total(i, drive, d.demand, dt_s, units, where, last_w, per_server, row_air_w, row_liquid_w, row_it_w)


@njit(cache=True, inline="always")
def gpus_step(
    drive: np.ndarray,
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
) -> None:
    """One GPU of each unit (all alike within it) over the step: board power into last_w, GPU power per
    server, clock, die temperature, inlet and coolant into per_server; die and sink temperatures and
    trip flags updated in state."""
    for h in range(units.shape[0]):
        g = where.unit_row[h]
        inlet_c = row_air_c[g] + units[h, U_RECIRCULATION_K_PER_W] * state.air_w[h]
        coolant_c = max(where.coolant_floor_c, row_coolant_c[g]) if units[h, U_LIQUID_FRACTION] > 0.0 else inlet_c
        off = power_state(units, h, inlet_c, coolant_c, dt_s, state)
        p_gpu, clock, die_end, sink_end, trip = gpu.step_decayed(
            drive[h, D_ACTIVITY],
            state.die_temp_c[h],
            state.sink_temp_c[h],
            coolant_c,
            decay[h, 0],
            decay[h, 1],
            units[h, U_GPU_IDLE_W],
            units[h, U_GPU_CLOCK_W],
            units[h, U_GPU_DYNAMIC_W],
            units[h, U_GPU_V_FLOOR],
            units[h, U_GPU_TDP_W],
            units[h, U_LEAK_FRACTION],
            units[h, U_LEAK_PER_K],
            units[h, U_LEAK_REF_TEMP_C],
            units[h, U_DIE_R_K_PER_W],
            units[h, U_SINK_R_K_PER_W],
            units[h, U_MAX_TEMP_C],
            units[h, U_MIN_CLOCK_FRACTION],
            units[h, U_SHUTDOWN_TEMP_C],
            state.tripped[h] > 0.0 or off,
            limit_w[h],
        )
        state.die_temp_c[h] = die_end
        state.sink_temp_c[h] = sink_end
        state.tripped[h] = 1.0 if trip else 0.0
        last_w[h] = p_gpu
        per_server[h, R_GPU] = units[h, U_GPUS_PER_SERVER] * p_gpu
        per_server[h, R_CLOCK] = clock
        per_server[h, R_DIE] = die_end
        per_server[h, R_INLET] = inlet_c
        per_server[h, R_COOLANT] = coolant_c
        per_server[h, R_TRIPPED] = dt_s if trip or off else 0.0
        per_server[h, R_THROTTLED] = dt_s if clock < THROTTLED_CLOCK_FRACTION and not (trip or off) else 0.0


@njit(cache=True, inline="always")
def server_power_step(
    drive: np.ndarray,
    units: np.ndarray,
    per_server: np.ndarray,
    air_w: np.ndarray,
    off: np.ndarray,
) -> None:
    """Host, fans and PSU of one server of each unit over the step, from its GPU power and inlet in
    per_server: wall (IT) power, host and fan power, liquid heat and utilisation into per_server, the
    heat to air into air_w. A powered-off rack draws nothing."""
    for h in range(units.shape[0]):
        if off[h] > 0.0:
            for k in (R_IT, R_HOST, R_FAN, R_LIQ, R_UTIL):
                per_server[h, k] = 0.0
            air_w[h] = 0.0
            continue
        u = drive[h, D_UTILIZATION]
        host = host_power_linear_w(u, units[h, U_HOST_IDLE_W], units[h, U_HOST_MAX_W])
        speed = fan_speed_fraction(
            per_server[h, R_INLET],
            units[h, U_FAN_SPEED_AT_REF],
            units[h, U_FAN_REF_TEMP_C],
            units[h, U_FAN_SPEED_PER_K],
            units[h, U_FAN_MIN_SPEED],
        )
        fan = fan_power_w(speed, units[h, U_FAN_MAX_W])
        dc = per_server[h, R_GPU] + host + fan
        wall = wall_power_w(dc, units[h, U_PSU_RATING_W], units[h, U_PSU_C0], units[h, U_PSU_C1], units[h, U_PSU_C2])
        per_server[h, R_IT] = wall
        per_server[h, R_HOST] = host
        per_server[h, R_FAN] = fan
        per_server[h, R_LIQ] = units[h, U_LIQUID_FRACTION] * wall
        per_server[h, R_UTIL] = u
        air_w[h] = wall - per_server[h, R_LIQ]


@njit(cache=True, inline="always")
def servers_total(
    i: int,
    drive: np.ndarray,
    demand: np.ndarray,
    dt_s: float,
    units: np.ndarray,
    where: Topology,
    last_w: np.ndarray,
    per_server: np.ndarray,
    row_air_w: np.ndarray,
    row_liquid_w: np.ndarray,
    row_it_w: np.ndarray,
) -> ServerTotals:
    """The facility's sums over every unit's servers in step i (per_server and last_w filled), and each
    row's heat to air and liquid and its IT power (row_air_w, row_liquid_w, row_it_w, overwritten)."""
    it_w = gpu_w = host_w = fan_w = psu_w = liquid_heat_w = 0.0
    tokens = tokens_dem = tokens_train = it_train_w = gpu_count = util_gpu = clock_gpu = 0.0
    die_max = inlet_max = coolant_max = -273.15
    row_air_w[:] = 0.0
    row_liquid_w[:] = 0.0
    row_it_w[:] = 0.0
    for h in range(units.shape[0]):
        hall = where.unit_hall[h]
        servers = units[h, U_SERVERS]
        gpus = servers * units[h, U_GPUS_PER_SERVER]
        wall, host, fan = per_server[h, R_IT], per_server[h, R_HOST], per_server[h, R_FAN]
        clock = per_server[h, R_CLOCK]
        gpu_w += gpus * last_w[h]
        host_w += servers * host
        fan_w += servers * fan
        psu_w += servers * (wall - (per_server[h, R_GPU] + host + fan))
        it_w += servers * wall
        liquid_w = units[h, U_LIQUID_FRACTION] * servers * wall
        liquid_heat_w += liquid_w
        row_liquid_w[where.unit_row[h]] += liquid_w
        row_air_w[where.unit_row[h]] += servers * wall - liquid_w
        row_it_w[where.unit_row[h]] += servers * wall
        rate = units[h, U_TOKENS_PER_GPU_S] * dt_s * gpus
        slowed = 1.0 if clock >= 1.0 else clock ** units[h, U_THROUGHPUT_CLOCK_EXPONENT]  # no pow at full clock
        done = rate * drive[h, D_PRODUCTIVE] * slowed
        if units[h, U_TRAINING] > 0.0:
            tokens_train += done
            it_train_w += servers * wall
        else:
            tokens += done
            tokens_dem += rate * demand[i, hall]
        gpu_count += gpus
        util_gpu += gpus * per_server[h, R_UTIL]
        clock_gpu += gpus * clock
        die_max = max(die_max, per_server[h, R_DIE])
        inlet_max = max(inlet_max, per_server[h, R_INLET])
        coolant_max = max(coolant_max, per_server[h, R_COOLANT])
    return ServerTotals(
        it_w,
        gpu_w,
        host_w,
        fan_w,
        psu_w,
        liquid_heat_w,
        tokens,
        tokens_dem,
        tokens_train,
        it_train_w,
        gpu_count,
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
    past = inlet_c > units[h, U_INLET_LIMIT_C] or coolant_c > units[h, U_COOLANT_LIMIT_C]
    if state.off[h] > 0.0:
        state.within_s[h] = 0.0 if past else state.within_s[h] + dt_s
        if state.within_s[h] >= units[h, U_RESTART_S]:
            state.off[h] = 0.0
            state.within_s[h] = 0.0
    elif past:
        state.off[h] = 1.0
        state.within_s[h] = 0.0
    return state.off[h] > 0.0


@njit(cache=True)
def node_decays(units: np.ndarray, dt_s: float) -> np.ndarray:
    """Each unit's die and sink decays over a step of dt_s (gpu.decays): once per kernel call."""
    out = np.empty((units.shape[0], 2))
    for h in range(units.shape[0]):
        out[h, 0], out[h, 1] = gpu.decays(
            dt_s,
            units[h, U_DIE_R_K_PER_W],
            units[h, U_DIE_C_J_PER_K],
            units[h, U_SINK_R_K_PER_W],
            units[h, U_SINK_C_J_PER_K],
        )
    return out


@njit(cache=True, inline="always")
def gpu_weighted_limit_fraction(units: np.ndarray, limit_w: np.ndarray, gpus: float) -> float:
    """GPU-weighted mean of each unit's power limit over its board limit (1: no cap)."""
    if gpus <= 0.0:
        return 1.0
    capped = 0.0
    for h in range(units.shape[0]):
        capped += units[h, U_SERVERS] * units[h, U_GPUS_PER_SERVER] * min(limit_w[h] / units[h, U_GPU_TDP_W], 1.0)
    return capped / gpus
