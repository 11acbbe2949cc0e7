"""Inference demand as a rate series: diurnal and weekly profile with seeded hourly noise.

Token flows are rates integrated by the kernels, never one event per request (docs/model.md#serving-and-training-workload).
"""

import numpy as np

from twin import catalog


def inference_demand_fraction(inference, step_times_utc, utc_offset_h, rng):
    """Demand per step as a share of the fleet's serving capacity (may exceed 1: unserved).

    d(t) = (trough + (peak - trough) (1 + cos(2 pi (h_local - h_peak) / 24)) / 2)
           x weekend_factor on Saturdays and Sundays (local time) x (1 + growth)^years x (1 + e_hour)
    e_hour is an AR(1) series over hours (lag-1 correlation 0.7, standard deviation
    noise_cv), held constant within each hour. With a trace, demand is also multiplied by the
    trace's per-minute shape (trace_shape): real arrivals vary minute to minute. The cosine day follows the single afternoon
    peak seen in production LLM serving (Patel et al., Splitwise, ISCA 2024, Azure traces).
    """
    local = step_times_utc + np.timedelta64(int(round(utc_offset_h * 3600)), "s")
    seconds_of_day = (local - local.astype("datetime64[D]")).astype("timedelta64[s]").astype(np.int64)
    hour_local = seconds_of_day / 3600.0
    diurnal = inference.trough_demand_fraction + (
        inference.peak_demand_fraction - inference.trough_demand_fraction
    ) * 0.5 * (1.0 + np.cos(2.0 * np.pi * (hour_local - inference.peak_hour_local) / 24.0))
    weekday = (local.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    demand = diurnal * np.where(weekday >= 5, inference.weekend_factor, 1.0)
    years = (step_times_utc - step_times_utc[0]).astype("timedelta64[s]").astype(np.int64) / (365.0 * 86400.0)
    demand = demand * (1.0 + inference.growth_per_year) ** years

    elapsed_s = (step_times_utc - step_times_utc[0]).astype("timedelta64[s]").astype(np.int64)
    hours = elapsed_s // 3600
    noise = _ar1(rng, int(hours[-1]) + 1, phi=0.7, sigma=inference.noise_cv)
    demand = demand * (1.0 + noise[hours])
    if inference.trace is not None:
        step_s = int(elapsed_s[1] - elapsed_s[0]) if elapsed_s.shape[0] > 1 else 60
        demand = demand * trace_shape(catalog.load("demand_traces")[inference.trace], elapsed_s, step_s)
    return np.clip(demand, 0.0, None)


def trace_shape(trace, elapsed_s, step_s):
    """Mean over each step [t, t + step) of a trace's output tokens per bin divided by their mean,
    the trace looped from the run's start: the sub-hour burstiness of real request arrivals."""
    shape = np.asarray(trace["output_tokens"], dtype=float)
    shape = shape / shape.mean()
    bin_s = float(trace["bin_s"])
    period = shape.shape[0] * bin_s
    edges = np.concatenate([[0.0], np.cumsum(shape) * bin_s])  # integral of the shape at bin edges

    def integral(x):
        laps, rest = np.divmod(np.asarray(x, dtype=float), period)
        k = np.minimum((rest // bin_s).astype(np.int64), shape.shape[0] - 1)
        return laps * edges[-1] + edges[k] + (rest - k * bin_s) * shape[k]

    return (integral(elapsed_s + step_s) - integral(elapsed_s)) / step_s


def _ar1(rng, n, phi, sigma):
    """Stationary AR(1) series of length n with marginal standard deviation sigma."""
    shocks = rng.standard_normal(n) * sigma * np.sqrt(1.0 - phi * phi)
    out = np.empty(n)
    out[0] = rng.standard_normal() * sigma
    for k in range(1, n):
        out[k] = phi * out[k - 1] + shocks[k]
    return out


def served_utilization(demand_fraction, ceiling):
    """GPU utilisation served: demand up to the serving layer's ceiling."""
    return np.minimum(demand_fraction, ceiling)
