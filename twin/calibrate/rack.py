"""Fit the simulator's server and rack kernels to a rack's PDU and coolant measurements.

What is fitted is what is simulated (docs/model.md#calibration-fit): the kernels of twin/physics/rack.py, composed per
server as the facility kernel composes them (physics/facility.py), for N identical servers a rack:

    P_pdu = N wall(P_gpu + P_host(u) + P_fan(T_in))
    P_host(u)    = host_idle_w + (host_max_w - host_idle_w) u          rack.host_power_linear_w
    P_fan(x, T_in) = fan_max_w clamp(x (s_ref + ds/dT (T_in - T_ref)), s_min, 1)^3,
                   x = (P_gpu + P_host) / fan_design_dc_w              rack.fan_speed_fraction, rack.fan_power_w
    wall(P_dc)   = P_dc + S (c0 + c1 L + c2 L^2), L = P_dc / S         rack.wall_power_w (Schneider WP108)

u is the rack's GPU utilisation, P_gpu one server's GPU board power (measured, or the catalog law
of physics/gpu.py at u), S and c0..c2 the catalog PSUs of the GPU's server (sim/plant.py). Fitted:
host_idle_w and host_max_w (DC, behind the PSUs, fans excluded: the kernel's terms, not the wall
figures of catalog/gpus.yaml) and, where the inlet temperature varies, the fan law's s_ref and
ds/dT. fan_max_w is held at the plant's value: a smooth cubic in T_in fixes only fan_max (ds/dT)^3
and s_ref / ds/dT, so fan_max, s_ref and ds/dT cannot all three be told apart (only the min-speed
kink would separate them).

Heat capture: the share of rack power the measured coolant carries, fitted energy-weighted,
    liquid  f = rho c_p V (T_return - T_supply) / P_pdu       (the kernel's liquid_fraction)
    air     f = rho(T_in) c_p V (T_outlet - T_inlet) / P_pdu  (closure of the air-side balance)
taken at the same instant as the power: the loop's transport lag (seconds to a minute) is not modelled.

As in calibrate/fit.py, rows split by time, per rack: the first `share` fit, the rest are held out
and the errors reported are on them; uncertainties are standard errors from the least-squares
Jacobian (scipy.optimize.least_squares).
"""

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from twin import catalog
from twin.calibrate.fit import _stderr
from twin.calibrate.sensor import FIT_SHARE, catalog_power_w, split
from twin.io.rack_csv import RackDataError
from twin.params.server import air_server_fans_w, host_fan_share, server_conversion_coefficients, server_fans
from twin.physics.cooling import (
    AIR_CP_J_KG_K,
    AIR_DENSITY_KG_M3,
    WATER_CP_J_KG_K,
    WATER_DENSITY_KG_M3,
)
from twin.physics.rack import (
    fan_power_w,
    fan_speed_fraction,
    host_power_linear_w,
    wall_power_w,
)

# canonical column <- (CSV column, factor to the canonical unit), the first present wins
HEAT_OVER_POWER_MAX = 1.5  # [M] measured heat over PDU power: above 1 only by sensor error and loop lag
HEAT_OVER_POWER_LOW = 0.05  # [M] under 5 % a liquid or air side carries next to none of the rack's heat: worth a note
FAN_MIN_INLET_SPAN_K = 4.0  # [M] inlet range in the fitted rows below which the fan law is held: the catalog
#     law moves fan speed by only 0.24 (0.06/K) over it, within PDU noise
FAN_SPEED_PER_K_MAX = 0.2  # [M] upper bound of the fit: full speed from minimum within 4 K
WATER_RHO_CP_J_PER_M3_K = WATER_DENSITY_KG_M3 * WATER_CP_J_KG_K  # water at 20 C (physics/cooling.py); at 40 C
# rho c_p is 0.7 % lower (IAPWS-95), so a warm loop's fraction reads ~0.7 % high
AIR_REF_TEMP_K = 293.15  # the temperature AIR_DENSITY_KG_M3 holds at (physics/cooling.py: 20 C, 101.3 kPa)
PARAM_UNITS = {
    "host_idle_w": "W",
    "host_max_w": "W",
    "fan_speed_at_ref": "",
    "fan_speed_per_k": "1/K",
    "fan_max_w": "W",
    "liquid_fraction": "",
    "air_capture_fraction": "",
}


@dataclass
class RackFit:
    gpu: str
    servers_per_rack: int
    heat_side: str  # "liquid" or "air": which side's heat the capture fraction was measured on
    params: dict  # fitted and held values, in the kernels' terms (host power DC per server)
    stderr: dict  # standard errors; NaN for a value held (not fitted)
    held_out: dict  # errors on the held-out rows
    fit_rows: int
    notes: list = field(default_factory=list)
    source: list = field(default_factory=list)
    repairs: list = field(default_factory=list)  # what read_rack_csv repaired (lines sorted, ...)
    series: dict = field(default_factory=dict)  # per rack: measured and modelled PDU power and heat, for the page


@njit(cache=True)
def pdu_power_model_w(
    gpu_power_per_server_w,
    utilization,
    inlet_c,
    servers,
    host_idle_w,
    host_max_w,
    fan_speed_at_ref,
    fan_ref_temp_c,
    fan_speed_per_k,
    fan_min_speed,
    fan_max_w,
    fan_design_dc_w,
    psu_rating_w,
    c0,
    c1,
    c2,
):
    """Rack PDU power [W] of `servers` identical servers: N wall(P_gpu + P_host(u) + P_fan(T_in)), the
    rack.py kernels composed as physics/facility.py composes them (module docstring)."""
    out = np.empty_like(utilization)
    for i in range(utilization.shape[0]):
        host = host_power_linear_w(utilization[i], host_idle_w, host_max_w)
        load = (gpu_power_per_server_w[i] + host) / fan_design_dc_w
        speed = fan_speed_fraction(inlet_c[i], load, fan_speed_at_ref, fan_ref_temp_c, fan_speed_per_k, fan_min_speed)
        dc = gpu_power_per_server_w[i] + host + fan_power_w(speed, fan_max_w)
        out[i] = servers * wall_power_w(dc, psu_rating_w, c0, c1, c2)
    return out


def air_density_kg_m3(temp_c):
    """Dry air density [kg/m3] at temp_c and 101.3 kPa: rho_20 T_20 / T (ideal gas at constant pressure),
    rho_20 from physics/cooling.py (ASHRAE Fundamentals 2017 ch. 1)."""
    return AIR_DENSITY_KG_M3 * AIR_REF_TEMP_K / (np.asarray(temp_c) + 273.15)


def _fit_mask(racks, share):
    """True for each rack's first `share` of rows (the frame is sorted by rack, then time)."""
    mask = np.zeros(len(racks), dtype=bool)
    start = 0
    for n in racks.groupby(racks, sort=False).size():
        mask[start : start + split(n, share)[0].stop] = True
        start += n
    return mask


def _heat_capture(frame, fit_rows, rho_cp_j_per_m3_k, notes, where):
    """(side, fraction, stderr, measured heat [W] or None)."""
    from scipy.optimize import least_squares

    if frame[["supply_c", "return_c", "flow_m3_per_s"]].notna().all().all():
        side = "liquid"
        heat_w = rho_cp_j_per_m3_k * frame["flow_m3_per_s"] * (frame["return_c"] - frame["supply_c"])
        notes.append(
            f"liquid heat = rho c_p flow (return - supply) with rho c_p = {rho_cp_j_per_m3_k:.4g} J/(m3 K) "
            f"(water at 20 C unless set); a glycol loop needs its own value"
        )
    elif frame[["inlet_c", "outlet_c"]].notna().all().all():
        side = "air"
        if frame["airflow_m3_per_s"].isna().any():
            notes.append("air-side heat not measured (no airflow_m3_per_s): capture fraction not fitted")
            return side, math.nan, math.nan, None
        heat_w = (
            air_density_kg_m3(frame["inlet_c"])
            * AIR_CP_J_KG_K
            * frame["airflow_m3_per_s"]
            * (frame["outlet_c"] - frame["inlet_c"])
        )
        notes.append("air heat = rho(T_in) c_p airflow (outlet - inlet), airflow read as measured at the inlet")
    else:
        raise RackDataError(
            f"{where}: neither a complete liquid side (supply_c, return_c, flow_m3_per_s) "
            "nor an air side (inlet_c, outlet_c)"
        )
    heat_w = heat_w.to_numpy(float)
    power_w = frame["pdu_power_w"].to_numpy(float)
    p, q = power_w[fit_rows], heat_w[fit_rows]
    # Weights 1/P make the estimate the energy ratio sum(q) / sum(P): what the twin's energy balance needs,
    # and unbiased by the loop's lag, which moves heat between rows but not out of the sum.
    ratio = q.sum() / p.sum()
    if not 0.0 <= ratio <= HEAT_OVER_POWER_MAX:
        raise RackDataError(
            f"{where}: the {side} side carries {ratio:.3g}x the PDU power as heat over the fitted "
            f"rows (allowed 0..{HEAT_OVER_POWER_MAX:g}): flow or temperatures in other units, or "
            f"PDU power in kW written as W?"
        )
    if ratio < HEAT_OVER_POWER_LOW:
        notes.append(
            f"the {side} side carries {ratio:.1%} of the PDU power as heat: a loop that carries almost "
            f"nothing, or return and supply temperatures that do not differ (sensors swapped or stuck?)"
        )
    weight = 1.0 / np.sqrt(p * p.mean())
    result = least_squares(lambda v: (v[0] * p - q) * weight, x0=[ratio], bounds=([0.0], [HEAT_OVER_POWER_MAX]))
    return side, float(result.x[0]), _stderr(result, ["f"])["f"], heat_w


def fit_rack(
    frame,
    gpu,
    servers_per_rack,
    share=FIT_SHARE,
    *,
    distribution="ac",
    coolant_rho_cp_j_per_m3_k=WATER_RHO_CP_J_PER_M3_K,
):
    """Fit host power, the fan law (where the inlet varies) and the heat capture fraction of one rack type.

    frame: read_rack_csv's canonical frame (several racks of the type may share it); gpu: the catalog
    GPU (twin/catalog/gpus.yaml), which gives GPUs per server, the PSUs and their efficiency curve
    (for `distribution`, catalog/power_chain.yaml); servers_per_rack: servers behind each PDU.
    """
    from scipy.optimize import least_squares

    gpus = catalog.load("gpus")
    if gpu not in gpus:
        raise ValueError(f"unknown GPU '{gpu}'; allowed: {', '.join(sorted(gpus))}")
    if servers_per_rack < 1:
        raise ValueError(f"servers_per_rack = {servers_per_rack}: at least 1")
    spec, fans, model = gpus[gpu], catalog.load("cooling")["server_fans"], catalog.load("gpu_model")
    server = spec["server"]
    n_gpus = server["gpus_per_server"]
    psu_rating_w = server["psu_count"] * server["psu_rating_w"]
    coefficients = server_conversion_coefficients(spec, distribution)
    source, repairs = list(frame.attrs.get("source", [])), list(frame.attrs.get("repairs", []))
    where = ", ".join(source) or "rack frame"
    frame = frame.sort_values(["rack", "time_utc"], kind="stable").reset_index(drop=True)
    fit_rows = _fit_mask(frame["rack"], share)
    if fit_rows.all() or not fit_rows.any():
        raise RackDataError(
            f"{where}: {len(frame)} row(s) cannot be split {share:.0%} / {1 - share:.0%} into fit and held-out rows"
        )
    notes = []

    side, fraction, fraction_err, heat_w = _heat_capture(frame, fit_rows, coolant_rho_cp_j_per_m3_k, notes, where)
    liquid_fraction = fraction if side == "liquid" else 0.0
    # The plant's fans (params/server.py server_fans): the liquid-captured share of the all-air server's gone.
    plant_fans = server_fans(spec, n_gpus, server["host_idle_w"], server["host_max_w"], liquid_fraction)
    fan_max_w, fan_design_dc_w = plant_fans["fan_max_w"], plant_fans["fan_design_dc_w"]

    gpu_w, util = frame["gpu_power_w"].to_numpy(float), frame["gpu_util"].to_numpy(float)
    dynamic_w = spec["tdp_w"] - spec["idle_w"]
    if np.isnan(util).any() and np.isnan(gpu_w).any():
        raise RackDataError(f"{where}: neither gpu_util nor gpu_power_w: host power cannot be told from GPU power")
    if np.isnan(util).any():
        # the catalog law (physics/gpu.py) inverted at full clock and the leakage reference temperature
        util = np.clip((gpu_w / (servers_per_rack * n_gpus) - spec["idle_w"]) / dynamic_w, 0.0, 1.0)
        notes.append("no gpu_util: utilisation inferred from gpu_power_w by the catalog GPU law")
    if np.isnan(gpu_w).any():
        gpu_w = servers_per_rack * n_gpus * catalog_power_w(gpu, util, model["leak_ref_temp_c"])
        notes.append(
            f"no gpu_power_w: GPU power from the catalog law for {gpu} (physics/gpu.power_w) at the rack's "
            f"utilisation, full clock and a {model['leak_ref_temp_c']:g} C die"
        )
    inlet_c = frame["inlet_c"].to_numpy(float)
    span_k = float(np.ptp(inlet_c[fit_rows]))
    fan_free = span_k >= FAN_MIN_INLET_SPAN_K
    if np.isnan(inlet_c).any():
        inlet_c = np.full(len(frame), float(fans["ref_temp_c"]))
        notes.append(
            f"no inlet_c: fans taken at their reference inlet {fans['ref_temp_c']:g} C, the fan law held at "
            f"catalog/cooling.yaml server_fans"
        )
    elif not fan_free:
        notes.append(
            f"fan law held at catalog/cooling.yaml server_fans: inlet spans {span_k:.1f} K in the fitted "
            f"rows, under the {FAN_MIN_INLET_SPAN_K:g} K it takes to identify it"
        )
    else:
        notes.append(
            f"fan_max_w held at the plant's value ({fan_max_w:.0f} W): with s_ref and ds/dT free, only "
            f"fan_max (ds/dT)^3 and s_ref / ds/dT are identifiable"
        )

    power_w = frame["pdu_power_w"].to_numpy(float)
    over = gpu_w > power_w
    if over.mean() > 0.5:  # most rows: a unit or wiring mistake, not the odd row where the PDU meter lags
        raise RackDataError(
            f"{where}: GPU power exceeds the PDU power on {int(over.sum())} of {len(frame)} rows "
            f"(median {np.median(gpu_w):.4g} W GPU, {np.median(power_w):.4g} W PDU); the PDU feeds the "
            f"GPUs: units (kW as W), or a PDU that feeds only part of the rack?"
        )
    gpu_per_server_w = gpu_w / servers_per_rack
    names = ["host_idle_w", "host_max_w"] + (["fan_speed_at_ref", "fan_speed_per_k"] if fan_free else [])
    x0 = [server["host_idle_w"], server["host_max_w"], fans["speed_at_ref"], fans["speed_per_k"]][: len(names)]
    lower = [0.0, 0.0, fans["min_speed"], 0.0][: len(names)]
    upper = [server["nameplate_w"], server["nameplate_w"], 1.0, FAN_SPEED_PER_K_MAX][: len(names)]

    def model_w(v, rows):
        p = {"fan_speed_at_ref": fans["speed_at_ref"], "fan_speed_per_k": fans["speed_per_k"], **dict(zip(names, v))}
        return pdu_power_model_w(
            gpu_per_server_w[rows],
            util[rows],
            inlet_c[rows],
            float(servers_per_rack),
            p["host_idle_w"],
            p["host_max_w"],
            p["fan_speed_at_ref"],
            float(fans["ref_temp_c"]),
            p["fan_speed_per_k"],
            float(fans["min_speed"]),
            fan_max_w,
            fan_design_dc_w,
            float(psu_rating_w),
            *coefficients,
        )

    result = least_squares(lambda v: model_w(v, fit_rows) / power_w[fit_rows] - 1.0, x0=x0, bounds=(lower, upper))
    stderr = {n: math.nan for n in ("fan_speed_at_ref", "fan_speed_per_k", "fan_max_w")}
    stderr.update(_stderr(result, names))
    fitted = {n: float(v) for n, v in zip(names, result.x)}
    params = {
        "host_idle_w": fitted["host_idle_w"],
        "host_max_w": fitted["host_max_w"],
        "fan_speed_at_ref": fitted.get("fan_speed_at_ref", float(fans["speed_at_ref"])),
        "fan_speed_per_k": fitted.get("fan_speed_per_k", float(fans["speed_per_k"])),
        "fan_max_w": fan_max_w,
    }
    capture = "liquid_fraction" if side == "liquid" else "air_capture_fraction"
    params[capture], stderr[capture] = fraction, fraction_err

    held = ~fit_rows
    held_out = {
        "pdu_power_mape_pct": float(np.mean(np.abs(model_w(result.x, held) / power_w[held] - 1.0)) * 100.0),
        "heat_capture_rmse_w": math.nan,
        "heat_capture_fraction_rmse": math.nan,
        "rows": int(held.sum()),
    }
    if heat_w is not None:
        held_out["heat_capture_rmse_w"] = float(np.sqrt(np.mean((fraction * power_w[held] - heat_w[held]) ** 2)))
        held_out["heat_capture_fraction_rmse"] = float(np.sqrt(np.mean((heat_w[held] / power_w[held] - fraction) ** 2)))
    model_all_w = model_w(result.x, np.ones(len(frame), dtype=bool))
    series = {}
    for rack_id, rows in frame.groupby("rack").indices.items():
        t = frame["time_utc"].iloc[rows]
        t_s = (t - t.iloc[0]).dt.total_seconds().to_numpy()
        series[str(rack_id)] = {
            "t_s": t_s,
            "pdu_power_w": power_w[rows],
            "model_pdu_power_w": model_all_w[rows],
            "heat_w": None if heat_w is None else heat_w[rows],
            "model_heat_w": fraction * power_w[rows],
            "fit_until_s": float(t_s[fit_rows[rows]].max()),
        }
    return RackFit(
        gpu, servers_per_rack, side, params, stderr, held_out, int(fit_rows.sum()), notes, source, repairs, series
    )


def hall_host_w(fit):
    """(host_idle_w, host_max_w) as a scenario hall states them: non-GPU server power at the wall with the
    catalog's native PSUs and the fans its figures include (host_fan_share), the inverse of params/server.py server_fans' derivation
    of the kernel's DC terms, so a hall given these simulates the fitted host power."""
    spec = catalog.load("gpus")[fit.gpu]
    server = spec["server"]
    n, rating_w = server["gpus_per_server"], server["psu_count"] * server["psu_rating_w"]
    native = server_conversion_coefficients(spec, "ac")
    fan_idle_w, fan_full_w, _ = air_server_fans_w(spec, n)
    in_host = host_fan_share(spec)
    return tuple(
        wall_power_w(n * g + fit.params[name] + in_host * fan_w, rating_w, *native) - n * g
        for g, name, fan_w in ((spec["idle_w"], "host_idle_w", fan_idle_w), (spec["tdp_w"], "host_max_w", fan_full_w))
    )


def rack_report(fit):
    """Plain-text report: parameters with standard errors (or 'held'), held-out errors, notes."""
    sources = ", ".join(fit.source) or "a frame"
    out = [
        (
            f"Rack calibration: {fit.servers_per_rack} x {fit.gpu} server(s) per rack, {fit.heat_side}-side heat, "
            f"from {sources}"
        ),
        f"  {fit.fit_rows} row(s) fitted, {fit.held_out['rows']} held out (the last part of each rack's time)",
    ]
    for name, value in fit.params.items():
        err = fit.stderr[name]
        spread = "(not measured)" if math.isnan(value) else "(held)" if math.isnan(err) else f"± {err:.3g}"
        out.append(f"  {name:<22} {value:>10.4g} {spread:<12} {PARAM_UNITS[name]}")
    h = fit.held_out
    out.append(
        f"held out: PDU power MAPE {h['pdu_power_mape_pct']:.2f} %, heat capture RMSE "
        f"{h['heat_capture_rmse_w']:.0f} W (fraction {h['heat_capture_fraction_rmse']:.3f})"
    )
    idle_w, max_w = hall_host_w(fit)
    out.append(
        f"as scenario hall fields (wall power, catalog PSUs, fans at reference speed): "
        f"host_idle_w {idle_w:.0f} W, host_max_w {max_w:.0f} W"
    )
    out += [f"  - {note}" for note in fit.notes]
    out += [f"  repaired in reading {sources}: {repair}" for repair in fit.repairs]
    return "\n".join(out)


def _plain(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def to_calibration_dict(fit):
    """YAML-ready block: the kernels' terms (host power DC per server, fan law, liquid fraction), their
    standard errors (None where held), held-out errors, the hall fields that reproduce them and the sources."""
    p = fit.params
    idle_w, max_w = hall_host_w(fit)
    block = {
        "gpu": fit.gpu,
        "servers_per_rack": fit.servers_per_rack,
        "heat_side": fit.heat_side,
        "host_idle_w": p["host_idle_w"],
        "host_max_w": p["host_max_w"],
        "fan_speed_at_ref": p["fan_speed_at_ref"],
        "fan_speed_per_k": p["fan_speed_per_k"],
        "fan_max_w": p["fan_max_w"],
        "liquid_fraction": p.get("liquid_fraction", 0.0),
    }
    if "air_capture_fraction" in p:
        block["air_capture_fraction"] = _plain(p["air_capture_fraction"])
    block.update(
        hall_host_idle_w=float(idle_w),
        hall_host_max_w=float(max_w),
        stderr={n: _plain(v) for n, v in fit.stderr.items()},
        held_out={n: _plain(v) for n, v in fit.held_out.items()},
        source=list(fit.source),
        repairs=list(fit.repairs),
    )
    return {"rack": block}
