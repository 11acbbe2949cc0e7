"""How a hall's load goes onto its racks: spread, pack or coolest first (docs/model.md#rows-and-their-cooling-units)."""

import numpy as np
from numba import njit

from twin.physics.columns import D_ACTIVITY, D_HOST, D_PRODUCTIVE, D_UTILIZATION
from twin.physics.drivers import Drivers
from twin.physics.units import U_GPUS_PER_SERVER, U_INSTALLED_STEP, U_LIQUID_FRACTION, U_SERVERS, Topology

SPREAD, PACK, COOLEST_FIRST, JOBS = 0, 1, 2, 3  # Topology.hall_placement
REORDER_S = 900.0  # [M] coolest_first re-ranks its racks every 15 min (a load balancer's health-check period)


@njit(cache=True, inline="always")
def place_load(
    i: int,
    d: Drivers,
    units: np.ndarray,
    where: Topology,
    order: np.ndarray,
    rack_load: np.ndarray,
    drive: np.ndarray,
) -> None:
    """Each rack's utilisation, GPU activity, productive share and host utilisation in step i (drive), from
    its hall's. spread: every rack of the hall at the hall's values. pack and coolest_first: the hall's busy
    GPUs fill whole racks in order (order: the hall's racks, in row order or coolest first), one rack
    part-filled, the rest idle; a rack's activity is the hall's serving curve at its utilisation
    (d.activity_curve). jobs: each rack as its jobs set it at their last start or end (rack_load, rows as
    drive's, twin/sim/jobs.py). Hosts follow the GPUs' utilisation except under jobs, which give their own."""
    for hall in range(where.hall_placement.shape[0]):
        first, end = where.hall_first[hall], where.hall_first[hall + 1]
        u = d.utilization[i, hall]
        if where.hall_placement[hall] == JOBS:
            for k in (D_UTILIZATION, D_ACTIVITY, D_PRODUCTIVE, D_HOST):
                for h in range(np.uint64(first), np.uint64(end)):
                    drive[k, h] = rack_load[k, h]
            continue
        if where.hall_placement[hall] == SPREAD:
            for h in range(np.uint64(first), np.uint64(end)):  # unsigned: vectorised
                present = i >= units[U_INSTALLED_STEP, h]  # racks added by date: not yet, no load
                drive[D_UTILIZATION, h] = u if present else 0.0
                drive[D_ACTIVITY, h] = d.activity[i, where.unit_kind[h]] if present else 0.0  # its GPU's, at u
                drive[D_PRODUCTIVE, h] = d.productive[i, hall] if present else 0.0
                drive[D_HOST, h] = drive[D_UTILIZATION, h]
            continue
        gpus = 0.0  # in service
        for h in range(first, end):
            if i >= units[U_INSTALLED_STEP, h]:
                gpus += units[U_SERVERS, h] * units[U_GPUS_PER_SERVER, h]
        left = u * gpus
        productive_share = d.productive[i, hall] / u if u > 0.0 else 0.0
        for k in range(first, end):
            h = order[k]
            rack_gpus = units[U_SERVERS, h] * units[U_GPUS_PER_SERVER, h]
            share = min(max(left, 0.0), rack_gpus) / rack_gpus if i >= units[U_INSTALLED_STEP, h] else 0.0
            left -= share * rack_gpus
            drive[D_UTILIZATION, h] = share
            drive[D_ACTIVITY, h] = np.interp(share, d.activity_grid, d.activity_curve[where.unit_kind[h]])
            drive[D_PRODUCTIVE, h] = share * productive_share
            drive[D_HOST, h] = share


@njit(cache=True)
def placement_order(
    where: Topology, units: np.ndarray, row_air_c: np.ndarray, row_coolant_c: np.ndarray, order: np.ndarray
) -> None:
    """The racks in the order each hall fills them (into order): row order, or for coolest_first the racks
    whose coolant (liquid-cooled) or row air is coolest now first, ties in row order."""
    for hall in range(where.hall_placement.shape[0]):
        first, end = where.hall_first[hall], where.hall_first[hall + 1]
        if where.hall_placement[hall] != COOLEST_FIRST:
            for k in range(first, end):
                order[k] = k
            continue
        key = np.empty(end - first)
        for k in range(first, end):
            g = where.unit_row[k]
            key[k - first] = row_coolant_c[g] if units[U_LIQUID_FRACTION, k] > 0.0 else row_air_c[g]
        order[first:end] = first + np.argsort(key, kind="mergesort")
