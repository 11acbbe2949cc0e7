"""The whole facility for a run of steps: halls of servers -> power chain -> air plant -> grid.

One kernel call advances every hall over every step between two simulation events
(DESIGN.md: few events, many steps). Results go into one preallocated (steps x columns)
array whose column order is COLUMNS.

Power flow (each loss is heat in the room where it occurs):
    IT (servers at the wall) <- PDU (loss in white space) <- UPS (loss in electrical room,
    cooled by the same plant) <- transformer (outdoor yard, rejected to ambient)
    transformer also feeds cooling and other loads.
    facility (meter) = transformer output + transformer loss
                     = IT + cooling + (PDU + UPS + transformer losses) + other
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics.cooling import WATER_DENSITY_KG_M3, air_plant
from twin.physics.gpu import power_linear_w
from twin.physics.grid import J_PER_KWH, carbon_location_based_kg, indirect_water_m3
from twin.physics.power import pdu_loss_w, transformer_loss_w, ups_loss_quadratic_w
from twin.physics.rack import host_power_linear_w

COLUMNS = (
    "it_power_w", "cooling_power_w", "power_chain_loss_w", "other_power_w", "facility_power_w",
    "outdoor_drybulb_c", "outdoor_wetbulb_c", "grid_carbon_g_per_kwh", "price_usd_per_kwh",
    "water_direct_m3", "water_indirect_m3", "carbon_kg", "cost_usd", "tokens",
    "tokens_demanded", "gpu_utilization", "gpu_power_w", "host_power_w",
    "crah_fan_power_w", "chiller_power_w", "chw_pump_power_w", "cw_pump_power_w", "tower_fan_power_w",
    "economiser_fraction", "chiller_cop", "cooling_unmet_w", "heat_rejected_w",
    "pdu_loss_w", "ups_loss_w", "transformer_loss_w",
    "water_evaporation_m3", "water_drift_m3", "water_blowdown_m3", "grid_water_l_per_kwh",
    "energy_cost_usd", "water_cost_usd", "fixed_cost_usd",
)

# Column indices as module constants: numba freezes them into the compiled kernel.
C_IT, C_COOL, C_LOSS, C_OTHER, C_FAC = 0, 1, 2, 3, 4
C_DB, C_WB, C_CI, C_PRICE = 5, 6, 7, 8
C_WDIR, C_WIND, C_CARBON, C_COST, C_TOK = 9, 10, 11, 12, 13
C_TOKDEM, C_UTIL, C_GPU, C_HOST = 14, 15, 16, 17
C_CRAH, C_CHILLER, C_CHWP, C_CWP, C_TFAN = 18, 19, 20, 21, 22
C_ECON, C_COP, C_UNMET, C_REJ = 23, 24, 25, 26
C_PDU, C_UPS, C_XFMR = 27, 28, 29
C_EVAP, C_DRIFT, C_BLOW, C_EWIF = 30, 31, 32, 33
C_ECOST, C_WCOST, C_FCOST = 34, 35, 36
assert COLUMNS[C_FCOST] == "fixed_cost_usd" and len(COLUMNS) == 37


class Halls(NamedTuple):
    """Struct-of-arrays description of the halls: one entry per hall, servers identical within it."""
    servers: np.ndarray               # servers in the hall
    gpus_per_server: np.ndarray
    gpu_idle_w: np.ndarray
    gpu_max_w: np.ndarray
    host_idle_w: np.ndarray
    host_max_w: np.ndarray
    tokens_per_gpu_s: np.ndarray      # output tokens/s of one GPU at utilisation 1


class PowerChainParams(NamedTuple):
    transformer_rating_w: float
    transformer_no_load_fraction: float
    transformer_load_loss_fraction: float
    ups_rating_w: float
    ups_no_load_fraction: float
    ups_proportional_fraction: float
    ups_square_fraction: float
    pdu_rating_w: float
    pdu_full_load_loss_fraction: float
    other_power_w: float


class Prices(NamedTuple):
    water_usd_per_m3: float
    fixed_usd_per_s: float            # amortised capex + fixed opex


@njit(cache=True)
def advance(i0, i1, dt_s, utilization, demand, drybulb_c, wetbulb_c, carbon_g_per_kwh,
            water_l_per_kwh, price_usd_per_kwh, halls, plant, chain, prices, out):
    """Advance steps [i0, i1) and write one row of COLUMNS per step into out.

    utilization, demand: (steps, halls) GPU utilisation served and requested, 0..1.
    Site series are per step. See module docstring for the power and heat flow.
    """
    n_halls = halls.servers.shape[0]
    for i in range(i0, i1):
        it_w = 0.0
        gpu_w = 0.0
        host_w = 0.0
        tokens = 0.0
        tokens_dem = 0.0
        gpu_count = 0.0
        util_gpu = 0.0
        for h in range(n_halls):
            u = utilization[i, h]
            gpus = halls.servers[h] * halls.gpus_per_server[h]
            g = gpus * power_linear_w(u, halls.gpu_idle_w[h], halls.gpu_max_w[h])
            o = halls.servers[h] * host_power_linear_w(u, halls.host_idle_w[h], halls.host_max_w[h])
            gpu_w += g
            host_w += o
            it_w += g + o
            tokens += gpus * u * halls.tokens_per_gpu_s[h] * dt_s
            tokens_dem += gpus * demand[i, h] * halls.tokens_per_gpu_s[h] * dt_s
            gpu_count += gpus
            util_gpu += gpus * u

        pdu_w = pdu_loss_w(it_w, chain.pdu_rating_w, chain.pdu_full_load_loss_fraction)
        ups_out_w = it_w + pdu_w
        ups_w = ups_loss_quadratic_w(ups_out_w, chain.ups_rating_w, chain.ups_no_load_fraction,
                                     chain.ups_proportional_fraction, chain.ups_square_fraction)
        other_w = chain.other_power_w
        room_heat_w = it_w + pdu_w + ups_w + other_w

        (crah_w, chiller_w, chwp_w, cwp_w, tfan_w, econ, cop, unmet_w, rej_w,
         evap, drift, blow) = air_plant(room_heat_w, drybulb_c[i], wetbulb_c[i], plant)
        cooling_w = crah_w + chiller_w + chwp_w + cwp_w + tfan_w

        xfmr_out_w = ups_out_w + ups_w + cooling_w + other_w
        xfmr_w = transformer_loss_w(xfmr_out_w, chain.transformer_rating_w,
                                    chain.transformer_no_load_fraction, chain.transformer_load_loss_fraction)
        facility_w = xfmr_out_w + xfmr_w
        energy_j = facility_w * dt_s

        water_direct = (evap + drift + blow) * dt_s / WATER_DENSITY_KG_M3
        energy_cost = energy_j / J_PER_KWH * price_usd_per_kwh[i]
        water_cost = water_direct * prices.water_usd_per_m3
        fixed_cost = prices.fixed_usd_per_s * dt_s

        r = out[i]
        r[C_IT] = it_w
        r[C_COOL] = cooling_w
        r[C_LOSS] = pdu_w + ups_w + xfmr_w
        r[C_OTHER] = other_w
        r[C_FAC] = facility_w
        r[C_DB] = drybulb_c[i]
        r[C_WB] = wetbulb_c[i]
        r[C_CI] = carbon_g_per_kwh[i]
        r[C_PRICE] = price_usd_per_kwh[i]
        r[C_WDIR] = water_direct
        r[C_WIND] = indirect_water_m3(energy_j, water_l_per_kwh[i])
        r[C_CARBON] = carbon_location_based_kg(energy_j, carbon_g_per_kwh[i])
        r[C_COST] = energy_cost + water_cost + fixed_cost
        r[C_TOK] = tokens
        r[C_TOKDEM] = tokens_dem
        r[C_UTIL] = util_gpu / gpu_count if gpu_count > 0.0 else 0.0
        r[C_GPU] = gpu_w
        r[C_HOST] = host_w
        r[C_CRAH] = crah_w
        r[C_CHILLER] = chiller_w
        r[C_CHWP] = chwp_w
        r[C_CWP] = cwp_w
        r[C_TFAN] = tfan_w
        r[C_ECON] = econ
        r[C_COP] = cop
        r[C_UNMET] = unmet_w
        r[C_REJ] = rej_w
        r[C_PDU] = pdu_w
        r[C_UPS] = ups_w
        r[C_XFMR] = xfmr_w
        r[C_EVAP] = evap * dt_s / WATER_DENSITY_KG_M3
        r[C_DRIFT] = drift * dt_s / WATER_DENSITY_KG_M3
        r[C_BLOW] = blow * dt_s / WATER_DENSITY_KG_M3
        r[C_EWIF] = water_l_per_kwh[i]
        r[C_ECOST] = energy_cost
        r[C_WCOST] = water_cost
        r[C_FCOST] = fixed_cost
