"""Ranges the kernels' parameters may take: the calibration fit's search box, and the plausible range of each
measured trace quantity. A fitted or hand-edited calibration outside them was not fitted and runs away when
simulated, so the calibration file's reader refuses it (twin/params/calibration.py).
"""

# The calibration fit's search box
UTIL_LAG_MAX_S = 1.0  # [V] s: NVML's utilisation sample period is 1/6 to 1 s (nvmlDeviceGetUtilizationRates)
LEAK_PER_K_MAX = 0.05  # [1/K] twice the 0.01-0.03 engineering range (docs/model.md#gpu-power-and-temperature): steeper is runaway, not leakage
THERMAL_NAMES = ("r_k_per_w", "tau_s", "sink_r_k_per_w", "sink_tau_s", "coolant_c")  # the Foster network's
# [M] search bounds: wide enough for any air- or liquid-cooled board of 50-1,500 W (catalog/gpus.yaml)
CLOCK_W_MAX = 1000.0  # W, clock-tree power
DYNAMIC_W_MAX = 5000.0  # W, switching power at full activity and clock
DIE_R_K_PER_W = (1e-4, 1.0)  # K/W, each Foster term
DIE_TAU_S = (0.1, 600.0)  # s, the fast term (NVML's temperature resolves no faster than ~0.1 s)
SINK_TAU_S = (5.0, 7200.0)  # s, the slow term
COOLANT_C = (-20.0, 80.0)  # C, inlet air or liquid supply

# Plausible ranges of a trace's quantities in canonical units (twin/io/gpu_trace.py); outside them a value is a unit mistake, not a measurement.
TRACE_BOUNDS = {
    "power_w": (0.0, 5000.0),
    "power_instant_w": (0.0, 5000.0),
    "temp_c": (-40.0, 150.0),
    "mem_temp_c": (-40.0, 150.0),
    "util": (0.0, 1.0),
    "mem_util": (0.0, 1.0),
    "sm_clock_mhz": (0.0, 5000.0),
    "power_limit_w": (0.0, 5000.0),
}
