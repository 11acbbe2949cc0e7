"""Fit LLM serving curves to the ML.ENERGY Leaderboard v3 and write twin/catalog/models.yaml.

    python tools/build_models.py --shared ../shared/data

Data: shared/data/llm_energy/mlenergy_leaderboard_v3/llm_mllm_configurations.csv, task
lm-arena-chat (chat serving with vLLM; Chung et al., NeurIPS'25 D&B), one row per
(model, GPU, parallelism, max_num_seqs). Per GPU of a configuration, against the mean running
batch b (avg_batch_size):

    output tokens/s   T(b) = T_inf b^n_T / (b^n_T + K_T^n_T)                (saturating Hill curves:
    GPU power [W]     P(b) = P_0 + (P_inf - P_0) b^n_P / (b^n_P + K_P^n_P)     decode steps slow as
                                                                             the batch fills the GPU)

fitted by least squares on relative error (scipy). The exponent n lets the curve follow the
slow late rise that B200 configurations show (with n = 1, MAPE up to 17 %). For each model and GPU the configuration kept
is the one with the lowest measured energy per token at its largest batch (what an operator
would deploy), among those with at least MIN_POINTS batch sizes. Serving capacity is T at the
largest measured batch. The power is GPU board power from NVML (no host, no facility).
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CATALOG_DIR = Path(__file__).resolve().parents[1] / "twin" / "catalog"
DATA_FILE = "llm_energy/mlenergy_leaderboard_v3/llm_mllm_configurations.csv"
TASK = "lm-arena-chat"
GPU_NAMES = {"H100": "H100-SXM", "B200": "B200"}  # the leaderboard's H100 is the 80 GB SXM part
MIN_POINTS = 5


def saturating(b, low, high, half, n):
    """low + (high - low) b^n / (b^n + half^n): the form of both curves (low = 0 for throughput)."""
    return low + (high - low) * b**n / (b**n + half**n)


def model_key(model_id):
    """'meta-llama/Llama-3.1-70B-Instruct' -> 'llama-3.1-70b' (the catalog's model names)."""
    name = model_id.split("/")[-1].lower()
    for suffix in ("-instruct-2507-fp8", "-instruct-2507", "-instruct-fp8", "-instruct", "-it"):
        if name.endswith(suffix):
            return name[: -len(suffix)] + ("-fp8" if suffix.endswith("fp8") else "")
    return name


def fit_config(rows):
    """Fitted curve parameters and in-sample errors of one configuration's rows."""
    from scipy.optimize import curve_fit

    n = int(rows["num_gpus"].iloc[0])
    b = rows["avg_batch_size"].to_numpy(float)
    tokens = rows["output_throughput_tokens_per_sec"].to_numpy(float) / n
    power = rows["avg_power_watts"].to_numpy(float) / n
    (t_inf, k_t, n_t), _ = curve_fit(
        lambda x, hi, half, n_: saturating(x, 0.0, hi, half, n_),
        b,
        tokens,
        p0=(tokens.max() * 1.2, np.median(b), 1.0),
        sigma=tokens,
        bounds=([0, 1e-3, 0.2], [1e7, 1e6, 3.0]),
    )
    (p_0, p_inf, k_p, n_p), _ = curve_fit(
        saturating,
        b,
        power,
        p0=(power.min(), power.max(), np.median(b), 1.0),
        sigma=power,
        bounds=([0, 0, 1e-3, 0.2], [5000, 5000, 1e6, 3.0]),
    )
    t_fit, p_fit = saturating(b, 0.0, t_inf, k_t, n_t), saturating(b, p_0, p_inf, k_p, n_p)
    mape = lambda fit, obs: float(np.mean(np.abs(fit / obs - 1.0)) * 100.0)  # noqa: E731
    b_max = float(b.max())
    return {
        "batch_max": round(b_max, 2),
        "tokens_per_s_asymptote": round(float(t_inf), 3),
        "batch_half_tokens": round(float(k_t), 4),
        "exponent_tokens": round(float(n_t), 5),
        "power_w_batch_zero": round(float(p_0), 3),
        "power_w_asymptote": round(float(p_inf), 3),
        "batch_half_power": round(float(k_p), 4),
        "exponent_power": round(float(n_p), 5),
        "output_tokens_per_s_per_gpu": round(float(saturating(b_max, 0.0, t_inf, k_t, n_t)), 2),
        "gpu_power_w_at_capacity": round(float(saturating(b_max, p_0, p_inf, k_p, n_p)), 2),
        "measured_tokens_per_s_per_gpu_at_capacity": round(float(tokens[np.argmax(b)]), 2),
        "measured_j_per_token_at_capacity": round(
            float(rows.loc[rows["avg_batch_size"].idxmax(), "energy_per_token_joules"]), 4
        ),
        "fit_mape_tokens_pct": round(mape(t_fit, tokens), 2),
        "fit_mape_power_pct": round(mape(p_fit, power), 2),
        "fit_max_error_tokens_pct": round(float(np.max(np.abs(t_fit / tokens - 1.0)) * 100.0), 2),
        "fit_max_error_power_pct": round(float(np.max(np.abs(p_fit / power - 1.0)) * 100.0), 2),
        "points": int(len(rows)),
        "config": (
            f"{n} GPU(s), TP{int(rows['tensor_parallel'].iloc[0])} EP{int(rows['expert_parallel'].iloc[0])}, "
            f"{rows['weight_precision'].iloc[0]}, max_num_seqs {int(rows['max_num_seqs'].min())}-"
            f"{int(rows['max_num_seqs'].max())}"
        ),
    }


def build(shared):
    frame = pd.read_csv(Path(shared) / DATA_FILE)
    frame = frame[(frame["task"] == TASK) & frame["gpu_model"].isin(GPU_NAMES)]
    keys = ["model_id", "gpu_model", "num_gpus", "tensor_parallel", "expert_parallel", "data_parallel"]
    out = {}
    for (model_id, gpu), rows in frame.groupby(["model_id", "gpu_model"]):
        best = None
        for _, config in rows.groupby(keys):
            if len(config) < MIN_POINTS:
                continue
            at_max = config.loc[config["avg_batch_size"].idxmax(), "energy_per_token_joules"]
            if best is None or at_max < best[0]:
                best = (at_max, config.sort_values("avg_batch_size"))
        if best is None:
            continue
        out.setdefault(model_key(model_id), {})[GPU_NAMES[gpu]] = {"model_id": model_id, **fit_config(best[1])}
    header = (
        f"# LLM serving curves per GPU, fitted by `python tools/build_models.py` (edit that, not this file)\n"
        f"# to shared/data/{DATA_FILE}, task {TASK}: ML.ENERGY Leaderboard v3 (Chung et al., NeurIPS'25 D&B),\n"
        f"# vLLM, GPU board power from NVML. Per GPU, against the mean running batch b:\n"
        f"#   tokens/s T(b) = tokens_per_s_asymptote b^n / (b^n + batch_half_tokens^n), n = exponent_tokens\n"
        f"#   power    P(b) = power_w_batch_zero + (power_w_asymptote - power_w_batch_zero) b^m / (b^m + batch_half_power^m),\n"
        f"#            m = exponent_power\n"
        f"# Capacity (utilisation 1) = T(batch_max); fit errors are in-sample over the configuration's batch sizes.\n"
    )
    with open(CATALOG_DIR / "models.yaml", "w") as fh:
        fh.write(header)
        yaml.safe_dump(dict(sorted(out.items())), fh, sort_keys=False, width=200)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared/data", help="path to shared/data (default: ../shared/data)")
    for model, gpus in build(parser.parse_args().shared).items():
        for gpu, c in gpus.items():
            print(
                f"{model:32s} {gpu:9s} {c['config']:48s} T {c['output_tokens_per_s_per_gpu']:8.1f} tok/s  "
                f"P {c['gpu_power_w_at_capacity']:6.1f} W  MAPE T {c['fit_mape_tokens_pct']:5.2f} % P {c['fit_mape_power_pct']:5.2f} %"
            )


if __name__ == "__main__":
    main()
