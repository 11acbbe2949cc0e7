"""One step's row of the ledger and its rack sums, from the solved StepFlows (twin/physics/state.py)."""

import numpy as np
from numba import njit

from twin.physics.columns import (
    C_BATT,
    C_BLOW,
    C_CAPF,
    C_CARBON,
    C_CDU,
    C_CHILLER,
    C_CHWP,
    C_CI,
    C_CLOCK,
    C_COOL,
    C_COOLANT,
    C_COP,
    C_CRAH,
    C_CWP,
    C_DB,
    C_DIE,
    C_DRIFT,
    C_DRYFAN,
    C_ECON,
    C_ECOST,
    C_EVAP,
    C_EWIF,
    C_FAC,
    C_FCOST,
    C_GPU,
    C_HOST,
    C_IMPORT,
    C_INLET,
    C_IT,
    C_ITTRAIN,
    C_LIQ,
    C_LOSS,
    C_OFF,
    C_OTHER,
    C_PDU,
    C_PRICE,
    C_PSU,
    C_REJ,
    C_SFAN,
    C_SOLAR,
    C_STORE,
    C_TFAN,
    C_TOK,
    C_TOKDEM,
    C_TOKTRAIN,
    C_TRIM,
    C_UNMET,
    C_UPS,
    C_UTIL,
    C_WADIA,
    C_WB,
    C_WCOST,
    C_WDIR,
    C_WIND,
    C_XFMR,
    D_THROUGHPUT,
    N_RACK,
    R_CLOCK,
    R_DIE,
    R_INLET,
    R_IT,
    R_LIQ,
    R_THROTTLED,
    R_TRIPPED,
    RUN_DEFICIT,
    RUN_MAX_DIE,
    RUN_MAX_INLET,
    RUN_PEAK_IT,
    RUN_THROTTLED,
    RUN_TRIPPED,
)
from twin.physics.cooling import WATER_DENSITY_KG_M3
from twin.physics.drivers import Drivers
from twin.physics.grid import J_PER_KWH, carbon_location_based_kg, indirect_water_m3
from twin.physics.servers import gpu_weighted_limit_fraction
from twin.physics.state import FacilityParams, Prices, Records, StepFlows


@njit(cache=True, inline="always")
def record(
    out: Records,
    i: int,
    dt_s: float,
    d: Drivers,
    plant: FacilityParams,
    f: StepFlows,
    limit_w: np.ndarray,
    limited: bool,
    per_server: np.ndarray,
    drive: np.ndarray,
    row_w: np.ndarray,
    slowed: bool,
) -> None:
    """Write step i's row, add its per-server values to its period's sums, and keep the racks' and rows'
    peaks and seconds over the run (row_w: each row's heat to air, to liquid, -, IT power). limited: whether
    any GPU power limit was set (limit_w not all inf); slowed: whether any rack was stepped exactly (else
    none is throttled or tripped, and those columns are not added)."""
    r = out.values[i]
    _record_power(r, f)
    _record_cooling(r, f, dt_s)
    _record_grid(r, i, d, f, plant.prices, dt_s)
    r[C_CAPF] = gpu_weighted_limit_fraction(plant.units, limit_w, f.servers.gpus) if limited else 1.0
    _record_run(out.rack_run, out.row_run, per_server, drive, dt_s, row_w, slowed)
    if out.rack_sums.shape[0] > 0:  # element by element: no temporary array per step
        _record_period(out.rack_sums[i // out.period_steps], per_server, slowed)
        out.rack_steps[i // out.period_steps] += 1.0


@njit(cache=True, inline="always")
def _record_period(sums: np.ndarray, per_server: np.ndarray, slowed: bool) -> None:
    """Add a step's per-server values to its period's sums (RACK_COLUMNS, racks). The liquid heat is not added
    (it is the IT power times the rack's liquid share: sim/ledger.py derives it), and the clock is summed as
    its deficit 1 - clock, throttled and tripped seconds as they are, only in a step that slowed some rack
    (otherwise all are 0): fewer columns to add every step (a rack series costs about 2 ns per rack-step)."""
    n = np.uint64(per_server.shape[1])
    for k in range(N_RACK):
        if k == R_LIQ or ((k == R_CLOCK or k == R_THROTTLED or k == R_TRIPPED) and not slowed):
            continue
        if k == R_CLOCK:
            for h in range(n):
                sums[k, h] += 1.0 - per_server[k, h]
        else:
            for h in range(n):
                sums[k, h] += per_server[k, h]


@njit(cache=True, inline="always")
def _record_run(
    rack_run: np.ndarray,
    row_run: np.ndarray,
    per_server: np.ndarray,
    drive: np.ndarray,
    dt_s: float,
    row_w: np.ndarray,
    slowed: bool,
) -> None:
    n = np.uint64(per_server.shape[1])
    for h in range(n):
        rack_run[RUN_PEAK_IT, h] = max(rack_run[RUN_PEAK_IT, h], per_server[R_IT, h])
        rack_run[RUN_MAX_INLET, h] = max(rack_run[RUN_MAX_INLET, h], per_server[R_INLET, h])
        rack_run[RUN_MAX_DIE, h] = max(rack_run[RUN_MAX_DIE, h], per_server[R_DIE, h])
    if slowed:
        for h in range(n):
            rack_run[RUN_THROTTLED, h] += per_server[R_THROTTLED, h]
            rack_run[RUN_TRIPPED, h] += per_server[R_TRIPPED, h]
            rack_run[RUN_DEFICIT, h] += dt_s * (1.0 - drive[D_THROUGHPUT, h])
    for g in range(row_run.shape[0]):
        row_run[g, 0] = max(row_run[g, 0], row_w[3, g])
        row_run[g, 1] = max(row_run[g, 1], row_w[0, g])
        row_run[g, 2] = max(row_run[g, 2], row_w[1, g])


@njit(cache=True, inline="always")
def _record_power(r: np.ndarray, f: StepFlows) -> None:
    s = f.servers
    r[C_IT] = s.it_w
    r[C_COOL] = f.cooling_w
    r[C_LOSS] = f.pdu_w + f.ups_w + f.transformer_w
    r[C_OTHER] = f.other_w
    r[C_FAC] = f.facility_w
    r[C_TOK] = s.tokens
    r[C_TOKDEM] = s.tokens_demanded
    r[C_TOKTRAIN] = s.tokens_training
    r[C_ITTRAIN] = s.training_it_w
    r[C_UTIL] = s.utilization_gpus / s.gpus if s.gpus > 0.0 else 0.0
    r[C_CLOCK] = s.clock_gpus / s.gpus if s.gpus > 0.0 else 1.0
    r[C_GPU] = s.gpu_w
    r[C_HOST] = s.host_w
    r[C_SFAN] = s.fan_w
    r[C_PSU] = s.psu_w
    r[C_DIE] = s.die_max_c
    r[C_LIQ] = s.liquid_heat_w
    r[C_PDU] = f.pdu_w
    r[C_UPS] = f.ups_w
    r[C_XFMR] = f.transformer_w
    r[C_BATT] = f.discharge_w - f.charge_w
    r[C_IMPORT] = f.import_w
    r[C_OFF] = s.gpus_off


@njit(cache=True, inline="always")
def _record_cooling(r: np.ndarray, f: StepFlows, dt_s: float) -> None:
    a, q = f.air, f.liquid
    to_m3 = dt_s / WATER_DENSITY_KG_M3
    r[C_CRAH] = a.crah_fan_w
    r[C_CHILLER] = a.chiller_w
    r[C_CHWP] = a.chw_pump_w
    r[C_CWP] = a.cw_pump_w
    r[C_TFAN] = a.tower_fan_w
    r[C_ECON] = a.economiser_fraction
    r[C_COP] = a.chiller_cop
    r[C_CDU] = q.pump_w
    r[C_DRYFAN] = q.drycooler_fan_w
    r[C_TRIM] = q.trim_chiller_w
    r[C_UNMET] = f.stored_w
    r[C_REJ] = f.heat_rejected_w
    r[C_INLET] = f.servers.inlet_max_c
    r[C_STORE] = f.storage_j / J_PER_KWH
    r[C_COOLANT] = f.servers.coolant_max_c
    r[C_EVAP] = a.evaporation_kg_s * to_m3
    r[C_DRIFT] = a.drift_kg_s * to_m3
    r[C_BLOW] = a.blowdown_kg_s * to_m3
    r[C_WADIA] = (a.adiabatic_kg_s + q.adiabatic_kg_s) * to_m3


@njit(cache=True, inline="always")
def _record_grid(r: np.ndarray, i: int, d: Drivers, f: StepFlows, prices: Prices, dt_s: float) -> None:
    """Site series, and what the grid import and the site's water cost: carbon, indirect water, money
    (each computed here only; demand charges and the total cost are added per period after the run)."""
    a, q = f.air, f.liquid
    import_j = f.import_w * dt_s
    water_direct = (a.evaporation_kg_s + a.drift_kg_s + a.blowdown_kg_s + a.adiabatic_kg_s + q.adiabatic_kg_s) * (
        dt_s / WATER_DENSITY_KG_M3
    )
    r[C_DB] = d.drybulb_c[i]
    r[C_WB] = d.wetbulb_c[i]
    r[C_CI] = d.carbon_g_per_kwh[i]
    r[C_PRICE] = d.price_usd_per_kwh[i]
    r[C_EWIF] = d.water_l_per_kwh[i]
    r[C_SOLAR] = d.solar_w[i]
    r[C_WDIR] = water_direct
    r[C_WIND] = indirect_water_m3(import_j, d.water_l_per_kwh[i])
    r[C_CARBON] = carbon_location_based_kg(import_j, d.carbon_g_per_kwh[i])
    r[C_ECOST] = import_j / J_PER_KWH * d.price_usd_per_kwh[i]
    r[C_WCOST] = water_direct * prices.water_usd_per_m3
    r[C_FCOST] = prices.fixed_usd_per_s * dt_s
