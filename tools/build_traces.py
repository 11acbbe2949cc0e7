"""Bin the public LLM request traces into per-minute token counts: twin/catalog/demand_traces.yaml.

    python tools/build_traces.py --shared ../shared/data

Each trace becomes requests, input (prompt) tokens and output (generated) tokens per minute
of arrival, from the first request on (empty minutes are zeros). The simulator uses the output
tokens per minute, divided by their mean, as the sub-hour shape of demand (twin/sim/workload.py).
"""

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CATALOG_DIR = Path(__file__).resolve().parents[1] / "twin" / "catalog"
BIN_S = 60

TRACES = {
    "azure-conv": {
        "file": "workload/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
        "source": "Azure LLM inference trace 2023, conversation service (Patel et al., Splitwise, ISCA 2024; "
        "github.com/Azure/AzurePublicDataset, CC-BY 4.0), 2023-11-16 from 18:15 UTC, about one hour",
    },
    "azure-code": {
        "file": "workload/azure_llm_inference_2023/AzureLLMInferenceTrace_code.csv",
        "source": "Azure LLM inference trace 2023, coding service (Patel et al., Splitwise, ISCA 2024; "
        "github.com/Azure/AzurePublicDataset, CC-BY 4.0), 2023-11-16 from 18:17 UTC, about one hour",
    },
    "mooncake-conv": {
        "file": "workload/mooncake_fast25/conversation_trace.jsonl.gz",
        "source": "Mooncake conversation trace (Qin et al., FAST 2025; github.com/kvcache-ai/Mooncake, Apache-2.0), "
        "12,031 requests sampled from one hour of Kimi online traffic, relative timestamps",
    },
}


def _requests(path):
    """(arrival [s from the first request], input tokens, output tokens) of a trace file."""
    if path.name.endswith(".jsonl.gz"):
        with gzip.open(path, "rt") as fh:
            rows = pd.DataFrame([json.loads(line) for line in fh])
        return (
            rows["timestamp"].to_numpy(float) / 1000.0,
            rows["input_length"].to_numpy(),
            rows["output_length"].to_numpy(),
        )
    rows = pd.read_csv(path)
    stamps = pd.to_datetime(rows["TIMESTAMP"])
    seconds = (stamps - stamps.min()).dt.total_seconds().to_numpy()
    return seconds, rows["ContextTokens"].to_numpy(), rows["GeneratedTokens"].to_numpy()


def build(shared):
    out = {}
    for name, spec in TRACES.items():
        arrival, prompt, generated = _requests(Path(shared) / spec["file"])
        bins = int(arrival.max() // BIN_S)  # whole minutes only: the last, partial one would look like a lull
        keep = arrival < bins * BIN_S
        arrival, prompt, generated = arrival[keep], prompt[keep], generated[keep]
        minute = (arrival // BIN_S).astype(int)

        def count(w, minute=minute, bins=bins):
            return np.bincount(minute, weights=w, minlength=bins).astype(int).tolist()

        out[name] = {
            "source": f"{spec['source']}; shared/data/{spec['file']}",
            "bin_s": BIN_S,
            "requests": count(None),
            "input_tokens": count(prompt),
            "output_tokens": count(generated),
        }
    with open(CATALOG_DIR / "demand_traces.yaml", "w") as fh:
        fh.write(
            "# LLM request traces binned per minute of arrival by `python tools/build_traces.py` "
            "(edit that, not this file).\n"
        )
        yaml.safe_dump(out, fh, sort_keys=False, width=200, default_flow_style=None)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared/data", help="path to shared/data (default: ../shared/data)")
    for name, trace in build(parser.parse_args().shared).items():
        tokens = np.array(trace["output_tokens"], dtype=float)
        print(
            f"{name}: {len(tokens)} minutes, {sum(trace['requests']):,} requests, output tokens/min mean "
            f"{tokens.mean():,.0f}, CV {tokens.std() / tokens.mean():.2f}"
        )


if __name__ == "__main__":
    main()
