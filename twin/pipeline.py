"""One run end to end: simulate a scenario (and its SAIQ reference) and summarise it."""

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from twin.metrics import saiq_components, saiq_counting, summarise, totals
from twin.physics.facility import CAP_TOLERANCE
from twin.scenario import Scenario, ScenarioError, load_scenario
from twin.sim import faults, jobs, scheduler
from twin.sim.accounting import add_period_accounting, input_tokens_per_output_token
from twin.sim.engine import Simulation
from twin.sim.racks import rack_summary
from twin.sites.library import SiteSeries

Progress = Callable[[int, int], None]  # (steps done, steps in all)


def _frame(sim):
    """Per-step frame of a simulation run now, with the per-period accounting and the grid cap."""
    return frame_of(sim, sim.run())


def frame_of(sim, ledger):
    """Per-step frame of a simulation's ledger, with the per-period accounting and the grid cap."""
    frame = add_period_accounting(ledger.to_frame(), sim.scenario, sim.plant.design_it_w)
    return frame.assign(
        grid_cap_w=np.where(np.isfinite(sim.cap_w), sim.cap_w, np.nan),
        ups_cap_w=np.where(np.isfinite(sim.ups_cap_w), sim.ups_cap_w, np.nan),
    )


def simulate(scenario: Scenario, progress: Progress | None = None, site: SiteSeries | None = None) -> pd.DataFrame:
    """Per-step frame of one scenario (at its own site, or at a given SiteSeries)."""
    return _frame(Simulation(without_rack_series(scenario), progress, site))


def reference_components(scenario: Scenario) -> dict[str, float] | None:
    """SAIQ components of the scenario's reference: given directly, or by running the reference
    scenario and counting its tokens and carbon the way this scenario does."""
    ref = scenario.saiq.reference
    if ref is None:
        return None
    if ref.components is not None:
        return ref.components.model_dump()
    ref_scenario = load_scenario(ref.scenario)
    t = totals(simulate(ref_scenario), ref_scenario.step_s)
    counting = saiq_counting(scenario)
    if counting["token_basis"] == "input_and_output" and not t["tokens_input"] >= 0.0:
        # the reference serves the same prompts: count its prompt tokens at this scenario's ratio
        t["tokens_input"] = t["tokens"] * input_tokens_per_output_token(scenario.workload.inference)
    components = saiq_components(t, **counting)
    bad = [k for k, v in components.items() if not (math.isfinite(v) and v > 0.0)]
    if bad:
        raise ScenarioError(
            [
                f"saiq.reference.scenario {ref.scenario}: cannot be counted the way this scenario counts "
                f"SAIQ ({', '.join(bad)} not a positive number; embodied carbon needs its GPUs in the "
                f"catalog embodied.yaml)"
            ]
        )
    return components


def execute(
    scenario: Scenario, progress: Progress | None = None, reference: dict[str, float] | None = None
) -> tuple[pd.DataFrame, dict]:
    """(per-step frame, summary dict) of one run; reference: the SAIQ reference components when
    the caller already has them (a comparison runs the reference once for all sites)."""
    frame, summary, _ = execute_with_racks(without_rack_series(scenario), progress, reference)
    return frame, summary


def without_rack_series(scenario: Scenario) -> Scenario:
    """The scenario keeping no per-rack series: a caller that does not write racks.parquet saves their
    memory (a year of 1,000 racks hourly is 8.8 million rows)."""
    if scenario.results.rack_series == "none":
        return scenario
    return scenario.model_copy(update={"results": scenario.results.model_copy(update={"rack_series": "none"})})


class RunResult(NamedTuple):
    """What `twin run` writes: the per-step frame, summary.json, the per-rack series (results.rack_series) and
    a job trace's jobs (None without one)."""

    frame: pd.DataFrame
    summary: dict
    racks: pd.DataFrame
    jobs: pd.DataFrame | None


def execute_with_racks(
    scenario: Scenario, progress: Progress | None = None, reference: dict[str, float] | None = None
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """execute, with the per-rack series of the halls (scenario results.rack_series) as a third item."""
    return tuple(execute_run(scenario, progress, reference)[:3])


def execute_run(
    scenario: Scenario, progress: Progress | None = None, reference: dict[str, float] | None = None
) -> RunResult:
    """One run as `twin run` writes it (RunResult)."""
    sim = Simulation(scenario, progress)
    frame = _frame(sim)
    if reference is None:
        reference = reference_components(scenario)
    sections = {"site_sources": sources_used(scenario, sim.site)}
    sections["racks"] = rack_summary(sim.plant, sim.ledger, scenario.n_steps * scenario.step_s)
    if scenario.faults.cooling_outages:
        sections["cooling_outages"] = faults.outage_summary(scenario, frame, sim.plant)
    if sim.plant.air.storage_j > 0.0:
        sections["thermal_storage"] = faults.storage_summary(sim.plant)
    sections.update(scheduler.summary(sim.schedule, scenario, frame, scenario.step_s))
    job_table = jobs.job_frame(sim.jobs) if sim.job_table is not None else None
    if job_table is not None:
        sections["jobs"] = jobs.summary(sim.jobs, job_table, scenario.n_steps * scenario.step_s)
    if np.isfinite(frame["grid_cap_w"]).any() or np.isfinite(frame["ups_cap_w"]).any():
        sections["grid_cap"] = grid_cap_summary(frame, scenario.step_s)
    training = scenario.workload.training
    if training is not None and training.policy != "fifo":
        sections["training"]["fifo_baseline"] = fifo_baseline(scenario, reference)
    summary = summarise(scenario, frame, reference, sections)
    halls = scenario.facility.halls
    liquid_share = sim.plant.halls.liquid_fraction[sim.plant.rack_kind]  # each rack's kind's
    racks = sim.ledger.rack_frame(sim.plant.layout, [h.name for h in halls], liquid_share)
    return RunResult(frame, summary, racks, job_table)


def fifo_baseline(scenario: Scenario, reference: dict[str, float] | None) -> dict:
    """The same scenario, jobs and failures with first-come first-served training: what the aware
    policy is measured against."""
    training = scenario.workload.training.model_copy(update={"policy": "fifo"})
    base = scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"training": training})})
    sim = Simulation(base)
    frame = _frame(sim)
    t = totals(frame, base.step_s)
    block = scheduler.summary(sim.schedule, base, frame, base.step_s)["training"]
    return {
        "saiq_components": saiq_components(t, **saiq_counting(scenario)),
        "carbon_t": t["carbon_t"],
        "cost_usd": t["cost_usd"],
        "deadline_met_share": block["deadline_met_share"],
        "gpu_hours_lost": block["gpu_hours_lost"],
    }


def sources_used(scenario: Scenario, site: SiteSeries) -> dict[str, str]:
    """The site's sources, with the scenario's own price and water price in place of the site's
    where the scenario sets them."""
    sources = dict(site.sources)
    econ = scenario.economics
    if econ.energy_tariff == "flat":
        sources["price"] = f"scenario economics.flat_price_usd_per_kwh = {econ.flat_price_usd_per_kwh:g} USD/kWh"
    if econ.price_adder_usd_per_kwh and not (econ.energy_tariff == "site_hourly" and site.price_basis == "retail"):
        sources["price"] += (
            f"; plus scenario economics.price_adder_usd_per_kwh = {econ.price_adder_usd_per_kwh:g} USD/kWh"
        )
    if econ.water_price_usd_per_m3 is not None:
        sources["water_price"] = f"scenario economics.water_price_usd_per_m3 = {econ.water_price_usd_per_m3:g} USD/m3"
    elif "water_price" not in sources:
        sources["water_price"] = "catalog economics.yaml water_price_usd_per_m3 (no site water price)"
    return sources


def grid_cap_summary(frame: pd.DataFrame, step_s: int) -> dict[str, float]:
    """How often a cap (grid connection, demand response, UPS modules out) bound and whether it held:
    a cap below what the GPUs at their lowest clock and the rest of the facility draw cannot be met,
    and shows here."""
    capped = frame["gpu_power_limit_fraction"] < 1.0
    ups_out = frame["it_power_w"] + frame["pdu_loss_w"]
    out = {
        "hours_gpus_capped": float(capped.sum()) * step_s / 3600.0,
        "tokens_short_of_demand": float((frame["tokens_demanded"] - frame["tokens"]).clip(lower=0.0)[capped].sum()),
    }
    for name, drawn, cap in (
        ("grid", frame["grid_import_w"], frame["grid_cap_w"]),
        ("ups", ups_out, frame["ups_cap_w"]),
    ):
        excess = (drawn - cap).where(cap.notna(), 0.0)
        over = excess > CAP_TOLERANCE * cap.fillna(np.inf)
        out[f"hours_over_{name}_cap"] = float(over.sum()) * step_s / 3600.0
        out[f"max_excess_{name}_mw"] = float(excess.clip(lower=0.0).max()) / 1e6
    out["hours_over_cap"] = out["hours_over_grid_cap"] + out["hours_over_ups_cap"]
    out["max_excess_mw"] = max(out["max_excess_grid_mw"], out["max_excess_ups_mw"])
    return out
