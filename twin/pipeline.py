"""One run end to end: simulate a scenario (and its SAIQ reference) and summarise it."""

from twin.metrics import saiq_components, summarise, totals
from twin.scenario import load_scenario
from twin.sim.engine import Simulation


def simulate(scenario, progress=None):
    """Per-step frame of one scenario."""
    return Simulation(scenario, progress).run().to_frame()


def reference_components(scenario):
    """SAIQ components of the scenario's reference: given directly, or by running the reference scenario."""
    ref = scenario.saiq.reference
    if ref is None:
        return None
    if ref.components is not None:
        return ref.components.model_dump()
    ref_scenario = load_scenario(ref.scenario)
    return saiq_components(totals(simulate(ref_scenario), ref_scenario.step_s))


def execute(scenario, progress=None, reference=None):
    """(per-step frame, summary dict) of one run; reference: the SAIQ reference components when
    the caller already has them (a comparison runs the reference once for all sites)."""
    sim = Simulation(scenario, progress)
    frame = sim.run().to_frame()
    if reference is None:
        reference = reference_components(scenario)
    summary = summarise(scenario, frame, reference)
    summary["site_sources"] = dict(sim.site.sources)
    return frame, summary
