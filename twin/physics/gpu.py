"""GPU board power and die temperature.

Power (REFERENCE.md 1.2-1.3; AccelWattch's split into constant, static/leakage and dynamic power,
Kandiah et al., MICRO 2021):

    P(u, phi, T) = P_idle (1 - a) + P_idle a exp(k (T - T_ref)) + (P_TDP - P_idle) u phi^3

u is the GPU's activity (share of its serving capacity in use), phi = f / f_max the SM clock
fraction (P_dyn = alpha C V^2 f with V roughly proportional to f in the DVFS range, hence phi^3),
a the share of idle power that is leakage at T_ref, k its temperature coefficient. The board's
power limit (TDP) is enforced by lowering the clock, as the driver does.

Die temperature: one thermal RC node between die and coolant (air inlet or liquid supply),

    C dT/dt = P - (T - T_cool) / R   =>   T(t+dt) = T_cool + P R + (T - T_cool - P R) exp(-dt / (R C))

integrated exactly over a step with P held, so any step size is stable. When the die would pass
its maximum operating temperature the clock drops (thermal slowdown) to the power that lands the
die exactly on that limit; throughput follows the clock. If even the lowest clock cannot hold it
and the die reaches its shutdown temperature, the GPU trips off (no power, no work) until it has
cooled TRIP_RESET_K below the slowdown limit (NVML thresholds, REFERENCE.md 1.3).
"""

import math

from numba import njit

TRIP_RESET_K = 10.0   # [M] a tripped GPU comes back once 10 K below its maximum operating temperature
LEAK_TEMP_CAP_C = 150.0  # leakage law used up to here only (beyond any shutdown threshold)


@njit(cache=True)
def power_w(utilization, clock_fraction, die_temp_c, idle_w, tdp_w, leak_fraction, leak_per_k, leak_ref_temp_c):
    """GPU board power [W] at activity u, clock fraction phi and die temperature T (module docstring)."""
    u = min(max(utilization, 0.0), 1.0)
    static = idle_w * (1.0 - leak_fraction) + idle_w * leak_fraction * math.exp(leak_per_k * (min(die_temp_c, LEAK_TEMP_CAP_C) - leak_ref_temp_c))
    return static + (tdp_w - idle_w) * u * clock_fraction ** 3


@njit(cache=True)
def die_temp_after_c(die_temp_c, coolant_temp_c, power_w_, r_k_per_w, decay):
    """Exact solution of C dT/dt = P - (T - T_cool)/R after one step; decay = exp(-dt/(R C))."""
    steady = coolant_temp_c + power_w_ * r_k_per_w
    return steady + (die_temp_c - steady) * decay


@njit(cache=True)
def step(utilization, die_temp_c, coolant_temp_c, dt_s, idle_w, tdp_w, leak_fraction, leak_per_k,
         leak_ref_temp_c, r_k_per_w, c_j_per_k, max_temp_c, min_clock_fraction, shutdown_temp_c, tripped,
         power_limit_w=math.inf):
    """Advance one GPU over one step: returns (power_w, clock_fraction, die_temp_end_c, tripped).

    Clock: first the power limit (P <= min(TDP, power_limit_w): the board limit, or a lower one a
    facility power cap sets, as nvidia-smi -pl does), then thermal slowdown so that the die ends the step
    at max_temp_c, never below min_clock_fraction. Leakage is taken at the start-of-step
    temperature. A tripped GPU draws nothing and does no work (module docstring).
    NVML thermal limits per GPU: catalog/gpus.yaml (e.g. H100 SXM max operating 87 C).
    """
    decay = math.exp(-dt_s / (r_k_per_w * c_j_per_k))
    if tripped:
        t_end = die_temp_after_c(die_temp_c, coolant_temp_c, 0.0, r_k_per_w, decay)
        return 0.0, 0.0, t_end, t_end > max_temp_c - TRIP_RESET_K
    u = min(max(utilization, 0.0), 1.0)
    static = power_w(0.0, 1.0, die_temp_c, idle_w, tdp_w, leak_fraction, leak_per_k, leak_ref_temp_c)
    dyn_full = (tdp_w - idle_w) * u
    phi3_min = min_clock_fraction ** 3
    phi3 = 1.0
    limit_w = min(tdp_w, power_limit_w)
    if dyn_full > 0.0 and static + dyn_full > limit_w:
        phi3 = max((limit_w - static) / dyn_full, phi3_min)
    p = static + dyn_full * phi3
    t_end = die_temp_after_c(die_temp_c, coolant_temp_c, p, r_k_per_w, decay)
    if t_end > max_temp_c and dyn_full > 0.0:
        p_allowed = (max_temp_c - coolant_temp_c - (die_temp_c - coolant_temp_c) * decay) / (r_k_per_w * (1.0 - decay))
        phi3 = min(max((p_allowed - static) / dyn_full, phi3_min), phi3)
        p = static + dyn_full * phi3
        t_end = die_temp_after_c(die_temp_c, coolant_temp_c, p, r_k_per_w, decay)
    if t_end >= shutdown_temp_c:
        return p, phi3 ** (1.0 / 3.0), t_end, True
    return p, phi3 ** (1.0 / 3.0), t_end, False
