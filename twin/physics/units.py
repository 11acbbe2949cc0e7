"""How the rack kernels see the racks: their parameters as one matrix (a column per rack, a row per field,
each field contiguous over the racks so that loops over the racks run in vector lanes), their state
carried from step to step, and where each stands (hall, row).
"""

from typing import NamedTuple

import numpy as np


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
    fan_design_dc_w: np.ndarray  # a server's DC load (GPUs and host, fans out) at full load: the fan law's x = 1
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
    installed_step: np.ndarray  # the step from which the rack is in service (0: from the start)


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
U_FAN_DESIGN_DC_W = _U["fan_design_dc_w"]
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
U_INSTALLED_STEP = _U["installed_step"]


def unit_matrix(units: Halls) -> np.ndarray:
    """The units' parameters as the kernels read them: row U_X is field x, column h is unit h (each field
    contiguous over the units, so that a loop over the racks reads it in vector lanes). The fan law's
    fan_speed_at_ref and fan_speed_per_k enter per W of the server's DC load (divided by fan_design_dc_w): the
    racks' loop then gives physics/rack.py fan_speed_fraction the load in W and reads one field fewer (with the
    extra field and a division the loop ran 35 % slower, measured on the year-100mw benchmark)."""
    matrix = np.ascontiguousarray(np.vstack([np.asarray(v, dtype=np.float64) for v in units]))
    matrix[U_FAN_SPEED_AT_REF] /= matrix[U_FAN_DESIGN_DC_W]
    matrix[U_FAN_SPEED_PER_K] /= matrix[U_FAN_DESIGN_DC_W]
    return matrix


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
    row_first: np.ndarray  # int64, per row + 1: the row's racks are row_first[g] .. row_first[g + 1] - 1
    rack_ups_group: np.ndarray  # int64, per unit: the UPS group feeding its row (twin/sim/ups_groups.py)
    unit_kind: np.ndarray  # int64, per unit: its kind (hall and GPU model): the column of its GPU activity
