"""Faults: cooling units out of service for a while. Each outage is one simpy process with two events
(down, back up); the plant state between them is whatever the kernels make of fewer units. UPS
modules out are a power cap (twin/sim/engine.py); GPU failures and repairs are the scheduler's
(twin/sim/scheduler.py).
"""

import datetime as dt

from twin.physics.facility import A_CDU, A_CHILLERS, A_DRYCOOLER

_SLOT = {"chiller": A_CHILLERS, "cdu": A_CDU, "dry_cooler": A_DRYCOOLER}


def outage_offset_s(scenario, outage):
    """Seconds from the start of the run to the outage (UTC; naive times are UTC)."""
    start = dt.datetime.combine(scenario.start, dt.time(), tzinfo=dt.timezone.utc)
    at = outage.start if outage.start.tzinfo else outage.start.replace(tzinfo=dt.timezone.utc)
    return (at - start).total_seconds()


def cooling_outage(env, sync, plant, offset_s, outage):
    """simpy process: take units out at offset_s, put them back after the outage's duration."""
    slot = _SLOT[outage.unit]
    lost = plant.chillers_lost(outage.fraction) if outage.unit == "chiller" else outage.fraction
    yield env.timeout(offset_s)
    sync(env.now)
    plant.available[slot] -= lost
    yield env.timeout(outage.duration_s)
    sync(env.now)
    plant.available[slot] += lost
