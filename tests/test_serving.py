"""LLM serving curves fitted to ML.ENERGY (catalog models.yaml) and their use by the GPU model."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin import catalog
from twin.physics import gpu
from twin.sim.serving import activity_for_load, batch_for_load, power_at_load_w, tokens_per_s

MODELS = catalog.load("models")
CURVES = [(m, g) for m, gpus in MODELS.items() for g in gpus]
H100 = MODELS["llama-3.1-70b"]["H100-SXM"]


@pytest.mark.parametrize("model, gpu_name", CURVES)
def test_every_fit_is_close_to_its_measurements(model, gpu_name):
    c = MODELS[model][gpu_name]
    limit = 5.0 if gpu_name == "H100-SXM" else 15.0  # B200 configurations scatter more (non-monotonic points)
    assert c["fit_mape_tokens_pct"] <= limit and c["fit_mape_power_pct"] <= limit, c["config"]
    assert c["points"] >= 5
    # capacity is the fitted throughput at the largest measured batch
    assert float(tokens_per_s(c, c["batch_max"])) == pytest.approx(c["output_tokens_per_s_per_gpu"], rel=1e-3)


def test_llama_70b_on_h100_matches_the_leaderboard_at_full_batch():
    # ML.ENERGY v3 lm-arena-chat, TP4, max_num_seqs 1024: 6,827 tok/s and 2,548 W over 4 GPUs, 0.373 J/token
    assert H100["measured_j_per_token_at_capacity"] == pytest.approx(0.3731, abs=1e-4)
    fitted = H100["gpu_power_w_at_capacity"] / H100["output_tokens_per_s_per_gpu"]
    assert fitted == pytest.approx(0.3731, rel=0.05)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_power_rises_and_energy_per_token_falls_with_load(a, b):
    lo, hi = sorted((a, b))
    p_lo, p_hi = power_at_load_w(H100, lo, 70.0), power_at_load_w(H100, hi, 70.0)
    assert p_lo <= p_hi + 1e-9
    if lo > 0.01:  # above one running sequence: batching amortises the weights, J/token falls
        assert p_hi / hi <= p_lo / lo + 1e-9


def test_load_maps_back_to_its_batch():
    loads = np.array([0.05, 0.2, 0.5, 0.9, 1.0])
    served = tokens_per_s(H100, batch_for_load(H100, loads)) / H100["output_tokens_per_s_per_gpu"]
    np.testing.assert_allclose(served, loads, rtol=1e-9)
    assert batch_for_load(H100, 1.0) == pytest.approx(H100["batch_max"], rel=1e-4)  # catalog values are rounded


def test_the_kernel_reproduces_the_fitted_power_at_its_reference_temperature():
    spec = catalog.load("gpus")["H100-SXM"]
    model = catalog.load("gpu_model")
    for load in (0.0, 0.003, 0.2, 0.6, 1.0):
        a = float(activity_for_load(H100, load, spec["idle_w"], spec["tdp_w"]))
        p = gpu.power_w(a, 1.0, model["leak_ref_temp_c"], spec["idle_w"], spec["tdp_w"], model["leak_fraction"],
                        model["leak_per_k"], model["leak_ref_temp_c"])
        assert p == pytest.approx(float(power_at_load_w(H100, load, spec["idle_w"])), rel=1e-9)


def test_an_idle_fleet_draws_idle_power_and_one_sequence_is_duty_cycled():
    assert power_at_load_w(H100, 0.0, 70.0) == pytest.approx(70.0)
    one = float(tokens_per_s(H100, 1.0)) / H100["output_tokens_per_s_per_gpu"]  # load of one running sequence
    half = float(power_at_load_w(H100, one / 2, 70.0))
    full = float(power_at_load_w(H100, one, 70.0))
    assert half == pytest.approx(70.0 + (full - 70.0) / 2, rel=1e-6)
