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
        dynamic_w = spec["tdp_w"] - spec["idle_w"]
        a = float(activity_for_load(H100, load, spec["idle_w"], 0.0, dynamic_w))
        p = gpu.power_w(
            a,
            1.0,
            model["leak_ref_temp_c"],
            spec["idle_w"],
            0.0,
            dynamic_w,
            0.0,
            model["leak_fraction"],
            model["leak_per_k"],
            model["leak_ref_temp_c"],
        )
        assert p == pytest.approx(float(power_at_load_w(H100, load, spec["idle_w"])), rel=1e-9)


def test_an_idle_fleet_draws_idle_power_and_one_sequence_is_duty_cycled():
    assert power_at_load_w(H100, 0.0, 70.0) == pytest.approx(70.0)
    one = float(tokens_per_s(H100, 1.0)) / H100["output_tokens_per_s_per_gpu"]  # load of one running sequence
    half = float(power_at_load_w(H100, one / 2, 70.0))
    full = float(power_at_load_w(H100, one, 70.0))
    assert half == pytest.approx(70.0 + (full - 70.0) / 2, rel=1e-6)


# --- demand from a request trace, and energy per token through a run ---------------------------


def test_a_trace_shapes_demand_minute_by_minute_and_keeps_its_mean():
    from twin.sim.workload import trace_shape

    trace = catalog.load("demand_traces")["azure-conv"]
    period_s = len(trace["output_tokens"]) * trace["bin_s"]
    for step_s in (1, 60, 900):
        elapsed = np.arange(0, period_s * step_s, step_s)  # whole laps of the trace in whole steps
        shape = trace_shape(trace, elapsed, step_s)
        assert shape.mean() == pytest.approx(1.0, rel=1e-9)
    minute = trace_shape(trace, np.arange(0, period_s, 60), 60)
    tokens = np.array(trace["output_tokens"], dtype=float)
    np.testing.assert_allclose(minute, tokens / tokens.mean())


def test_the_trace_multiplies_the_profile_and_nothing_else():
    from conftest import short_scenario

    from twin.scenario import Scenario
    from twin.sim.engine import Simulation
    from twin.sim.workload import trace_shape

    plain = Simulation(Scenario.model_validate(short_scenario(step="60s")))
    data = short_scenario(step="60s")
    data["workload"]["inference"]["trace"] = "azure-conv"
    traced = Simulation(Scenario.model_validate(data))
    elapsed = np.arange(plain.demand.shape[0]) * 60
    expected = trace_shape(catalog.load("demand_traces")["azure-conv"], elapsed, 60)
    np.testing.assert_allclose(traced.demand[:, 0], plain.demand[:, 0] * expected, rtol=1e-12)


def test_energy_per_token_builds_up_from_the_measured_gpu_figure():
    from conftest import short_scenario

    from twin.pipeline import execute
    from twin.scenario import Scenario

    data = short_scenario(step="60s")
    data["workload"]["inference"]["trace"] = "azure-conv"
    _, summary = execute(Scenario.model_validate(data))
    e = summary["energy_per_token"]
    f = e["factors"]
    assert e["measured_gpu_j_at_full_batch"] == H100["measured_j_per_token_at_capacity"]
    assert e["facility_j"] == pytest.approx(
        e["measured_gpu_j_at_full_batch"] * f["load"] * f["server_overhead"] * f["pue"], rel=1e-12
    )
    assert f["pue"] == pytest.approx(summary["kpi"]["pue"], rel=1e-12)
    assert f["load"] > 1.0 and f["server_overhead"] > 1.0 and f["pue"] > 1.0
    t = summary["totals"]
    assert e["facility_j"] == pytest.approx(t["facility_energy_mwh"] * 3.6e9 / t["tokens"], rel=1e-12)


def test_an_unknown_trace_is_refused_with_the_choices():
    import yaml
    from conftest import short_scenario

    from twin.scenario import ScenarioError, load_scenario_text

    data = short_scenario()
    data["workload"]["inference"]["trace"] = "azure-chat"
    with pytest.raises(
        ScenarioError, match="unknown trace 'azure-chat'.*allowed: azure-code, azure-conv, mooncake-conv"
    ):
        load_scenario_text(yaml.safe_dump(data))
