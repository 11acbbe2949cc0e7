"""Server and rack: host overhead, server fans, the server's power conversion, and the split of
server heat between liquid and air."""

from numba import njit

from twin.physics.power import converter_loss_w


@njit(cache=True)
def host_power_linear_w(utilization: float, host_idle_w: float, host_max_w: float) -> float:
    """Non-GPU DC power of a server [W] (CPUs, DRAM, NICs, switches, storage), fans and PSU excluded.

    P_host(u) = P_host,idle + (P_host,max - P_host,idle) u, linear as the SPEC-power
    derate curve of server components is (0.20 of rated at 10 % load, 0.95 at 100 %;
    Azure GreenSKU framework, ISCA 2024, after Fan et al. ISCA 2007).
    """
    u = min(max(utilization, 0.0), 1.0)
    return host_idle_w + (host_max_w - host_idle_w) * u


@njit(cache=True)
def fan_speed_fraction(
    inlet_temp_c: float,
    load_fraction: float,
    speed_at_ref: float,
    ref_temp_c: float,
    speed_per_k: float,
    min_speed: float,
) -> float:
    """Server fan speed as a fraction of maximum, from the heat the air must carry and the inlet temperature.

    s = clamp(x (s_ref + ds/dT (T_in - T_ref)), s_min, 1), x the server's DC load over its full load. The air
    flow a server needs is its air-side heat over the temperature rise its components allow, V = Q / (rho c_p
    dT) (ASHRAE Fundamentals 2017 ch. 1): proportional to the load, and rising as a warmer inlet leaves less
    rise (the fan controller's speed table, linear in inlet [M]). s_ref is the speed at full load at T_ref;
    catalog/cooling.yaml server_fans gives the values and their sources.
    """
    return min(max(load_fraction * (speed_at_ref + speed_per_k * (inlet_temp_c - ref_temp_c)), min_speed), 1.0)


@njit(cache=True)
def fan_power_w(speed_fraction: float, max_power_w: float) -> float:
    """Fan power [W] by the affinity laws: P = P_max s^3 (Q ~ N, dp ~ N^2, P ~ N^3;
    ASHRAE Handbook HVAC Systems and Equipment ch. 21)."""
    return max_power_w * speed_fraction**3


@njit(cache=True)
def wall_power_w(dc_power_w: float, psu_rating_w: float, c0: float, c1: float, c2: float) -> float:
    """Server input power [W]: DC load plus the loss of its power conversion (three-term loss,
    coefficients fitted to 80 PLUS Titanium points for AC PSUs; see physics/power.py)."""
    return dc_power_w + converter_loss_w(dc_power_w, psu_rating_w, c0, c1, c2)
