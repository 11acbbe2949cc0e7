"""The facility kernel's inputs, parameters, state and per-step results, as NamedTuples (numba
passes them as structs): what twin/physics/facility.py advances and twin/physics/record.py writes."""

from typing import NamedTuple

import numpy as np

from twin.physics.air_plant import AirFlows, AirPlantParams
from twin.physics.liquid_plant import LiquidFlows, LiquidPlantParams
from twin.physics.rows import Rows
from twin.physics.units import Topology, UnitState

# FacilityState.plant: facility water temperature [C], battery charge [J], chilled-water storage charge [J]
S_WATER, S_BATTERY, S_STORAGE = 0, 1, 2
# FacilityState.available: the facility's cooling units in service (fault events change it)
A_CHILLERS, A_DRYCOOLER = 0, 1


class PowerChainParams(NamedTuple):
    transformer_rating_w: float
    transformer_no_load_fraction: float
    transformer_load_loss_fraction: float
    ups_rating_w: float  # installed UPS (or HVDC rectifier) capacity incl. redundancy
    ups_c0: float
    ups_c1: float
    ups_c2: float
    pdu_rating_w: float
    pdu_full_load_loss_fraction: float
    other_power_w: float


class OnSite(NamedTuple):
    battery_capacity_j: float
    battery_power_w: float
    battery_round_trip_efficiency: float


class Prices(NamedTuple):
    water_usd_per_m3: float
    fixed_usd_per_s: float  # amortised capex + fixed opex


class ServerTotals(NamedTuple):
    """One step of every unit's servers, summed over the facility."""

    it_w: float  # wall power of the servers
    gpu_w: float
    host_w: float
    fan_w: float
    psu_w: float
    liquid_heat_w: float
    tokens: float  # served (inference units)
    tokens_demanded: float
    tokens_training: float
    training_it_w: float
    gpus: float
    utilization_gpus: float  # sum of GPUs x utilisation
    clock_gpus: float  # sum of GPUs x clock fraction
    die_max_c: float  # the hottest rack's
    inlet_max_c: float  # the hottest rack inlet at the start of the step
    coolant_max_c: float  # the warmest GPU coolant (inlet air for air-cooled racks)
    gpus_off: float  # GPUs whose servers are powered off (past their inlet or coolant limit, or not yet installed)


class FacilityParams(NamedTuple):
    """Everything fixed about the facility during a run (twin/sim/plant.py sizes it)."""

    units: np.ndarray  # (fields, racks): twin/physics/servers.py unit_matrix, a column per rack
    where: Topology  # each rack's hall and row
    rows: Rows  # each row's cooling units
    air: AirPlantParams
    liquid: LiquidPlantParams
    chain: PowerChainParams
    onsite: OnSite
    prices: Prices


class FacilityState(NamedTuple):
    """What carries over from one step (and one kernel call) to the next, updated in place."""

    plant: np.ndarray  # S_*
    available: np.ndarray  # A_*
    row_air_c: np.ndarray  # each row's supply air (its racks' inlet)
    row_coolant_c: np.ndarray  # each row's secondary coolant supply
    crah_in_service: np.ndarray  # each row's CRAHs in service (a share of a unit where an outage says so)
    cdu_in_service: np.ndarray
    units: UnitState
    rack_load: np.ndarray  # (N_DRIVE, racks): a jobs hall's racks' load as its jobs set it (placement.place_load)


class Records(NamedTuple):
    """Where the kernel writes: values (steps, COLUMNS); rack_sums (periods, RACK_COLUMNS, racks) and
    rack_steps (periods): each unit's per-server values summed per period of period_steps steps (step i
    in period i // period_steps) and the steps counted; no periods: not kept. rack_run and row_run are
    kept always (twin/physics/columns.py)."""

    values: np.ndarray
    rack_sums: np.ndarray
    rack_steps: np.ndarray
    period_steps: int
    rack_run: np.ndarray  # (RACK_RUN_COLUMNS, racks): each rack's peaks and seconds over the run
    row_run: np.ndarray  # (rows, ROW_RUN_COLUMNS): each row's peak IT power and heat to its units


class StepFlows(NamedTuple):
    """One step of the whole facility, solved (see twin/physics/facility.py for the flows)."""

    servers: ServerTotals
    pdu_w: float
    ups_out_w: float  # what the UPS delivers: IT + PDU losses
    ups_w: float
    other_w: float
    air: AirFlows
    liquid: LiquidFlows
    stored_w: float  # heat left in the rows' air and coolant and the facility water (not removed)
    heat_rejected_w: float
    cooling_w: float
    transformer_w: float
    facility_w: float
    charge_w: float  # battery
    discharge_w: float
    import_w: float  # grid import at the meter
    storage_j: float  # chilled-water storage's charge after the step


class StepWork(NamedTuple):
    """A kernel call's arrays (twin/physics/facility.py step_work): constants over the call, then scratch
    that every pass of a step rewrites."""

    decay: np.ndarray  # (2, racks): the GPUs' die and sink decays over a step (servers.node_decays)
    liquid_gain: np.ndarray  # per row: its secondary loop's gain over a step (rows.rows_liquid_gain)
    fleet: np.ndarray  # servers.fleet_constants
    limit_w: np.ndarray  # per rack: its GPUs' power limit in this pass (inf: none)
    last_w: np.ndarray  # per rack: a GPU's power in the last pass
    per_server: np.ndarray  # (RACK_COLUMNS, racks): this pass's per-server values
    row_w: np.ndarray  # (4, rows): each row's heat to air and to liquid, what its CRAHs took, its IT power
    drive: np.ndarray  # (N_DRIVE, racks): each rack's load this step (placement.place_load)
    work: np.ndarray  # (servers.N_WORK, racks): the GPUs' step before it is committed
    exact_racks: np.ndarray  # [1]: racks the last pass stepped by the exact path (servers.gpus_exact)
    sums: np.ndarray  # (servers.N_SUMS,): the racks' sums this pass
