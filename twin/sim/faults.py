"""Faults: cooling units out of service for a while. Each outage is one simpy process with two events
(down, back up); the plant state between them is whatever the kernels make of fewer units. UPS
modules out are a power cap (twin/sim/engine.py); GPU failures and repairs are the scheduler's
(twin/sim/scheduler.py).

Chillers and dry coolers are the facility's; CRAHs and CDUs are each row's (twin/sim/topology.py). An
outage of a row's units names the row (`hall`, `row`) and the units lost; one without a row takes the
same share of every row's units.
"""

import datetime as dt

import numpy as np

from twin.physics.state import A_CHILLERS, A_DRYCOOLER


def outage_offset_s(scenario, outage):
    """Seconds from the start of the run to the outage (UTC; naive times are UTC)."""
    start = dt.datetime.combine(scenario.start, dt.time(), tzinfo=dt.timezone.utc)
    at = outage.start if outage.start.tzinfo else outage.start.replace(tzinfo=dt.timezone.utc)
    return (at - start).total_seconds()


def units_lost(plant, outage):
    """(array in service, what to subtract from it) for an outage: whole chillers, a share of the dry
    coolers, or per row the CRAHs or CDUs lost."""
    state = plant.state
    if outage.unit == "chiller":
        return state.available, _at(state.available.shape[0], A_CHILLERS, plant.chillers_lost(outage.fraction))
    if outage.unit == "dry_cooler":
        return state.available, _at(state.available.shape[0], A_DRYCOOLER, outage.fraction)
    in_service = state.crah_in_service if outage.unit == "crah" else state.cdu_in_service
    installed = plant.rows.crah_units if outage.unit == "crah" else plant.rows.cdu_units
    if outage.row is None:
        return in_service, outage.fraction * installed
    g = plant.layout.row_names.index(row_name(outage))
    return in_service, _at(in_service.shape[0], g, float(outage.units))


def row_name(outage):
    return f"{outage.hall}/row-{outage.row}"


def _at(n, k, value):
    lost = np.zeros(n)
    lost[k] = value
    return lost


def cooling_outage(env, sync, plant, offset_s, outage):
    """simpy process: take units out at offset_s, put them back after the outage's duration."""
    in_service, lost = units_lost(plant, outage)
    yield env.timeout(offset_s)
    sync(env.now)
    in_service -= lost
    yield env.timeout(outage.duration_s)
    sync(env.now)
    in_service += lost
