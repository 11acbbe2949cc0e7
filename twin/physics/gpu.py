"""GPU board power and die temperature.

Power (AccelWattch's split into constant, static/leakage and dynamic power, Kandiah et al., MICRO 2021;
docs/model.md#gpu-power-and-temperature):

    P(u, phi, T) = P_idle (1 - a) + P_idle a exp(k (T - T_ref)) + (P_clk + P_dyn u) g(phi)
    g(phi) = phi max(v_floor, phi)^2

u is the GPU's activity (share of its switching capacity in use), phi = f / f_max the SM clock
fraction. Dynamic power is alpha C V^2 f with the voltage V roughly proportional to f in the DVFS
range, hence phi^3, down to the lowest voltage the chip runs at (v_floor of V_max), below which only
f falls and power is linear in the clock (the voltage-frequency curves of Leng et al., ISCA 2015;
the H100 PCIe traces hold 350 W at 990-1005 MHz of 1,755, where a pure cube would need 3x the
dynamic power they show at full clock). The catalog has v_floor = 0 (the pure cube). a is the share
of idle power that is leakage at T_ref, k its temperature coefficient. P_clk is the clock tree and
always-on logic switching at the SM clock even with no kernel running: real H800 traces draw ~116 W
at 1,980 MHz with utilisation 0 against ~73 W at idle clocks (gpu_traces, calibrate/fit.py). At
idle clocks the clock tree is gated and P is the static term alone: that is what a calibration fits
P_idle to. A GPU the simulator runs is held by its serving engine or job, so it idles ready at its
clock (static + P_clk); it does not drop to the gated state. The
catalog has no P_clk (0: idle_w is the ready fleet's idle power) and P_dyn = TDP - P_idle; a
calibration (calibrate/calibration.py) sets all of them. The board's power limit (TDP, or a lower
one) is enforced by lowering the clock, as the driver does.

Temperature: the die's rise over the coolant (air inlet or liquid supply) is a two-term Foster
network, the form in which thermal impedance is fitted to measured heating curves (Infineon
AN2008-03, "Thermal equivalent circuit models"; JEDEC JESD51-14 transient measurements): a fast term
for die and spreader and a slow one for the heat sink (cold plate or fin stack), each an RC pair
carrying the whole power,

    T = T_cool + dT_sink + dT_die,   tau_s d(dT_sink)/dt = P R_s - dT_sink,   tau_d d(dT_die)/dt = P R_d - dT_die

each term integrated exactly over a step with P held, so any step size is stable, and in steady state
T = T_cool + P (R_s + R_d). The slow term is what keeps a fan-cooled PCIe card warm for minutes after
a load. With R_s = 0 (the catalog's default) it is the one-node C dT/dt = P - (T - T_cool) / R.

When the die would pass its maximum operating temperature the clock drops (thermal slowdown) to the
power that lands the die exactly on that limit; throughput follows the clock. If even the lowest clock cannot hold it and the die reaches its
shutdown temperature, the GPU trips off (no power, no work) until it has cooled TRIP_RESET_K below
the slowdown limit (NVML thresholds: nvidia-smi -q, NVML API reference nvmlDeviceGetTemperatureThreshold).
"""

import math

from numba import njit

from twin.physics.numerics import exp_series

TRIP_RESET_K = 10.0  # [M] a tripped GPU comes back once 10 K below its maximum operating temperature
LEAK_TEMP_CAP_C = 150.0  # [M] C: leakage law used up to here only (beyond any GPU's shutdown threshold, 92 C)


@njit(cache=True)
def clock_power_factor(clock_fraction: float, v_floor: float) -> float:
    """g(phi) = phi max(v_floor, phi)^2: clocked power relative to full clock (module docstring)."""
    return clock_fraction * max(v_floor, clock_fraction) ** 2


@njit(cache=True)
def clock_for_power_factor(factor: float, v_floor: float) -> float:
    """The clock fraction phi with g(phi) = factor (g is increasing)."""
    if factor >= 1.0:  # full clock, the common case: no cube root
        return 1.0
    if factor >= v_floor**3:
        return factor ** (1.0 / 3.0)
    return factor / (v_floor * v_floor)


@njit(cache=True)
def power_w(
    utilization: float,
    clock_fraction: float,
    die_temp_c: float,
    idle_w: float,
    clock_w: float,
    dynamic_w: float,
    v_floor: float,
    leak_fraction: float,
    leak_per_k: float,
    leak_ref_temp_c: float,
) -> float:
    """GPU board power [W] at activity u, clock fraction phi and die temperature T (module docstring)."""
    u = min(max(utilization, 0.0), 1.0)
    return static_power_w(die_temp_c, idle_w, leak_fraction, leak_per_k, leak_ref_temp_c) + (
        clock_w + dynamic_w * u
    ) * clock_power_factor(clock_fraction, v_floor)


@njit(cache=True, inline="always")
def static_power_w(
    die_temp_c: float, idle_w: float, leak_fraction: float, leak_per_k: float, leak_ref_temp_c: float
) -> float:
    """The static term P_idle (1 - a) + P_idle a exp(k (T - T_ref)) [W] (module docstring); vectorisable."""
    leak = exp_series(leak_per_k * (min(die_temp_c, LEAK_TEMP_CAP_C) - leak_ref_temp_c))
    return idle_w * (1.0 - leak_fraction) + idle_w * leak_fraction * leak


@njit(cache=True)
def die_temp_after_c(
    die_temp_c: float, coolant_temp_c: float, power_w_: float, r_k_per_w: float, decay: float
) -> float:
    """Exact solution of C dT/dt = P - (T - T_cool)/R after one step; decay = exp(-dt/(R C))."""
    steady = coolant_temp_c + power_w_ * r_k_per_w
    return steady + (die_temp_c - steady) * decay


@njit(cache=True)
def temps_after_c(
    die_temp_c: float,
    sink_temp_c: float,
    coolant_temp_c: float,
    power_w_: float,
    r_die: float,
    die_decay: float,
    r_sink: float,
    sink_decay: float,
) -> tuple[float, float]:
    """(die, sink) temperatures after one step of the Foster network (module docstring) with P held; the
    sink temperature is T_cool + dT_sink; r_sink = 0: no sink term. Affine in P, which step() uses to
    solve for the power that lands the die on a temperature."""
    if r_sink <= 0.0:
        return die_temp_after_c(die_temp_c, coolant_temp_c, power_w_, r_die, die_decay), coolant_temp_c
    sink_end = die_temp_after_c(sink_temp_c, coolant_temp_c, power_w_, r_sink, sink_decay)
    rise_end = die_temp_after_c(die_temp_c - sink_temp_c, 0.0, power_w_, r_die, die_decay)
    return sink_end + rise_end, sink_end


@njit(cache=True)
def decays(dt_s: float, r_die: float, c_die: float, r_sink: float, c_sink: float) -> tuple[float, float]:
    """exp(-dt / tau) of the die and sink nodes (0 for an absent sink)."""
    sink = math.exp(-dt_s / (r_sink * c_sink)) if r_sink > 0.0 else 0.0
    return math.exp(-dt_s / (r_die * c_die)), sink


@njit(cache=True)
def step(
    utilization: float,
    die_temp_c: float,
    sink_temp_c: float,
    coolant_temp_c: float,
    dt_s: float,
    idle_w: float,
    clock_w: float,
    dynamic_w: float,
    v_floor: float,
    tdp_w: float,
    leak_fraction: float,
    leak_per_k: float,
    leak_ref_temp_c: float,
    r_k_per_w: float,
    c_j_per_k: float,
    sink_r_k_per_w: float,
    sink_c_j_per_k: float,
    max_temp_c: float,
    min_clock_fraction: float,
    shutdown_temp_c: float,
    tripped: bool,
    power_limit_w: float = math.inf,
) -> tuple[float, float, float, float, bool]:
    """Advance one GPU over one step: returns (power_w, clock_fraction, die_temp_end_c, sink_temp_end_c, tripped).

    Clock: first the power limit (P <= min(TDP, power_limit_w): the board limit, or a lower one a
    facility power cap sets, as nvidia-smi -pl does), then thermal slowdown so that the die ends the step
    at max_temp_c, never below min_clock_fraction. Leakage is taken at the start-of-step
    temperature. A tripped GPU draws nothing and does no work (module docstring).
    NVML thermal limits per GPU: catalog/gpus.yaml (e.g. H100 SXM max operating 87 C).
    """
    d_die, d_sink = decays(dt_s, r_k_per_w, c_j_per_k, sink_r_k_per_w, sink_c_j_per_k)
    return step_decayed(
        utilization,
        die_temp_c,
        sink_temp_c,
        coolant_temp_c,
        d_die,
        d_sink,
        idle_w,
        clock_w,
        dynamic_w,
        v_floor,
        tdp_w,
        leak_fraction,
        leak_per_k,
        leak_ref_temp_c,
        r_k_per_w,
        sink_r_k_per_w,
        max_temp_c,
        min_clock_fraction,
        shutdown_temp_c,
        tripped,
        power_limit_w,
    )


@njit(cache=True)
def step_decayed(
    utilization: float,
    die_temp_c: float,
    sink_temp_c: float,
    coolant_temp_c: float,
    d_die: float,
    d_sink: float,
    idle_w: float,
    clock_w: float,
    dynamic_w: float,
    v_floor: float,
    tdp_w: float,
    leak_fraction: float,
    leak_per_k: float,
    leak_ref_temp_c: float,
    r_k_per_w: float,
    sink_r_k_per_w: float,
    max_temp_c: float,
    min_clock_fraction: float,
    shutdown_temp_c: float,
    tripped: bool,
    power_limit_w: float,
) -> tuple[float, float, float, float, bool]:
    """step with the nodes' decays over the step given (decays(dt_s, ...)): a simulation whose step length
    is fixed computes them once per rack, not once per rack and step."""
    if tripped:
        t_end, s_end = temps_after_c(
            die_temp_c, sink_temp_c, coolant_temp_c, 0.0, r_k_per_w, d_die, sink_r_k_per_w, d_sink
        )
        return 0.0, 0.0, t_end, s_end, t_end > max_temp_c - TRIP_RESET_K
    u = min(max(utilization, 0.0), 1.0)
    static = power_w(
        0.0, 0.0, die_temp_c, idle_w, clock_w, dynamic_w, v_floor, leak_fraction, leak_per_k, leak_ref_temp_c
    )
    clocked_full = clock_w + dynamic_w * u  # the clocked power at phi = 1
    g_min = clock_power_factor(min_clock_fraction, v_floor)
    g = 1.0
    limit_w = min(tdp_w, power_limit_w)
    if clocked_full > 0.0 and static + clocked_full > limit_w:
        g = max((limit_w - static) / clocked_full, g_min)
    p = static + clocked_full * g
    t_end, s_end = temps_after_c(die_temp_c, sink_temp_c, coolant_temp_c, p, r_k_per_w, d_die, sink_r_k_per_w, d_sink)
    if t_end > max_temp_c and clocked_full > 0.0:
        t_zero = temps_after_c(die_temp_c, sink_temp_c, coolant_temp_c, 0.0, r_k_per_w, d_die, sink_r_k_per_w, d_sink)[
            0
        ]
        p_allowed = p * (max_temp_c - t_zero) / (t_end - t_zero)  # the die's end temperature is linear in P
        g = min(max((p_allowed - static) / clocked_full, g_min), g)
        p = static + clocked_full * g
        t_end, s_end = temps_after_c(
            die_temp_c, sink_temp_c, coolant_temp_c, p, r_k_per_w, d_die, sink_r_k_per_w, d_sink
        )
    return p, clock_for_power_factor(g, v_floor), t_end, s_end, t_end >= shutdown_temp_c
