"""The facility kernel's per-step inputs, per hall and per step (built by twin/sim/engine.py).

Kept apart from twin/physics/state.py so that the rack kernels (servers.py, placement.py), which
state.py imports, can name them without an import running in a circle.
"""

from typing import NamedTuple

import numpy as np


class Drivers(NamedTuple):
    """Per-step inputs. (steps, halls): utilization and demand (GPU utilisation served and requested,
    0..1, shares of serving capacity; tokens and host power follow utilisation), activity (the GPU
    power model's activity at that utilisation, twin/sim/serving.py; (steps, kinds of rack): each kind's
    GPU at its hall's utilisation, sim/plant.py unit_kinds), productive (share of the
    hall's GPUs doing work that counts: training work later lost to a failure does not); each rack
    takes its hall's. (steps,): the site series, on-site solar AC power, and the most the facility
    may draw from the grid (cap_w) and the UPS may carry (ups_cap_w, IT + PDU), inf where nothing
    limits it. A hall that packs its load reads a rack's activity off activity_curve."""

    utilization: np.ndarray
    activity: np.ndarray
    productive: np.ndarray
    demand: np.ndarray
    drybulb_c: np.ndarray
    wetbulb_c: np.ndarray
    carbon_g_per_kwh: np.ndarray
    water_l_per_kwh: np.ndarray
    price_usd_per_kwh: np.ndarray
    solar_w: np.ndarray
    cap_w: np.ndarray
    ups_cap_w: np.ndarray
    ups_group_cap_w: np.ndarray  # (steps, UPS groups; none for one UPS): the most each group's racks may draw
    activity_grid: np.ndarray  # utilisation 0..1 at which activity_curve is given
    activity_curve: np.ndarray  # (kinds, grid): each kind of rack's GPU activity at a rack's utilisation
