"""One run end to end: simulate a scenario (and its SAIQ reference) and summarise it."""

from twin.metrics import saiq_components, saiq_counting, summarise, totals
from twin.scenario import load_scenario
from twin.sim.accounting import add_period_accounting
from twin.sim import scheduler
from twin.sim.engine import Simulation


def _frame(sim):
    """Per-step frame of a finished simulation, with the per-period accounting."""
    return add_period_accounting(sim.run().to_frame(), sim.scenario, sim.plant.design_it_w)


def simulate(scenario, progress=None, site=None):
    """Per-step frame of one scenario (at its own site, or at a given SiteSeries)."""
    return _frame(Simulation(scenario, progress, site))


def reference_components(scenario):
    """SAIQ components of the scenario's reference: given directly, or by running the reference
    scenario and counting its tokens and carbon the way this scenario does."""
    ref = scenario.saiq.reference
    if ref is None:
        return None
    if ref.components is not None:
        return ref.components.model_dump()
    ref_scenario = load_scenario(ref.scenario)
    return saiq_components(totals(simulate(ref_scenario), ref_scenario.step_s), **saiq_counting(scenario))


def execute(scenario, progress=None, reference=None):
    """(per-step frame, summary dict) of one run; reference: the SAIQ reference components when
    the caller already has them (a comparison runs the reference once for all sites)."""
    sim = Simulation(scenario, progress)
    frame = _frame(sim)
    if reference is None:
        reference = reference_components(scenario)
    summary = summarise(scenario, frame, reference)
    summary["site_sources"] = sources_used(scenario, sim.site)
    summary.update(scheduler.summary(sim.schedule, scenario, frame, scenario.step_s))
    training = scenario.workload.training
    if training is not None and training.policy != "fifo":
        summary["training"]["fifo_baseline"] = fifo_baseline(scenario, reference)
    return frame, summary


def fifo_baseline(scenario, reference):
    """The same scenario, jobs and failures with first-come first-served training: what the aware
    policy is measured against."""
    training = scenario.workload.training.model_copy(update={"policy": "fifo"})
    base = scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"training": training})})
    sim = Simulation(base)
    frame = _frame(sim)
    t = totals(frame, base.step_s)
    block = scheduler.summary(sim.schedule, base, frame, base.step_s)["training"]
    return {"saiq_components": saiq_components(t, **saiq_counting(scenario)), "carbon_t": t["carbon_t"],
            "cost_usd": t["cost_usd"], "deadline_met_share": block["deadline_met_share"],
            "gpu_hours_lost": block["gpu_hours_lost"]}


def sources_used(scenario, site):
    """The site's sources, with the scenario's own price and water price in place of the site's
    where the scenario sets them."""
    sources = dict(site.sources)
    econ = scenario.economics
    if econ.energy_tariff == "flat":
        sources["price"] = f"scenario economics.flat_price_usd_per_kwh = {econ.flat_price_usd_per_kwh:g} USD/kWh"
    if econ.price_adder_usd_per_kwh and not (econ.energy_tariff == "site_hourly" and site.price_basis == "retail"):
        sources["price"] += f"; plus scenario economics.price_adder_usd_per_kwh = {econ.price_adder_usd_per_kwh:g} USD/kWh"
    if econ.water_price_usd_per_m3 is not None:
        sources["water_price"] = f"scenario economics.water_price_usd_per_m3 = {econ.water_price_usd_per_m3:g} USD/m3"
    elif "water_price" not in sources:
        sources["water_price"] = "catalog economics.yaml water_price_usd_per_m3 (no site water price)"
    return sources
