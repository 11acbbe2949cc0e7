"""The whole facility for a run of steps: halls of servers -> power chain -> cooling -> grid.

One kernel call advances every hall over every step between two simulation events
(docs/architecture.md#the-flow-of-a-run: few events, many steps). Results go into one preallocated (steps x columns)
array whose column order is COLUMNS; the thermal state (die temperatures, coolant loops)
carries over from one call to the next in `state` and `die_temp_c`.

Power flow (each loss is heat in the room where it occurs):
    servers (GPUs + host + fans, behind their PSUs: IT power at the wall) <- PDU (white space)
    <- UPS or HVDC rectifier (electrical room, cooled by the air path) <- transformer (outdoor
    yard, rejected to ambient); the transformer also feeds cooling and other loads.
    facility = IT + cooling + (PDU + UPS + transformer losses) + other
    grid import (the meter) = facility - on-site solar used - battery discharge; carbon, indirect
    water and energy cost follow the grid import.
Heat flow: a hall's IT heat splits into liquid (cold plates / tanks) and room air; PDU, UPS and
other loads heat the room air. Each coolant loop removes what its plant can; the rest is stored
in the loop (its temperature rises), and GPUs see their loop's temperature.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from twin.physics import gpu
from twin.physics.cooling import WATER_DENSITY_KG_M3, air_plant, liquid_plant, loop_temp_after_c, recovery_demand_w
from twin.physics.grid import J_PER_KWH, battery_step, carbon_location_based_kg, indirect_water_m3
from twin.physics.power import converter_loss_w, pdu_loss_w, transformer_loss_w
from twin.physics.rack import fan_power_w, fan_speed_fraction, host_power_linear_w, wall_power_w

COLUMNS = (
    "it_power_w",
    "cooling_power_w",
    "power_chain_loss_w",
    "other_power_w",
    "facility_power_w",
    "outdoor_drybulb_c",
    "outdoor_wetbulb_c",
    "grid_carbon_g_per_kwh",
    "price_usd_per_kwh",
    "water_direct_m3",
    "water_indirect_m3",
    "carbon_kg",
    "cost_usd",
    "tokens",
    "tokens_demanded",
    "gpu_utilization",
    "gpu_power_w",
    "host_power_w",
    "crah_fan_power_w",
    "chiller_power_w",
    "chw_pump_power_w",
    "cw_pump_power_w",
    "tower_fan_power_w",
    "economiser_fraction",
    "chiller_cop",
    "cooling_unmet_w",
    "heat_rejected_w",
    "pdu_loss_w",
    "ups_loss_w",
    "transformer_loss_w",
    "water_evaporation_m3",
    "water_drift_m3",
    "water_blowdown_m3",
    "grid_water_l_per_kwh",
    "energy_cost_usd",
    "water_cost_usd",
    "fixed_cost_usd",
    "server_fan_power_w",
    "psu_loss_w",
    "gpu_clock_fraction",
    "gpu_die_temp_c",
    "server_inlet_temp_c",
    "coolant_supply_temp_c",
    "liquid_heat_w",
    "cdu_pump_power_w",
    "dry_cooler_fan_power_w",
    "trim_chiller_power_w",
    "water_adiabatic_m3",
    "solar_power_w",
    "battery_power_w",
    "grid_import_w",
    "tokens_training",
    "training_it_power_w",
    "gpu_power_limit_fraction",
)
_I = {name: i for i, name in enumerate(COLUMNS)}
# Per server of each hall, summed per period into rack_out (a rack is servers_per_rack of them, all alike)
RACK_COLUMNS = (
    "it_power_w",
    "gpu_power_w",
    "host_power_w",
    "server_fan_power_w",
    "liquid_heat_w",
    "gpu_utilization",
    "gpu_clock_fraction",
    "gpu_die_temp_c",
    "coolant_temp_c",
)
N_RACK = len(RACK_COLUMNS)
# Column indices as module constants: numba freezes them into the compiled kernel.
C_IT, C_COOL, C_LOSS, C_OTHER, C_FAC = (_I[c] for c in COLUMNS[:5])
C_DB, C_WB, C_CI, C_PRICE = (_I[c] for c in COLUMNS[5:9])
C_WDIR, C_WIND, C_CARBON, C_COST, C_TOK = (_I[c] for c in COLUMNS[9:14])
C_TOKDEM, C_UTIL, C_GPU, C_HOST = (_I[c] for c in COLUMNS[14:18])
C_CRAH, C_CHILLER, C_CHWP, C_CWP, C_TFAN = (_I[c] for c in COLUMNS[18:23])
C_ECON, C_COP, C_UNMET, C_REJ = (_I[c] for c in COLUMNS[23:27])
C_PDU, C_UPS, C_XFMR = (_I[c] for c in COLUMNS[27:30])
C_EVAP, C_DRIFT, C_BLOW, C_EWIF = (_I[c] for c in COLUMNS[30:34])
C_ECOST, C_WCOST, C_FCOST = (_I[c] for c in COLUMNS[34:37])
C_SFAN, C_PSU, C_CLOCK, C_DIE, C_INLET, C_COOLANT, C_LIQ = (_I[c] for c in COLUMNS[37:44])
C_CDU, C_DRYFAN, C_TRIM, C_WADIA = (_I[c] for c in COLUMNS[44:48])
C_SOLAR, C_BATT, C_IMPORT, C_TOKTRAIN, C_ITTRAIN, C_CAPF = (_I[c] for c in COLUMNS[48:54])

# Facility power cap: passes per step, and the meter watts per GPU watt assumed when lowering the limit
MAX_CAP_PASSES = 6
CAP_TOLERANCE = 0.001  # [M] a draw within 0.1 % of a cap holds it: the passes converge to about that
CAP_MARGINAL_W_PER_GPU_W = 1.3  # [M] PSU ~1.05 x power chain ~1.05 x cooling ~1.2; the passes correct the rest
UPS_MARGINAL_W_PER_GPU_W = 1.1  # [M] PSU ~1.05 x PDU; the passes correct the rest

# state vector: coolant loops, battery charge [J]
S_AIR, S_LIQUID, S_BATTERY = 0, 1, 2
# availability vector: cooling units in service (fault events change it)
A_CHILLERS, A_CDU, A_DRYCOOLER = 0, 1, 2


class Halls(NamedTuple):
    """Struct-of-arrays description of the halls: one entry per hall, servers identical within it."""

    servers: np.ndarray  # servers in the hall
    gpus_per_server: np.ndarray
    gpu_idle_w: np.ndarray  # board power at idle clocks and leak_ref_temp_c
    gpu_tdp_w: np.ndarray  # board power limit
    gpu_clock_w: np.ndarray  # clock-tree power at full clock, no kernel running (0 in the catalog)
    gpu_dynamic_w: np.ndarray  # switching power at full activity and clock (catalog: tdp_w - idle_w)
    gpu_v_floor: np.ndarray  # lowest core voltage over the full-clock one (0 in the catalog: pure cube law)
    leak_fraction: np.ndarray  # share of idle power that is leakage at leak_ref_temp_c
    leak_per_k: np.ndarray  # leakage temperature coefficient [1/K]
    leak_ref_temp_c: np.ndarray
    die_r_k_per_w: np.ndarray  # die-to-coolant thermal resistance [K/W]
    die_c_j_per_k: np.ndarray  # die + heat-spreader heat capacity [J/K]
    sink_r_k_per_w: np.ndarray  # heat-sink-to-coolant resistance [K/W] (0: no sink node, the catalog's default)
    sink_c_j_per_k: np.ndarray  # heat-sink heat capacity [J/K]
    max_temp_c: np.ndarray  # die temperature where thermal slowdown holds the clock
    shutdown_temp_c: np.ndarray  # die temperature where the GPU trips off
    min_clock_fraction: np.ndarray
    throughput_clock_exponent: np.ndarray  # tokens ~ clock^beta
    host_idle_w: np.ndarray  # non-GPU DC power at idle (fans and PSU loss excluded)
    host_max_w: np.ndarray
    fan_max_w: np.ndarray  # server fans at full speed
    fan_speed_at_ref: np.ndarray
    fan_ref_temp_c: np.ndarray
    fan_speed_per_k: np.ndarray
    fan_min_speed: np.ndarray
    psu_rating_w: np.ndarray  # installed server power conversion (all PSUs share the load)
    psu_c0: np.ndarray
    psu_c1: np.ndarray
    psu_c2: np.ndarray
    liquid_fraction: np.ndarray  # share of server heat captured by liquid
    tokens_per_gpu_s: np.ndarray  # tokens/s of one GPU at utilisation 1, full clock: output tokens
    # served (inference), tokens processed (training)
    training: np.ndarray  # 1 for a training hall (its tokens go to tokens_training), else 0


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


@njit(cache=True)
def advance(
    i0,
    i1,
    dt_s,
    utilization,
    activity,
    productive,
    demand,
    drybulb_c,
    wetbulb_c,
    carbon_g_per_kwh,
    water_l_per_kwh,
    price_usd_per_kwh,
    solar_w,
    cap_w,
    ups_cap_w,
    halls,
    air,
    liquid,
    chain,
    onsite,
    prices,
    available,
    state,
    die_temp_c,
    sink_temp_c,
    tripped,
    out,
    rack_out,
    rack_n,
    period_steps,
):
    """Advance steps [i0, i1) and write one row of COLUMNS per step into out.

    utilization, demand: (steps, halls) GPU utilisation served and requested, 0..1 (shares of serving
    capacity; tokens and host power follow utilisation). activity: (steps, halls) the GPU power model's
    activity at that utilisation (twin/sim/serving.py), 0..1. productive: (steps, halls) share of the
    hall's GPUs doing work that counts (training work later lost to a failure does not).
    cap_w: per step, the most the facility may draw from the grid (inf: no cap); above it the GPUs get a
    power limit (their power in the previous pass, scaled down by the excess) and the step is solved
    again until the grid draw is within 0.1 % of the cap (MAX_CAP_PASSES at most). ups_cap_w: per step,
    the most the UPS can carry (IT + PDU; inf unless modules are out), held the same way.
    Site series and on-site solar AC power are per step. available: units in service (A_*). state: coolant loop
    temperatures (S_*); die_temp_c, sink_temp_c and tripped (GPUs off on over-temperature, 0/1): per
    hall; all four are updated in place. rack_out (periods, halls, RACK_COLUMNS) and rack_n (periods): the
    per-server values of each hall summed per period of period_steps steps (step i in period i //
    period_steps) and the steps counted; no periods: not kept.
    See the module docstring for the power and heat flow.
    """
    n_halls = halls.servers.shape[0]
    has_liquid = liquid.design_heat_w > 0.0
    state0 = state.copy()
    die0 = die_temp_c.copy()
    sink0 = sink_temp_c.copy()
    trip0 = tripped.copy()
    limit_w = np.full(n_halls, np.inf)  # per-GPU power limit of each hall in this pass
    per_server = np.zeros((n_halls, N_RACK))  # this pass's per-server values of each hall
    last_w = np.zeros(n_halls)  # per-GPU power of each hall in the previous pass
    for i in range(i0, i1):
        state0[:] = state
        die0[:] = die_temp_c
        sink0[:] = sink_temp_c
        trip0[:] = tripped
        limit_w[:] = np.inf
        for attempt in range(MAX_CAP_PASSES):
            state[:] = state0
            die_temp_c[:] = die0
            sink_temp_c[:] = sink0
            tripped[:] = trip0
            air_c = state[S_AIR]
            water_c = state[S_LIQUID]
            liquid_coolant_c = max(liquid.coolant_floor_c, water_c + liquid.coolant_approach_k)
            it_w = gpu_w = host_w = fan_w = psu_w = liquid_heat_w = 0.0
            tokens = tokens_dem = tokens_train = it_train_w = gpu_count = util_gpu = clock_gpu = 0.0
            die_max = -273.15
            for h in range(n_halls):
                u = utilization[i, h]
                servers = halls.servers[h]
                gpus = servers * halls.gpus_per_server[h]
                coolant_c = liquid_coolant_c if halls.liquid_fraction[h] > 0.0 else air_c
                p_gpu, clock, die_end, sink_end, trip = gpu.step(
                    activity[i, h],
                    die_temp_c[h],
                    sink_temp_c[h],
                    coolant_c,
                    dt_s,
                    halls.gpu_idle_w[h],
                    halls.gpu_clock_w[h],
                    halls.gpu_dynamic_w[h],
                    halls.gpu_v_floor[h],
                    halls.gpu_tdp_w[h],
                    halls.leak_fraction[h],
                    halls.leak_per_k[h],
                    halls.leak_ref_temp_c[h],
                    halls.die_r_k_per_w[h],
                    halls.die_c_j_per_k[h],
                    halls.sink_r_k_per_w[h],
                    halls.sink_c_j_per_k[h],
                    halls.max_temp_c[h],
                    halls.min_clock_fraction[h],
                    halls.shutdown_temp_c[h],
                    tripped[h] > 0.0,
                    limit_w[h],
                )
                last_w[h] = p_gpu
                die_temp_c[h] = die_end
                sink_temp_c[h] = sink_end
                tripped[h] = 1.0 if trip else 0.0
                die_max = max(die_max, die_end)
                host = host_power_linear_w(u, halls.host_idle_w[h], halls.host_max_w[h])
                speed = fan_speed_fraction(
                    air_c,
                    halls.fan_speed_at_ref[h],
                    halls.fan_ref_temp_c[h],
                    halls.fan_speed_per_k[h],
                    halls.fan_min_speed[h],
                )
                fan = fan_power_w(speed, halls.fan_max_w[h])
                dc = halls.gpus_per_server[h] * p_gpu + host + fan
                wall = wall_power_w(dc, halls.psu_rating_w[h], halls.psu_c0[h], halls.psu_c1[h], halls.psu_c2[h])
                gpu_w += gpus * p_gpu
                host_w += servers * host
                fan_w += servers * fan
                psu_w += servers * (wall - dc)
                it_w += servers * wall
                liquid_heat_w += halls.liquid_fraction[h] * servers * wall
                rate = halls.tokens_per_gpu_s[h] * dt_s * gpus
                done = rate * productive[i, h] * clock ** halls.throughput_clock_exponent[h]
                if halls.training[h] > 0.0:
                    tokens_train += done
                    it_train_w += servers * wall
                else:
                    tokens += done
                    tokens_dem += rate * demand[i, h]
                gpu_count += gpus
                util_gpu += gpus * u
                clock_gpu += gpus * clock
                per_server[h, 0] = wall
                per_server[h, 1] = halls.gpus_per_server[h] * p_gpu
                per_server[h, 2] = host
                per_server[h, 3] = fan
                per_server[h, 4] = halls.liquid_fraction[h] * wall
                per_server[h, 5] = u
                per_server[h, 6] = clock
                per_server[h, 7] = die_end
                per_server[h, 8] = coolant_c

            pdu_w = pdu_loss_w(it_w, chain.pdu_rating_w, chain.pdu_full_load_loss_fraction)
            ups_out_w = it_w + pdu_w
            ups_w = converter_loss_w(ups_out_w, chain.ups_rating_w, chain.ups_c0, chain.ups_c1, chain.ups_c2)
            other_w = chain.other_power_w
            air_heat_w = it_w - liquid_heat_w + pdu_w + ups_w + other_w

            ask_w = recovery_demand_w(air_c, air.supply_air_temp_c, air_heat_w, air.heat_capacity_j_per_k, dt_s)
            (crah_w, chiller_w, chwp_w, cwp_w, tfan_w, econ, cop, unmet_w, rej_w, evap, drift, blow, adia_air) = (
                air_plant(ask_w, drybulb_c[i], wetbulb_c[i], air, int(available[A_CHILLERS]))
            )
            air_removed_w = ask_w - unmet_w
            state[S_AIR] = loop_temp_after_c(
                air_c, air.supply_air_temp_c, air_heat_w, air_removed_w, air.heat_capacity_j_per_k, dt_s
            )
            stored_w = air_heat_w - air_removed_w

            cdu_w = dry_fan_w = trim_w = adia_dry = 0.0
            if has_liquid:
                ask_w = recovery_demand_w(
                    water_c, liquid.supply_temp_c, liquid_heat_w, liquid.heat_capacity_j_per_k, dt_s
                )
                cdu_w, dry_fan_w, trim_w, liq_removed_w, adia_dry, _, liq_rej_w = liquid_plant(
                    ask_w, water_c, drybulb_c[i], wetbulb_c[i], liquid, available[A_CDU], available[A_DRYCOOLER]
                )
                state[S_LIQUID] = loop_temp_after_c(
                    water_c, liquid.supply_temp_c, liquid_heat_w, liq_removed_w, liquid.heat_capacity_j_per_k, dt_s
                )
                stored_w += liquid_heat_w - liq_removed_w
                rej_w += liq_rej_w
            cooling_w = crah_w + chiller_w + chwp_w + cwp_w + tfan_w + cdu_w + dry_fan_w + trim_w

            xfmr_out_w = ups_out_w + ups_w + cooling_w + other_w
            xfmr_w = transformer_loss_w(
                xfmr_out_w,
                chain.transformer_rating_w,
                chain.transformer_no_load_fraction,
                chain.transformer_load_loss_fraction,
            )
            facility_w = xfmr_out_w + xfmr_w
            # Behind the meter: solar first, then the battery; the grid supplies the rest.
            solar_used_w = min(solar_w[i], facility_w)
            charge_w, discharge_w, state[S_BATTERY] = battery_step(
                state[S_BATTERY],
                solar_w[i] - solar_used_w,
                facility_w - solar_used_w,
                dt_s,
                onsite.battery_capacity_j,
                onsite.battery_power_w,
                onsite.battery_round_trip_efficiency,
            )
            import_w = facility_w - solar_used_w - discharge_w
            over_grid = import_w > cap_w[i] * (1.0 + CAP_TOLERANCE)
            over_ups = ups_out_w > ups_cap_w[i] * (1.0 + CAP_TOLERANCE)
            if (over_grid or over_ups) and gpu_w > 0.0 and attempt < MAX_CAP_PASSES - 1:
                # Lower the GPUs' limit by the excess, taking each GPU watt as CAP_MARGINAL_W_PER_GPU_W at the
                # meter (PSU, power chain and cooling on top) or UPS_MARGINAL_W_PER_GPU_W at the UPS output, and
                # solve the step again.
                cut = 0.0
                if over_grid:
                    cut = (import_w - cap_w[i]) / (CAP_MARGINAL_W_PER_GPU_W * gpu_w)
                if over_ups:
                    cut = max(cut, (ups_out_w - ups_cap_w[i]) / (UPS_MARGINAL_W_PER_GPU_W * gpu_w))
                scale = max(1.0 - cut, 0.05)
                for h in range(n_halls):
                    limit_w[h] = last_w[h] * scale
                continue
            import_j = import_w * dt_s

            to_m3 = dt_s / WATER_DENSITY_KG_M3
            water_direct = (evap + drift + blow + adia_air + adia_dry) * to_m3
            energy_cost = import_j / J_PER_KWH * price_usd_per_kwh[i]
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
            r[C_WIND] = indirect_water_m3(import_j, water_l_per_kwh[i])
            r[C_CARBON] = carbon_location_based_kg(import_j, carbon_g_per_kwh[i])
            r[C_COST] = energy_cost + water_cost + fixed_cost
            r[C_TOK] = tokens
            r[C_TOKDEM] = tokens_dem
            r[C_TOKTRAIN] = tokens_train
            r[C_ITTRAIN] = it_train_w
            capped = 0.0
            for h in range(n_halls):
                capped += halls.servers[h] * halls.gpus_per_server[h] * min(limit_w[h] / halls.gpu_tdp_w[h], 1.0)
            r[C_CAPF] = capped / gpu_count if gpu_count > 0.0 else 1.0
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
            r[C_UNMET] = stored_w
            r[C_REJ] = rej_w
            r[C_PDU] = pdu_w
            r[C_UPS] = ups_w
            r[C_XFMR] = xfmr_w
            r[C_EVAP] = evap * to_m3
            r[C_DRIFT] = drift * to_m3
            r[C_BLOW] = blow * to_m3
            r[C_EWIF] = water_l_per_kwh[i]
            r[C_ECOST] = energy_cost
            r[C_WCOST] = water_cost
            r[C_FCOST] = fixed_cost
            r[C_SFAN] = fan_w
            r[C_PSU] = psu_w
            r[C_CLOCK] = clock_gpu / gpu_count if gpu_count > 0.0 else 1.0
            r[C_DIE] = die_max
            r[C_INLET] = air_c
            r[C_COOLANT] = liquid_coolant_c if has_liquid else air_c
            r[C_LIQ] = liquid_heat_w
            r[C_CDU] = cdu_w
            r[C_DRYFAN] = dry_fan_w
            r[C_TRIM] = trim_w
            r[C_WADIA] = (adia_air + adia_dry) * to_m3
            r[C_SOLAR] = solar_w[i]
            r[C_BATT] = discharge_w - charge_w
            r[C_IMPORT] = import_w
            if rack_out.shape[0] > 0:  # element by element: no temporary array per step
                period = i // period_steps
                rack_n[period] += 1.0
                for h in range(n_halls):
                    for k in range(N_RACK):
                        rack_out[period, h, k] += per_server[h, k]
            break  # the step is within its cap (or has used its passes)
