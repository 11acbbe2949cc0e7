"""Racks and rows: where each rack of a scenario's halls stands, and each row's cooling units sized on
the row's design heat (catalog/cooling.yaml `rows`; docs/model.md#rows-and-their-cooling-units).

A hall's racks fill its rows in order, as evenly as the count allows (a hall of 300 racks in 4 rows:
75 each; 302 racks: 76, 76, 75, 75). Each row has its own CRAHs (air) and, in a liquid-cooled hall, its
own CDUs (or tank heat exchangers), each group with its redundancy.
"""

from typing import NamedTuple

import numpy as np

from twin import catalog
from twin.physics import power
from twin.physics.placement import COOLEST_FIRST, JOBS, PACK, SPREAD
from twin.physics.rows import Rows
from twin.physics.units import U_RACK_LIMIT_W, U_RECIRCULATION_K_PER_W, U_SERVERS, Halls, Topology, unit_matrix


class Layout(NamedTuple):
    """Each rack's hall and row, with the names results give them."""

    rack_hall: np.ndarray  # int64, per rack: index into the scenario's halls
    rack_row: np.ndarray  # int64, per rack: index into the rows (all halls' rows, hall by hall)
    rack_ids: list  # "hall-a/row-2/rack-07"
    row_names: list  # "hall-a/row-2"
    row_hall: np.ndarray  # int64, per row
    rack_servers: np.ndarray  # float, per rack
    rack_limit_w: np.ndarray  # float, per rack: its power limit at the wall (inf: none)
    row_empty: np.ndarray  # float, per row: empty rack positions (a partly populated hall)


def layout(scenario) -> Layout:
    rack_hall, rack_row, rack_ids, row_names, row_hall, rack_servers, rack_limit = [], [], [], [], [], [], []
    row_empty = []
    for h, hall in enumerate(scenario.facility.halls):
        n_rows = hall.rows()
        servers = iter(hall.rack_servers())
        limits = iter(hall.rack_power_limits_w())
        positions = hall.floor_positions()
        left = hall.rack_count
        for k in range(n_rows):
            in_row = positions // n_rows + (1 if k < positions % n_rows else 0)
            racks = min(in_row, left)  # racks fill the positions row by row
            left -= racks
            row_empty.append(float(in_row - racks))
            row = f"{hall.name}/row-{k + 1}"
            for j in range(racks):
                rack_servers.append(float(next(servers)))
                rack_limit.append(float(next(limits)))
                rack_hall.append(h)
                rack_row.append(len(row_names))
                rack_ids.append(f"{row}/rack-{j + 1:02d}")
            row_names.append(row)
            row_hall.append(h)
    as_int = lambda v: np.array(v, dtype=np.int64)  # noqa: E731
    return Layout(
        as_int(rack_hall),
        as_int(rack_row),
        rack_ids,
        row_names,
        as_int(row_hall),
        np.array(rack_servers, dtype=float),
        np.array(rack_limit, dtype=float),
        np.array(row_empty, dtype=float),
    )


def rack_units(halls: Halls, rack_kind: np.ndarray, where: Layout, recirculation_k_per_w: np.ndarray) -> np.ndarray:
    """The kernels' parameter matrix with one column per rack: its kind's (halls: per kind, rack_kind: each rack's) server parameters, the rack's own
    servers and its recirculation term (recirculation_k_per_w)."""
    units = np.ascontiguousarray(unit_matrix(halls)[:, rack_kind])
    units[U_SERVERS] = where.rack_servers
    units[U_RECIRCULATION_K_PER_W] = recirculation_k_per_w
    units[U_RACK_LIMIT_W] = where.rack_limit_w
    return units


def recirculation_k_per_w(where: Layout, server_air_w: np.ndarray, shi: np.ndarray, air_delta_t_k: float):
    """Each rack's inlet rise per watt of a server's air heat [K/W]: T_in = T_row + SHI_r / (1 - SHI_r) dT_rack,
    from SHI's definition (catalog rows.supply_heat_index), with the rack's exhaust rise dT_rack = dT_design
    x its air heat / its design air heat (servers' fans sized for design). A rack that draws more air than the
    row's mean rack breathes more exhaust: SHI_r = SHI_hall x its design air heat / the row's mean (at most
    0.5). server_air_w: a server's design air heat of each rack; shi: each rack's hall's SHI."""
    rack_air_w = server_air_w * where.rack_servers
    n = len(where.row_names)
    counts = np.bincount(where.rack_row, minlength=n)
    row_mean = np.divide(
        np.bincount(where.rack_row, weights=rack_air_w, minlength=n), counts, out=np.zeros(n), where=counts > 0
    )
    share = np.divide(
        rack_air_w, row_mean[where.rack_row], out=np.ones_like(rack_air_w), where=row_mean[where.rack_row] > 0
    )
    rack_shi = np.minimum(shi * share, 0.5)
    return np.divide(
        rack_shi / (1.0 - rack_shi) * air_delta_t_k, server_air_w, out=np.zeros_like(rack_air_w), where=server_air_w > 0
    )


PLACEMENT = {"spread": SPREAD, "pack": PACK, "coolest_first": COOLEST_FIRST}


def topology(
    where: Layout, coolant_floor_c: float, scenario, rack_ups_group: np.ndarray, rack_kind: np.ndarray
) -> Topology:
    """The kernel's view of the layout. Training halls always pack: jobs take whole servers, racks filled
    in row order (contiguous by row); a job trace's hall takes its racks' load from its jobs (twin/sim/jobs.py);
    inference halls place by workload.inference.placement. rack_ups_group:
    each rack's UPS group (twin/sim/ups_groups.py); rack_kind: each rack's kind (sim/plant.py unit_kinds)."""
    training, jobs = scenario.workload.training, scenario.workload.jobs
    placement = np.array(
        [
            JOBS
            if jobs is not None and hall.name == jobs.hall
            else PACK
            if training is not None and hall.name == training.hall
            else PLACEMENT[scenario.workload.inference.placement]
            for hall in scenario.facility.halls
        ],
        dtype=np.int64,
    )
    first = np.searchsorted(where.rack_hall, np.arange(len(scenario.facility.halls) + 1)).astype(np.int64)
    hall_limit_w = np.array(
        [h.power_limit_mw * 1e6 if h.power_limit_mw is not None else np.inf for h in scenario.facility.halls]
    )
    row_first = np.searchsorted(where.rack_row, np.arange(len(where.row_names) + 1)).astype(np.int64)
    return Topology(
        where.rack_hall,
        where.rack_row,
        coolant_floor_c,
        placement,
        first,
        hall_limit_w,
        row_first,
        np.ascontiguousarray(rack_ups_group, dtype=np.int64),
        np.ascontiguousarray(rack_kind, dtype=np.int64),
    )


def build_rows(
    scenario,
    where: Layout,
    rack_it_w,
    rack_liquid_w,
    empty_it_w,
    empty_liquid_w,
    room_heat_w,
    air,
    air_path,
    liquid,
    liquid_settings,
    design_it_w,
):
    """Size each row's cooling units. rack_it_w, rack_liquid_w: each rack's design IT power and the part
    of it its liquid path takes [W]; room_heat_w: the design heat outside the racks (PDU, UPS, other),
    which the rows' air shares in proportion to their design IT power. air, liquid: the facility plants
    (their thermal masses are shared out by design heat); air_path: the scenario's air path (CRAH unit
    and redundancy); liquid_settings: the cooling's catalog block with the scenario's choices."""
    n = len(where.row_names)
    # each row is built for its racks and its empty positions (empty_it_w, empty_liquid_w: one empty position's
    # design IT power and liquid heat in each row)
    it_w = np.bincount(where.rack_row, weights=rack_it_w, minlength=n) + where.row_empty * empty_it_w
    liquid_w = np.bincount(where.rack_row, weights=rack_liquid_w, minlength=n) + where.row_empty * empty_liquid_w
    share = it_w / design_it_w
    air_w = it_w - liquid_w + share * room_heat_w
    spec = catalog.load("cooling")["rows"]
    crah_w = air_path.crah_unit_kw * 1e3
    crah_units = np.array([power.installed_rating_w(q, crah_w, air_path.crah_redundancy) / crah_w for q in air_w])
    cdu_w = liquid_settings.get("cdu_unit_kw", spec["cdu_unit_kw"]) * 1e3
    cdu_units = np.array(
        [
            power.installed_rating_w(q, cdu_w, liquid_settings["cdu_redundancy"]) / cdu_w if q > 0 else 0.0
            for q in liquid_w
        ]
    )
    # all installed CDUs at the row's design liquid heat hold the design coolant approach
    ua = np.divide(liquid_w, cdu_units * liquid.coolant_approach_k, out=np.zeros(n), where=cdu_units > 0)
    liquid_capacity = (
        spec["secondary_heat_capacity_share"] * liquid_settings["heat_capacity_s_per_k"] * liquid_w
        if liquid.design_heat_w > 0.0
        else np.zeros(n)
    )
    return Rows(
        hall=where.row_hall,
        room_heat_share=share,
        air_heat_capacity_j_per_k=air.heat_capacity_j_per_k * air_w / air.design_heat_w,
        crah_unit_capacity_w=np.full(n, crah_w),
        crah_units=crah_units,
        liquid_heat_capacity_j_per_k=liquid_capacity,
        cdu_unit_ua_w_per_k=ua,
        cdu_unit_capacity_w=np.full(n, cdu_w),
        cdu_units=cdu_units,
        design_it_w=it_w,
        power_limit_w=np.array(
            [
                h.row_power_limit_kw * 1e3 if h.row_power_limit_kw is not None else np.inf
                for h in (scenario.facility.halls[k] for k in where.row_hall)
            ]
        ),
    )
