"""LLM serving curves (twin/catalog/models.yaml, fitted by tools/build_models.py) against
the ML.ENERGY Leaderboard v3 measurements they were fitted to (an in-sample check of the fit the
simulator runs, not an independent validation): GPU energy per output token at the largest
measured batch, for every model served on H100 SXM; and where a served token's energy goes in a
10,016-GPU fleet (scenarios/inference-fleet.yaml) against Google's measured split.

    python -m twin validate --only serving
"""

from pathlib import Path

from twin import catalog
from twin.pipeline import execute
from twin.scenario import load_scenario
from twin.validate import in_range, within

SOURCE = (
    "ML.ENERGY Leaderboard v3 (Chung et al., NeurIPS'25 D&B), lm-arena-chat, {config}: measured GPU "
    "energy per output token at the largest batch (shared/data/llm_energy/mlenergy_leaderboard_v3)"
)


def cases():
    out = []
    for model, gpus in catalog.load("models").items():
        c = gpus.get("H100-SXM")
        if c is None:
            continue
        fitted = c["gpu_power_w_at_capacity"] / c["output_tokens_per_s_per_gpu"]
        out.append(
            within(
                f"GPU J/output token at full batch, {model} on H100-SXM",
                SOURCE.format(config=c["config"]),
                c["measured_j_per_token_at_capacity"],
                fitted,
                rel=0.05,
                unit="J/token",
            )
        )
    return out + fleet_cases()


def _fleet_energy_per_token():
    scenario = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "inference-fleet.yaml")
    return execute(scenario)[1]["energy_per_token"]


def fleet_cases():
    """Where the energy of a served token goes, against Google's measured split for Gemini serving."""
    e = _fleet_energy_per_token()
    source = (
        "Elsworth et al. 2025 (arXiv:2508.15734), median Gemini Apps text prompt, May 2025: accelerators 58 %, "
        "host CPU and DRAM 25 %, idle reserve machines 10 %, data-centre overhead 8 % of the energy "
        "; +/-10 points for a different fleet (TPUs, PUE 1.09) and boundary"
    )
    return [
        in_range(
            "share of a served token's energy at the accelerators, 10,016-GPU H100 fleet, a week",
            source,
            0.48,
            0.68,
            e["gpu_j"] / e["facility_j"],
            published="0.58",
        ),
        in_range(
            "share of a served token's energy in host CPUs, memory, fans and PSUs, same fleet",
            source,
            0.15,
            0.35,
            (e["it_j"] - e["gpu_j"]) / e["facility_j"],
            published="0.25",
        ),
    ]
