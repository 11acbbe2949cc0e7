"""The servers of every rack over one step: GPUs (power, clock, die temperature, trips), host, server
fans and PSUs; what they draw at the wall, the heat their liquid path takes, and the tokens they produce.

The unit of simulation is the rack: its servers are alike and see one inlet and one coolant temperature.
Everything that differs between racks (parameters, die and heat-sink temperatures, trips, power state,
power limits) is a struct of arrays indexed by the rack, each field contiguous over the racks, so that the
loops over the racks run in vector lanes (docs/architecture.md#speed).
"""

import numpy as np
from numba import njit

from twin.physics.columns import (
    D_HOST,
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
    R_UTIL,
)
from twin.physics.rack import fan_power_w, fan_speed_fraction, host_power_linear_w, wall_power_w
from twin.physics.rack_gpus import full_clock, gpus_commit, gpus_exact, gpus_fast
from twin.physics.state import ServerTotals, StepWork
from twin.physics.units import (
    U_FAN_MAX_W,
    U_FAN_MIN_SPEED,
    U_FAN_REF_TEMP_C,
    U_FAN_SPEED_AT_REF,
    U_FAN_SPEED_PER_K,
    U_GPU_TDP_W,
    U_GPUS_PER_SERVER,
    U_HOST_IDLE_W,
    U_HOST_MAX_W,
    U_LIQUID_FRACTION,
    U_PSU_C0,
    U_PSU_C1,
    U_PSU_C2,
    U_PSU_RATING_W,
    U_RECIRCULATION_K_PER_W,
    U_SERVERS,
    U_TOKENS_PER_GPU_S,
    U_TRAINING,
    Topology,
    UnitState,
)

# The racks' sums of a step (StepWork.sums): sums over the racks, then maxima
(
    K_IT,
    K_GPU,
    K_HOST,
    K_FAN,
    K_LIQUID,
    K_TOKENS,
    K_TOKENS_TRAINING,
    K_IT_TRAINING,
    K_UTILIZATION_GPUS,
    K_CLOCK_GPUS,
    K_DIE_MAX,
    K_INLET_MAX,
    K_COOLANT_MAX,
    K_GPUS_OFF,
) = range(14)
N_SUMS = 14


@njit(cache=True, inline="always")
def servers_step(
    i: int,
    dt_s: float,
    units: np.ndarray,
    where: Topology,
    row_air_c: np.ndarray,
    row_coolant_c: np.ndarray,
    state: UnitState,
    w: StepWork,
    demand: np.ndarray,
) -> ServerTotals:
    """Advance every rack's servers over step i at the per-GPU power limits w.limit_w; w.drive holds each
    rack's share of its hall's load (place_load). Each rack's GPU power goes into w.last_w, its per-server
    values (RACK_COLUMNS) into w.per_server[R_*], each row's heat to air and liquid and its IT power into
    w.row_w[0], w.row_w[1], w.row_w[3]; demand: (steps, halls).

    Passes over the racks, each a loop LLVM vectorises (struct of arrays, no calls, few arrays, and unsigned
    rack indices: with a signed one numba wraps negative indices, which stops it): inlets, GPUs at full
    clock, commit, server power at the wall, row sums, facility sums. A rack that is off, tripped,
    power-limited or at its thermal limit is flagged by the GPU pass and stepped by gpus_exact, the scalar
    path. (Two threads were tried, each stepping half the racks: slower, measured: the serial parts of a step
    then read the racks' arrays across cores.)"""
    lo, hi = 0, units.shape[1]
    per_server, drive, work = w.per_server, w.drive, w.work
    racks_inlet(0, row_air_c.shape[0], units, where, row_air_c, row_coolant_c, state.air_w, per_server)
    exact = gpus_fast(lo, hi, i, units, state, w.decay, w.limit_w, w.last_w, per_server, drive, work)
    if w.exact_racks[0] > 0:  # the last pass left some racks' clock, trips and throughput not at full clock's
        full_clock(lo, hi, per_server, drive)
    w.exact_racks[0] = exact
    if exact > 0:
        gpus_exact(lo, hi, i, dt_s, units, state, w.decay, w.limit_w, w.last_w, per_server, drive, work)
    gpus_commit(lo, hi, units, state, w.last_w, per_server, work)
    server_power_step(lo, hi, units, per_server, drive, state)
    rows_total(0, row_air_c.shape[0], units, where, per_server, w.row_w, w.sums)
    racks_sums(lo, hi, dt_s, units, per_server, w.last_w, drive, state.off, w.sums)
    return servers_total(w.sums, w.fleet, where.hall_first, demand[i], dt_s)


@njit(cache=True, inline="always")
def racks_inlet(
    g0: int,
    g1: int,
    units: np.ndarray,
    where: Topology,
    row_air_c: np.ndarray,
    row_coolant_c: np.ndarray,
    air_w: np.ndarray,
    per_server: np.ndarray,
) -> None:
    """Each rack's inlet at the step's start, its row's supply air plus its recirculation term, and its GPU
    coolant (its row's, not below the floor; the inlet for an air-cooled rack), into per_server: rows g0..g1-1."""
    for g in range(g0, g1):
        air_c = row_air_c[g]
        coolant_c = max(where.coolant_floor_c, row_coolant_c[g])
        for h in range(np.uint64(where.row_first[g]), np.uint64(where.row_first[g + 1])):
            inlet_c = air_c + units[U_RECIRCULATION_K_PER_W, h] * air_w[h]
            per_server[R_INLET, h] = inlet_c
            per_server[R_COOLANT, h] = coolant_c if units[U_LIQUID_FRACTION, h] > 0.0 else inlet_c


@njit(cache=True, inline="always")
def server_power_step(
    lo: int, hi: int, units: np.ndarray, per_server: np.ndarray, drive: np.ndarray, state: UnitState
) -> None:
    """Host, fans and PSU of one server of each rack lo..hi-1 over the step, from its GPU power and inlet in
    per_server: wall (IT) power, host and fan power, liquid heat and utilisation into per_server, the heat
    to air into state.air_w. A powered-off rack draws nothing (on = 0)."""
    for h in range(np.uint64(lo), np.uint64(hi)):
        on = 1.0 - state.off[h]
        u = drive[D_UTILIZATION, h]
        host = host_power_linear_w(drive[D_HOST, h], units[U_HOST_IDLE_W, h], units[U_HOST_MAX_W, h])
        speed = fan_speed_fraction(
            per_server[R_INLET, h],
            per_server[R_GPU, h] + host,  # the load in W: the matrix's fan speeds are per W (units.unit_matrix)
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
def rows_total(
    g0: int, g1: int, units: np.ndarray, where: Topology, per_server: np.ndarray, row_w: np.ndarray, sums: np.ndarray
) -> None:
    """Each row g0..g1-1's racks' heat to air (row_w[0]) and to liquid (row_w[1]) and wall power (row_w[3]),
    and the rows' wall power and liquid heat summed into sums[K_IT], sums[K_LIQUID]."""
    all_it_w = all_liquid_w = 0.0
    for g in range(g0, g1):
        it_w = liquid_w = 0.0
        for h in range(np.uint64(where.row_first[g]), np.uint64(where.row_first[g + 1])):
            it_w += units[U_SERVERS, h] * per_server[R_IT, h]
            liquid_w += units[U_SERVERS, h] * per_server[R_LIQ, h]
        row_w[0, g] = it_w - liquid_w
        row_w[1, g] = liquid_w
        row_w[3, g] = it_w
        all_it_w += it_w
        all_liquid_w += liquid_w
    sums[K_IT] = all_it_w
    sums[K_LIQUID] = all_liquid_w


@njit(cache=True, fastmath={"reassoc", "nsz"})
def racks_sums(
    lo: int,
    hi: int,
    dt_s: float,
    units: np.ndarray,
    per_server: np.ndarray,
    last_w: np.ndarray,
    drive: np.ndarray,
    off: np.ndarray,
    out: np.ndarray,
) -> None:
    """The sums and maxima over racks lo..hi-1 (K_*, but for K_IT and K_LIQUID: rows_total's rows add up to
    them) into out. Summed in vector lanes (reassociated: the order is fixed by the build, so runs repeat
    exactly)."""
    gpu_w = host_w = fan_w = 0.0
    tokens = tokens_train = it_train_w = util_gpu = clock_gpu = gpus_off = 0.0
    for h in range(np.uint64(lo), np.uint64(hi)):
        servers = units[U_SERVERS, h]
        gpus = servers * units[U_GPUS_PER_SERVER, h]
        gpu_w += gpus * last_w[h]
        host_w += servers * per_server[R_HOST, h]
        fan_w += servers * per_server[R_FAN, h]
        done = units[U_TOKENS_PER_GPU_S, h] * dt_s * gpus * drive[D_PRODUCTIVE, h] * drive[D_THROUGHPUT, h]
        training = units[U_TRAINING, h]
        tokens_train += training * done
        it_train_w += training * servers * per_server[R_IT, h]
        tokens += (1.0 - training) * done
        util_gpu += gpus * per_server[R_UTIL, h]
        clock_gpu += gpus * per_server[R_CLOCK, h]
        gpus_off += gpus * off[h]
    die_max = inlet_max = coolant_max = -273.15
    for h in range(
        np.uint64(lo), np.uint64(hi)
    ):  # apart: LLVM does not vectorise these maxima, and they would stop the sums
        die_max = max(die_max, per_server[R_DIE, h])
        inlet_max = max(inlet_max, per_server[R_INLET, h])
        coolant_max = max(coolant_max, per_server[R_COOLANT, h])
    out[K_GPU] = gpu_w
    out[K_HOST] = host_w
    out[K_FAN] = fan_w
    out[K_TOKENS] = tokens
    out[K_TOKENS_TRAINING] = tokens_train
    out[K_IT_TRAINING] = it_train_w
    out[K_UTILIZATION_GPUS] = util_gpu
    out[K_CLOCK_GPUS] = clock_gpu
    out[K_DIE_MAX] = die_max
    out[K_INLET_MAX] = inlet_max
    out[K_COOLANT_MAX] = coolant_max
    out[K_GPUS_OFF] = gpus_off


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


@njit(cache=True, inline="always")
def servers_total(
    k: np.ndarray, fleet: np.ndarray, hall_first: np.ndarray, demand: np.ndarray, dt_s: float
) -> ServerTotals:
    """The facility's totals from the racks' sums (racks_sums, K_*); demand: the halls' this step."""
    tokens_dem = 0.0
    for hall in range(hall_first.shape[0] - 1):
        tokens_dem += fleet[F_HALL_RATE + hall] * dt_s * demand[hall]
    return ServerTotals(
        k[K_IT],
        k[K_GPU],
        k[K_HOST],
        k[K_FAN],
        k[K_IT] - k[K_GPU] - k[K_HOST] - k[K_FAN],
        k[K_LIQUID],
        k[K_TOKENS],
        tokens_dem,
        k[K_TOKENS_TRAINING],
        k[K_IT_TRAINING],
        fleet[F_GPUS],
        k[K_UTILIZATION_GPUS],
        k[K_CLOCK_GPUS],
        k[K_DIE_MAX],
        k[K_INLET_MAX],
        k[K_COOLANT_MAX],
        k[K_GPUS_OFF],
    )


@njit(cache=True, inline="always")
def gpu_weighted_limit_fraction(units: np.ndarray, limit_w: np.ndarray, gpus: float) -> float:
    """GPU-weighted mean of each unit's power limit over its board limit (1: no cap)."""
    if gpus <= 0.0:
        return 1.0
    capped = 0.0
    for h in range(units.shape[1]):
        capped += units[U_SERVERS, h] * units[U_GPUS_PER_SERVER, h] * min(limit_w[h] / units[U_GPU_TDP_W, h], 1.0)
    return capped / gpus
