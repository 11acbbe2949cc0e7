"""Server and rack aggregation: GPUs plus host overhead."""

from numba import njit

from twin.physics.gpu import power_linear_w


@njit(cache=True)
def host_power_linear_w(utilization, host_idle_w, host_max_w):
    """Non-GPU server power [W] (CPUs, DRAM, NICs, switches, storage, fans, PSU loss).

    P_host(u) = P_host,idle + (P_host,max - P_host,idle) u, linear as the SPEC-power
    derate curve of server components is (0.20 of rated at 10 % load, 0.95 at 100 %;
    Azure GreenSKU framework, ISCA 2024, after Fan et al. ISCA 2007).
    """
    u = min(max(utilization, 0.0), 1.0)
    return host_idle_w + (host_max_w - host_idle_w) * u


@njit(cache=True)
def server_power_w(utilization, gpus_per_server, gpu_idle_w, gpu_max_w, host_idle_w, host_max_w):
    """Wall power of one server [W]: N_gpu P_gpu(u) + P_host(u).

    PSU and VRM losses sit inside IT power (the PUE boundary of ISO/IEC 30134-2); they are
    part of host_max_w/host_idle_w as measured at the wall (Latif et al., IEEE Access 2025).
    """
    return (gpus_per_server * power_linear_w(utilization, gpu_idle_w, gpu_max_w)
            + host_power_linear_w(utilization, host_idle_w, host_max_w))
