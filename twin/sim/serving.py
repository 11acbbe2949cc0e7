"""LLM serving on one GPU: the running batch a load needs, and the GPU power at that batch.

The curves are fitted to ML.ENERGY measurements (tools/build_models.py, models.yaml):
tokens/s T(b) and GPU power P(b) against the mean running batch b. A load u (share of serving
capacity T(b_max)) is served at the batch where T(b) = u T(b_max):

    b(u) = K_T (x / (1 - x))^(1/n_T),   x = u T(b_max) / T_inf.

Below one running sequence the GPU is busy only part of the time: it draws P(1) while decoding
and its idle power otherwise, so P = P_idle + (P(1) - P_idle) T_served / T(1). The kernel's GPU
model takes an activity a in [0, 1], P = P_idle + P_clk + P_dyn a at full clock and its reference die
temperature and full clock (twin/physics/gpu.py), so the fitted power enters as
a(u) = (P(b(u)) - P_idle) / (P_TDP - P_idle). Tokens stay proportional to u.
"""

import numpy as np


def _hill(b, low, high, half, n):
    return low + (high - low) * b**n / (b**n + half**n)


def tokens_per_s(curve, batch):
    """Output tokens/s of one GPU at mean running batch `batch`."""
    return _hill(
        np.asarray(batch, dtype=float),
        0.0,
        curve["tokens_per_s_asymptote"],
        curve["batch_half_tokens"],
        curve["exponent_tokens"],
    )


def power_at_batch_w(curve, batch):
    """GPU board power [W] at mean running batch `batch` (while decoding)."""
    return _hill(
        np.asarray(batch, dtype=float),
        curve["power_w_batch_zero"],
        curve["power_w_asymptote"],
        curve["batch_half_power"],
        curve["exponent_power"],
    )


def batch_for_load(curve, load):
    """Mean running batch that serves `load` (share of capacity T(batch_max), 0..1)."""
    x = (
        np.clip(np.asarray(load, dtype=float), 0.0, 1.0)
        * curve["output_tokens_per_s_per_gpu"]
        / curve["tokens_per_s_asymptote"]
    )
    x = np.minimum(x, 1.0 - 1e-12)
    return curve["batch_half_tokens"] * (x / (1.0 - x)) ** (1.0 / curve["exponent_tokens"])


def power_at_load_w(curve, load, idle_w):
    """GPU board power [W] serving `load`; duty-cycled between idle and one sequence below b = 1."""
    load = np.clip(np.asarray(load, dtype=float), 0.0, 1.0)
    batch = batch_for_load(curve, load)
    one = float(tokens_per_s(curve, 1.0))
    busy = load * curve["output_tokens_per_s_per_gpu"] / one  # share of time decoding, when below one sequence
    single = idle_w + (float(power_at_batch_w(curve, 1.0)) - idle_w) * np.minimum(busy, 1.0)
    return np.where(batch < 1.0, single, power_at_batch_w(curve, np.maximum(batch, 1.0)))


def activity_for_load(curve, load, idle_w, clock_w, dynamic_w):
    """The GPU kernel's activity that reproduces the fitted power at `load` at full clock (module
    docstring): P = idle + clock_w + dynamic_w a (catalog: clock_w 0, dynamic_w = TDP - idle)."""
    return np.clip((power_at_load_w(curve, load, idle_w) - idle_w - clock_w) / dynamic_w, 0.0, 1.0)
