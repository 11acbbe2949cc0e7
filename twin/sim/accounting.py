"""What is counted per period rather than per step, added to a run's frame after the kernels:

- demand charges: USD per kW of the month's highest grid draw (step mean), the usual form of
  large-customer tariffs; a run covering part of a month pays that share of the month's charge,
  spread evenly over its steps in that month (so any window of the run can be costed);
- embodied carbon of servers (GPUs included) and of the facility, amortised straight-line over
  their service lives: C_emb dt / LT (docs/model.md#grid-carbon-water-and-cost);
- input (prompt) tokens served alongside the output tokens, from the trace's ratio or the
  scenario's, for the token basis input_and_output.
"""

import numpy as np

from twin import catalog

SECONDS_PER_YEAR = 365.0 * 86400.0
W_PER_KW = 1000.0


def demand_charge_usd(frame, step_s, usd_per_kw_month):
    """Per step: the month's demand charge (peak grid draw [kW] x rate), prorated to the share of
    the month the run covers and spread evenly over the run's steps in it."""
    if usd_per_kw_month == 0.0:
        return np.zeros(len(frame))
    month = monthly(frame)
    peak_kw = frame["grid_import_w"].groupby(month).transform("max").clip(lower=0.0).to_numpy() / W_PER_KW
    steps_in_month = frame["timestamp"].dt.days_in_month.to_numpy(float) * 86400.0 / step_s
    return peak_kw * usd_per_kw_month / steps_in_month  # each step carries its share of the whole month


def embodied_kg_per_s(scenario, design_it_w):
    """Embodied carbon of the servers and the facility per second of service [kgCO2e/s]; NaN where
    the catalog has no figure for a hall's server (the scenario then cannot ask for it)."""
    data, econ = catalog.load("embodied"), scenario.economics
    per_server = data["server_kgco2e"]
    servers = sum(
        n * per_server.get(gpu, np.nan) for h in scenario.facility.halls for gpu, n in h.servers_by_gpu().items()
    )
    facility = data["facility_kgco2e_per_mw_it"] * design_it_w / 1e6
    return (servers / econ.server_lifetime_years + facility / econ.facility_lifetime_years) / SECONDS_PER_YEAR


def input_tokens_per_output_token(inference):
    """The scenario's ratio, else its trace's (total input / total output tokens), else None."""
    if inference.input_tokens_per_output_token is not None:
        return inference.input_tokens_per_output_token
    if inference.trace is not None:
        trace = catalog.load("demand_traces")[inference.trace]
        return sum(trace["input_tokens"]) / sum(trace["output_tokens"])
    return None


def add_period_accounting(frame, scenario, design_it_w):
    """The frame with demand_charge_usd, cost_usd (energy + water + fixed + demand charge: the one place
    the total is made), carbon_embodied_kg and tokens_input."""
    step_s = scenario.step_s
    charge = demand_charge_usd(frame, step_s, scenario.economics.demand_charge_usd_per_kw_month)
    ratio = input_tokens_per_output_token(scenario.workload.inference)
    cost = (
        frame["energy_cost_usd"].to_numpy()
        + frame["water_cost_usd"].to_numpy()
        + frame["fixed_cost_usd"].to_numpy()
        + charge
    )
    frame = frame.assign(
        demand_charge_usd=charge,
        carbon_embodied_kg=np.full(len(frame), embodied_kg_per_s(scenario, design_it_w) * step_s),
        tokens_input=frame["tokens"].to_numpy() * (ratio if ratio is not None else np.nan),
    )
    frame.insert(frame.columns.get_loc("carbon_kg") + 1, "cost_usd", cost)  # its place in the results contract
    return frame


def monthly(frame):
    """The UTC calendar month of each row, as 'YYYY-MM' labels (formatted once per month, not per row:
    strftime over a year of minutes costs 0.3 s)."""
    stamps = frame["timestamp"].dt
    months, which = np.unique(stamps.year.to_numpy() * 100 + stamps.month.to_numpy(), return_inverse=True)
    return np.array([f"{m // 100:04d}-{m % 100:02d}" for m in months], dtype=object)[which]
