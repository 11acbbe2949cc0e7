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

from twin.physics.cooling import WATER_CP_J_KG_K, WATER_DENSITY_KG_M3
from twin.physics.state import A_CHILLERS, A_DRYCOOLER
from twin.scenario.facility import inlet_allowable_c


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


RECOVERED_WITHIN_K = 0.5  # [M] an outage is over once the hottest inlet is back within this of where it began


def outage_summary(scenario, frame, plant):
    """summary.json "cooling_outages": for each outage, how hot the hottest server inlet got, how long servers were
    off and above their allowable inlet, when a chilled-water tank ran dry, and the recovery time: minutes from the
    units' return until the hottest inlet is back within RECOVERED_WITHIN_K of where it was when they went out and
    no more GPUs are off than then (None: not within the run). Plus the tank's ride-through at design heat."""
    step_s = scenario.step_s
    limit_c = inlet_allowable_c(scenario.facility.cooling)
    inlet = frame["server_inlet_temp_c"].to_numpy()
    off = frame["gpus_off"].to_numpy()
    store = frame["thermal_storage_kwh"].to_numpy()
    out = []
    for outage in scenario.faults.cooling_outages:
        offset_s = outage_offset_s(scenario, outage)
        i0 = int(offset_s // step_s)
        i1 = min(int((offset_s + outage.duration_s) // step_s), len(frame))  # the step the units are back
        base_c, base_off = inlet[i0], off[i0]
        back = np.flatnonzero((inlet[i1:] <= base_c + RECOVERED_WITHIN_K) & (off[i1:] <= base_off))
        end = i1 + (int(back[0]) if back.size else len(frame) - i1)
        window = slice(i0, max(end, i1 + 1))
        dry = np.flatnonzero(store[i0:i1] <= 0.0) if plant.air.storage_j > 0.0 else np.array([])
        out.append(
            {
                "unit": outage.unit,
                "start_utc": frame["timestamp"].iloc[i0].isoformat(),
                "duration_h": outage.duration_s / 3600.0,
                "max_inlet_c": float(inlet[window].max()),
                "inlet_rise_k": float(inlet[window].max() - base_c),
                "hours_inlet_above_allowable": float((inlet[window] > limit_c).sum() * step_s / 3600.0),
                "max_gpus_off": float(off[window].max()),
                "tank_empty_after_min": float((dry[0] + 1) * step_s / 60.0) if dry.size else None,
                "recovery_min": float((end - i1) * step_s / 60.0) if back.size else None,
            }
        )
    return out


def storage_summary(plant):
    """summary.json "thermal_storage": the chilled-water tank's cooling, its ride-through at the air path's design
    heat and its volume at the chilled-water range (V = E / (rho c_p dT))."""
    air = plant.air
    rho_cp = WATER_DENSITY_KG_M3 * WATER_CP_J_KG_K
    return {
        "storage_kwh": air.storage_j / 3.6e6,
        "ride_through_min_at_design_heat": air.storage_j / air.design_heat_w / 60.0,
        "tank_m3": air.storage_j / (rho_cp * air.chw_delta_t_k),
        "recharge_kw": air.storage_recharge_w / 1e3,
    }
