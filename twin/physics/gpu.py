"""GPU board power.

Issue 2 carries the fleet-level linear utilisation model; issue 3 adds clock, leakage and
die temperature on top of it (the same function signature grows, the caller does not).
"""

from numba import njit


@njit(cache=True)
def power_linear_w(utilization, idle_w, max_w):
    """GPU board power [W] at utilisation u in [0, 1].

    P(u) = P_idle + (P_max - P_idle) u

    The fleet-level linear utilisation model; u is the GPU's activity (the share of its
    serving capacity in use). References: Fan, Weber & Barroso, "Power provisioning for a
    warehouse-sized computer", ISCA 2007 (linear server model); vllm-semantic-router
    fleet-sim GPU power model (linear in activity between idle and TDP), see REFERENCE.md 1.2.
    """
    u = min(max(utilization, 0.0), 1.0)
    return idle_w + (max_w - idle_w) * u
