"""The GPUs of every rack over one step (twin/physics/gpu.py for the model): the common case, full clock, for
all racks in vector lanes (gpus_fast), and the exact scalar step for the racks that are off, tripped,
power-limited, at their thermal limit or not installed yet (gpus_exact); then their step committed to state.
Each works on racks lo..hi-1, indexed unsigned (docs/architecture.md#speed).
"""

import numpy as np
from numba import njit

from twin.physics import gpu
from twin.physics.columns import (
    D_ACTIVITY,
    D_THROUGHPUT,
    R_CLOCK,
    R_COOLANT,
    R_DIE,
    R_GPU,
    R_INLET,
    R_THROTTLED,
    R_TRIPPED,
)
from twin.physics.units import (
    U_COOLANT_LIMIT_C,
    U_DIE_C_J_PER_K,
    U_DIE_R_K_PER_W,
    U_GPU_CLOCK_W,
    U_GPU_DYNAMIC_W,
    U_GPU_IDLE_W,
    U_GPU_TDP_W,
    U_GPU_V_FLOOR,
    U_GPUS_PER_SERVER,
    U_INLET_LIMIT_C,
    U_INSTALLED_STEP,
    U_LEAK_FRACTION,
    U_LEAK_PER_K,
    U_LEAK_REF_TEMP_C,
    U_MAX_TEMP_C,
    U_MIN_CLOCK_FRACTION,
    U_RESTART_S,
    U_SHUTDOWN_TEMP_C,
    U_SINK_C_J_PER_K,
    U_SINK_R_K_PER_W,
    U_THROUGHPUT_CLOCK_EXPONENT,
    UnitState,
)

THROTTLED_CLOCK_FRACTION = 0.99  # [M] a GPU below 99 % of its full clock counts as throttled (racks and totals)


# The GPUs' step of each rack (StepWork.work), before it is committed to state: temperatures, exact-path flag
W_DIE, W_SINK, W_EXACT = range(3)
N_WORK = 3


@njit(cache=True, inline="always")
def gpus_fast(
    lo: int,
    hi: int,
    i: int,
    units: np.ndarray,
    state: UnitState,
    decay: np.ndarray,
    limit_w: np.ndarray,
    last_w: np.ndarray,
    per_server: np.ndarray,
    drive: np.ndarray,
    work: np.ndarray,
) -> int:
    """One GPU of each rack lo..hi-1 over the step at full clock (gpu.step_decayed's common case, the same
    arithmetic): board power into last_w, die and sink temperatures at the step's end into work. A rack
    whose servers are off or must go off, whose GPUs are tripped, over their power limit or past their
    thermal limit, or that is not installed yet at step i, is flagged (work[W_EXACT] = 1) for gpus_exact. Returns how many were flagged.
    It writes few arrays: LLVM vectorises a loop only while it can check that its arrays do not overlap."""
    flagged = 0
    for h in range(np.uint64(lo), np.uint64(hi)):
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
            (i < units[U_INSTALLED_STEP, h])
            | (state.off[h] > 0.0)
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
    lo: int,
    hi: int,
    i: int,
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
    """The racks of lo..hi-1 gpus_fast flagged, stepped by gpu.step_decayed with their servers' power state
    (power_state, updated) and trip flags (updated): power into last_w, die and sink temperatures into work,
    clock and seconds tripped and throttled into per_server, the clock's throughput factor into drive."""
    for h in range(np.uint64(lo), np.uint64(hi)):
        if work[W_EXACT, h] == 0.0:
            continue
        if i < units[U_INSTALLED_STEP, h]:
            rack_absent(h, units, state, decay, last_w, per_server, drive, work)
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
        per_server[R_CLOCK, h] = clock
        per_server[R_TRIPPED, h] = dt_s if trip or off else 0.0
        per_server[R_THROTTLED, h] = dt_s if clock < THROTTLED_CLOCK_FRACTION and not (trip or off) else 0.0
        # throughput follows clock^beta (gpu.py); at full clock 1, without a pow
        drive[D_THROUGHPUT, h] = 1.0 if clock >= 1.0 else clock ** units[U_THROUGHPUT_CLOCK_EXPONENT, h]


@njit(cache=True, inline="always")
def rack_absent(
    h: int,
    units: np.ndarray,
    state: UnitState,
    decay: np.ndarray,
    last_w: np.ndarray,
    per_server: np.ndarray,
    drive: np.ndarray,
    work: np.ndarray,
) -> None:
    """Rack h before its installation day: its servers are off (neither tripped nor throttled, drawing nothing)
    and go into service at once on that day (their restart delay counted as served)."""
    state.off[h] = 1.0
    state.within_s[h] = units[U_RESTART_S, h]
    state.tripped[h] = 0.0
    last_w[h] = 0.0
    work[W_DIE, h], work[W_SINK, h] = gpu.temps_after_c(
        state.die_temp_c[h],
        state.sink_temp_c[h],
        per_server[R_COOLANT, h],
        0.0,
        units[U_DIE_R_K_PER_W, h],
        decay[0, h],
        units[U_SINK_R_K_PER_W, h],
        decay[1, h],
    )
    per_server[R_CLOCK, h] = 1.0
    per_server[R_TRIPPED, h] = 0.0
    per_server[R_THROTTLED, h] = 0.0
    drive[D_THROUGHPUT, h] = 1.0


@njit(cache=True, inline="always")
def full_clock(lo: int, hi: int, per_server: np.ndarray, drive: np.ndarray) -> None:
    """Racks lo..hi-1 at full clock, neither tripped nor throttled, at full throughput: what gpus_fast leaves
    (gpus_exact overwrites its racks'); needed only after a pass that stepped racks exactly."""
    for h in range(np.uint64(lo), np.uint64(hi)):
        per_server[R_CLOCK, h] = 1.0
        per_server[R_TRIPPED, h] = 0.0
        per_server[R_THROTTLED, h] = 0.0
        drive[D_THROUGHPUT, h] = 1.0


@njit(cache=True, inline="always")
def gpus_commit(
    lo: int, hi: int, units: np.ndarray, state: UnitState, last_w: np.ndarray, per_server: np.ndarray, work: np.ndarray
) -> None:
    """The GPUs' step into state (die and sink temperatures) and per_server (GPU power, die temperature)."""
    for h in range(
        np.uint64(lo), np.uint64(hi)
    ):  # two loops of few arrays: LLVM vectorises those, not one loop of all (measured)
        state.die_temp_c[h] = work[W_DIE, h]
        state.sink_temp_c[h] = work[W_SINK, h]
    for h in range(np.uint64(lo), np.uint64(hi)):
        per_server[R_GPU, h] = units[U_GPUS_PER_SERVER, h] * last_w[h]
        per_server[R_DIE, h] = work[W_DIE, h]


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
