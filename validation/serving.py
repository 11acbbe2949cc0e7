"""LLM serving curves (twin/catalog/models.yaml, fitted by twin/catalog/build_models.py) against
the ML.ENERGY Leaderboard v3 measurements they were fitted to (an in-sample check of the fit the
simulator runs, not an independent validation): GPU energy per output token at the largest
measured batch, for every model served on H100 SXM.

    python -m twin validate --only serving
"""

from twin import catalog
from twin.validate import within

SOURCE = ("ML.ENERGY Leaderboard v3 (Chung et al., NeurIPS'25 D&B), lm-arena-chat, {config}: measured GPU "
          "energy per output token at the largest batch (shared/data/llm_energy/mlenergy_leaderboard_v3)")


def cases():
    out = []
    for model, gpus in catalog.load("models").items():
        c = gpus.get("H100-SXM")
        if c is None:
            continue
        fitted = c["gpu_power_w_at_capacity"] / c["output_tokens_per_s_per_gpu"]
        out.append(within(f"GPU J/output token at full batch, {model} on H100-SXM", SOURCE.format(config=c["config"]),
                          c["measured_j_per_token_at_capacity"], fitted, rel=0.05, unit="J/token"))
    return out
