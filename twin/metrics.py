"""KPIs and SAIQ from a run's per-step ledger.

Each metric declares its unit, definition and source in METRICS; summary.json carries the
values, the terminal table and report read the descriptions from here.
"""

import math

import pandas as pd

from twin.physics.rack_gpus import THROTTLED_CLOCK_FRACTION
from twin.scenario.facility import inlet_allowable_c

J_PER_MWH = 3.6e9

METRICS = {
    "pue": ("-", "Power usage effectiveness: facility energy / IT energy", "ISO/IEC 30134-2:2016"),
    "ppue_cooling": (
        "-",
        "Partial PUE of cooling: (IT + cooling energy) / IT energy",
        "The Green Grid WP#49 (PUE: a comprehensive examination), partial PUE",
    ),
    "ppue_power": (
        "-",
        "Partial PUE of the power chain: (IT + transformer, UPS and PDU losses) / IT energy",
        "The Green Grid WP#49, partial PUE",
    ),
    "mlc": ("-", "Mechanical load component: cooling energy / IT energy", "ASHRAE 90.4-2019"),
    "ere": (
        "-",
        "Energy reuse effectiveness: (facility - reused energy) / IT energy = (1 - ERF) PUE",
        "The Green Grid WP#29",
    ),
    "wue_site_l_per_kwh": (
        "L/kWh_IT",
        "Site water (tower evaporation, drift, blowdown, evaporative pads) / IT energy",
        "ISO/IEC 30134-9:2022; The Green Grid WP#35 eq. 2",
    ),
    "wue_source_l_per_kwh": (
        "L/kWh_IT",
        "(site water + water consumed generating the facility's electricity) / IT energy",
        "The Green Grid WP#35 eq. 4 (EWIF x PUE + WUE_site)",
    ),
    "cue_kg_per_kwh": (
        "kgCO2e/kWh_IT",
        "Location-based operational CO2e of grid energy / IT energy",
        "ISO/IEC 30134-8:2022",
    ),
    "grid_import_share": (
        "-",
        "Energy drawn from the grid / facility energy (the rest is on-site solar and battery)",
        "energy balance behind the meter",
    ),
    "cue_market_kg_per_kwh": (
        "kgCO2e/kWh_IT",
        "Market-based: energy not matched by renewable contracts at the grid's "
        "hourly intensity (no residual-mix data: location factors stand in) / IT energy",
        "GHG Protocol Scope 2 Guidance (2015); ISO/IEC 30134-8",
    ),
    "ref": (
        "-",
        "Renewable energy factor: (on-site renewable energy used + contracted share of grid energy) / facility energy",
        "ISO/IEC 30134-3:2016",
    ),
    "erf": (
        "-",
        "Energy reuse factor: energy reused outside the data center / facility energy",
        "ISO/IEC 30134-6:2021",
    ),
}
SAIQ_UNITS = {
    "usd_per_token": "USD/token",
    "mwh_per_token": "MWh/token",
    "tco2e_per_token": "tCO2e/token",
    "m3_per_token": "m3/token",
}


def totals(frame: pd.DataFrame, step_s: int) -> dict[str, float]:
    """Run totals from the per-step frame (energies from powers x step length). The ledger's columns are
    finite by construction (the kernel writes every value of every step), so sums are plain numpy sums:
    one pass, and a NaN from a bug would show rather than be skipped."""
    col = lambda c: frame[c].to_numpy()  # noqa: E731
    total = lambda c: float(col(c).sum())  # noqa: E731
    e = lambda c: total(c) * step_s / J_PER_MWH  # noqa: E731
    optional = lambda c, empty: float(frame[c].sum(min_count=1)) if c in frame else empty  # noqa: E731
    return {
        "facility_energy_mwh": e("facility_power_w"),
        "grid_import_mwh": e("grid_import_w"),
        "it_energy_mwh": e("it_power_w"),
        "gpu_energy_mwh": e("gpu_power_w"),
        "cooling_energy_mwh": e("cooling_power_w"),
        "power_chain_loss_mwh": e("power_chain_loss_w"),
        "other_energy_mwh": e("other_power_w"),
        "heat_rejected_mwh": e("heat_rejected_w"),
        "economiser_equivalent_hours": total("economiser_fraction") * step_s / 3600.0,
        "water_direct_m3": total("water_direct_m3"),
        "water_indirect_m3": total("water_indirect_m3"),
        "carbon_t": total("carbon_kg") / 1000.0,
        "cost_usd": total("cost_usd"),
        "energy_cost_usd": total("energy_cost_usd"),
        "water_cost_usd": total("water_cost_usd"),
        "fixed_cost_usd": total("fixed_cost_usd"),
        "tokens": total("tokens"),
        "tokens_input": optional("tokens_input", math.nan),
        "tokens_training": total("tokens_training") if "tokens_training" in frame else 0.0,
        "embodied_carbon_t": optional("carbon_embodied_kg", math.nan * 1000.0) / 1000.0,
        "demand_charge_usd": total("demand_charge_usd") if "demand_charge_usd" in frame else 0.0,
        "tokens_demanded": total("tokens_demanded"),
        "hours_gpu_throttled": float((col("gpu_clock_fraction") < THROTTLED_CLOCK_FRACTION).sum()) * step_s / 3600.0,
        "max_gpu_die_temp_c": float(col("gpu_die_temp_c").max()),
        "max_server_inlet_temp_c": float(col("server_inlet_temp_c").max()),
    }


def kpis(t: dict, renewable_contract_fraction: float = 0.0, heat_reuse_fraction: float = 0.0) -> dict[str, float]:
    """PUE, WUE (site, source), CUE, REF, ERF as defined in METRICS."""
    it_kwh = t["it_energy_mwh"] * 1000.0
    fac = t["facility_energy_mwh"]
    reused = min(heat_reuse_fraction * t["heat_rejected_mwh"], fac)
    it = t["it_energy_mwh"]
    return {
        "pue": fac / it,
        "wue_site_l_per_kwh": t["water_direct_m3"] * 1000.0 / it_kwh,
        "wue_source_l_per_kwh": (t["water_direct_m3"] + t["water_indirect_m3"]) * 1000.0 / it_kwh,
        "cue_kg_per_kwh": t["carbon_t"] * 1000.0 / it_kwh,
        "ref": (fac - t["grid_import_mwh"] + renewable_contract_fraction * t["grid_import_mwh"]) / fac,
        "erf": reused / fac,
        "ppue_cooling": (it + t["cooling_energy_mwh"]) / it,
        "ppue_power": (it + t["power_chain_loss_mwh"]) / it,
        "mlc": t["cooling_energy_mwh"] / it,
        "ere": (fac - reused) / it,
        "cue_market_kg_per_kwh": (1.0 - renewable_contract_fraction) * t["carbon_t"] * 1000.0 / it_kwh,
        "grid_import_share": t["grid_import_mwh"] / fac,
    }


def energy_shares(t: dict) -> dict[str, float]:
    """Shares of facility energy by use; they sum to 1."""
    fac = t["facility_energy_mwh"]
    return {
        "it": t["it_energy_mwh"] / fac,
        "cooling": t["cooling_energy_mwh"] / fac,
        "power_chain_loss": t["power_chain_loss_mwh"] / fac,
        "other": t["other_energy_mwh"] / fac,
    }


def counted_tokens(t: dict, token_basis: str = "output") -> float:
    """Tokens the SAIQ components are per (docs/model.md#kpis-and-saiq): output tokens served (plus prompt tokens for
    the basis input_and_output) and training tokens processed."""
    return (
        t["tokens"] + t.get("tokens_training", 0.0) + (t["tokens_input"] if token_basis == "input_and_output" else 0.0)
    )


def saiq_components(t: dict, token_basis: str = "output", embodied_carbon: bool = False) -> dict[str, float]:
    """The four SAIQ components per token (docs/model.md#kpis-and-saiq): cost (energy, water, demand charges,
    amortised capex and fixed opex: cost_usd), energy at the meter, carbon (location-based
    operational, plus embodied when asked) and water (direct + indirect)."""
    tokens = counted_tokens(t, token_basis)
    if not tokens > 0.0:
        return {k: math.inf for k in SAIQ_UNITS}
    carbon_t = t["carbon_t"] + (t["embodied_carbon_t"] if embodied_carbon else 0.0)
    return {
        "usd_per_token": t["cost_usd"] / tokens,
        "mwh_per_token": t["facility_energy_mwh"] / tokens,
        "tco2e_per_token": carbon_t / tokens,
        "m3_per_token": (t["water_direct_m3"] + t["water_indirect_m3"]) / tokens,
    }


def monthly_saiq(frame, step_s, counting, weights, reference=None):
    """SAIQ raw, index and components of each UTC calendar month of the run."""
    from twin.sim.accounting import monthly

    out = []
    for month, part in frame.groupby(monthly(frame), sort=True):
        components = saiq_components(totals(part, step_s), **counting)
        result = saiq(components, weights, reference)
        out.append({"month": month, "raw": result["raw"], "index": result["index"], "components": components})
    return out


def saiq(components: dict[str, float], weights: dict[str, float], reference: dict[str, float] | None = None) -> dict:
    """SAIQ raw = w1 cost + w2 energy + w3 carbon + w4 water (weights in the user's units);
    index = sum_i w_i c_i / c_i,ref, so the reference scores the sum of weights, lower is better."""
    w = [weights["w1"], weights["w2"], weights["w3"], weights["w4"]]
    keys = list(SAIQ_UNITS)
    raw = sum(wi * components[k] for wi, k in zip(w, keys))
    index = None if reference is None else sum(wi * components[k] / reference[k] for wi, k in zip(w, keys))
    return {
        "raw": raw,
        "index": index,
        "weights": dict(weights),
        "components": components,
        "reference": reference,
        "units": SAIQ_UNITS,
    }


def energy_per_token(t, measured_gpu_j_per_token=None):
    """Energy per output token at the meter, at the servers and at the GPUs [J], and how the
    meter's figure builds up from a GPU-only measurement at full batch (ML.ENERGY):
    facility = measured x load x server_overhead x pue, where load = GPU J/token in the run /
    measured at full batch (partial batches, idle capacity), server_overhead = IT / GPU energy
    (host CPUs and memory, fans, PSU losses) and pue = facility / IT energy."""
    tokens = t["tokens"]
    if tokens <= 0.0 or t.get("tokens_training", 0.0) > 0.0:  # per served token only in an inference-only facility
        return None
    j = lambda mwh: mwh * J_PER_MWH / tokens  # noqa: E731
    out = {
        "facility_j": j(t["facility_energy_mwh"]),
        "it_j": j(t["it_energy_mwh"]),
        "gpu_j": j(t["gpu_energy_mwh"]),
        "measured_gpu_j_at_full_batch": measured_gpu_j_per_token,
        "factors": {
            "pue": t["facility_energy_mwh"] / t["it_energy_mwh"],
            "server_overhead": t["it_energy_mwh"] / t["gpu_energy_mwh"],
        },
    }
    if measured_gpu_j_per_token:
        out["factors"]["load"] = out["gpu_j"] / measured_gpu_j_per_token
        out["ratio_to_measured"] = out["facility_j"] / measured_gpu_j_per_token
    return out


def measured_gpu_j_per_token(scenario):
    """GPU-weighted ML.ENERGY energy per token at full batch of the scenario's model on its GPUs,
    or None where a hall has no measured curve (the scenario sets tokens_per_gpu_s)."""
    from twin import catalog

    inference = scenario.workload.inference
    if inference.tokens_per_gpu_s is not None or scenario.workload.batch_halls():
        return None
    curves = catalog.load("models")[inference.model]
    weights = [
        (n * h.server_spec(gpu)[0], curves[gpu]["measured_j_per_token_at_capacity"])
        for h in scenario.facility.halls
        for gpu, n in h.servers_by_gpu().items()
    ]
    return sum(n * jt for n, jt in weights) / sum(n for n, _ in weights)


def saiq_counting(scenario):
    """How the scenario counts SAIQ: token basis and whether embodied carbon is in."""
    return {"token_basis": scenario.saiq.token_basis, "embodied_carbon": scenario.saiq.embodied_carbon}


def rank_by_saiq(table: pd.DataFrame, tiebreak: str) -> tuple[pd.DataFrame, str]:
    """(table best first, the column ranked by): SAIQ index where every row has one (a reference was
    given), else SAIQ raw; ties keep the order of tiebreak. Compare and sweep rank the same way."""
    key = "saiq_index" if "saiq_index" in table and table["saiq_index"].notna().all() else "saiq_raw"
    return table.sort_values([key, tiebreak], kind="stable").reset_index(drop=True), key


def hours_inlet_above_allowable(scenario, frame: pd.DataFrame) -> float:
    """Hours the hottest server inlet spent above the air path's allowable maximum."""
    limit_c = inlet_allowable_c(scenario.facility.cooling)
    return float((frame["server_inlet_temp_c"] > limit_c).sum()) * scenario.step_s / 3600.0


def summarise(
    scenario, frame: pd.DataFrame, reference_components: dict[str, float] | None = None, sections: dict | None = None
) -> dict:
    """The summary.json document of one run (docs/architecture.md#results-contract); sections: the
    blocks other parts of the run contribute (site sources, training, grid caps), after the KPIs."""
    t = totals(frame, scenario.step_s)
    t["hours_inlet_above_allowable"] = hours_inlet_above_allowable(scenario, frame)
    counting = saiq_counting(scenario)
    components = saiq_components(t, **counting)
    weights = scenario.saiq.weights.model_dump()
    saiq_doc = saiq(components, weights, reference_components)
    saiq_doc.update(counting)
    saiq_doc["monthly"] = monthly_saiq(frame, scenario.step_s, counting, weights, reference_components)
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "start": scenario.start.isoformat(),
        "duration": scenario.duration,
        "step": scenario.step,
        "site": scenario.site.name,
        "totals": t,
        "kpi": kpis(t, scenario.site.renewable_contract_fraction, scenario.facility.heat_reuse_fraction),
        "energy_shares": energy_shares(t),
        "energy_per_token": energy_per_token(t, measured_gpu_j_per_token(scenario)),
        "saiq": saiq_doc,
        "kpi_definitions": {k: {"unit": u, "definition": d, "source": s} for k, (u, d, s) in METRICS.items()},
        **(sections or {}),
    }
