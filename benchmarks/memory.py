"""Peak memory of `python -m twin run` against twin.memory's estimate, over steps, halls and rack series.

    python benchmarks/memory.py [--quick]

Each case is the quickstart design (without its SAIQ reference) with its duration, step, hall count and
rack series changed; each runs in its own process and its peak resident set size is read from wait4's
rusage. Prints measured and estimated peak, their ratio, and the per-step slope between cases that
differ only in steps. Not a timed test.
"""

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.memory import estimate_peak_bytes  # noqa: E402
from twin.scenario import load_scenario  # noqa: E402

CASES = [  # name, duration, step, halls, rack_series, racks per hall (None: the quickstart's 32)
    ("7d-60s", "7d", "60s", 1, "hourly", None),
    ("28d-60s", "28d", "60s", 1, "hourly", None),
    ("28d-10s", "28d", "10s", 1, "hourly", None),
    ("56d-10s", "56d", "10s", 1, "hourly", None),
    ("28d-10s-4halls", "28d", "10s", 4, "hourly", None),
    ("28d-10s-racks-step", "28d", "10s", 1, "step", None),
    ("28d-10s-racks-none", "28d", "10s", 1, "none", None),
    ("112d-10s", "112d", "10s", 1, "hourly", None),
    ("60d-300s-1000racks-none", "60d", "300s", 1, "none", 1000),
    ("60d-300s-1000racks-hourly", "60d", "300s", 1, "hourly", 1000),
]
QUICK = {"7d-60s", "28d-10s", "56d-10s"}


def scenario_yaml(base, name, duration, step, halls, rack_series, racks):
    doc = copy.deepcopy(base)
    doc.update(name=name, duration=duration, step=step, results={"rack_series": rack_series})
    doc["saiq"] = {k: v for k, v in doc["saiq"].items() if k != "reference"}
    hall = doc["facility"]["halls"][0]
    if racks is not None:
        hall = dict(hall, rack_count=racks)
    doc["facility"]["halls"] = [dict(hall, name=f"hall-{k}") for k in range(halls)]
    return yaml.safe_dump(doc)


def peak_rss_bytes(args):
    """(peak resident set size in bytes, wall seconds) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.read().decode()}")
    return usage.ru_maxrss * 1024, time.perf_counter() - started  # ru_maxrss is in KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three cases only")
    options = parser.parse_args()
    base = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, duration, step, halls, series, racks in CASES:
            if options.quick and name not in QUICK:
                continue
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(scenario_yaml(base, name, duration, step, halls, series, racks))
            estimate = estimate_peak_bytes(load_scenario(path))
            measured, wall_s = peak_rss_bytes(
                [
                    sys.executable,
                    "-m",
                    "twin",
                    "run",
                    str(path),
                    "--out",
                    str(Path(tmp) / f"out-{name}"),
                    "--no-progress",
                    "--force",
                ]
            )
            steps = load_scenario(path).n_steps
            rows.append((name, steps, measured, estimate, wall_s))
            print(
                f"{name:>20} {steps:>10,} steps  measured {measured / 1e6:8.0f} MB  estimate {estimate / 1e6:8.0f} MB"
                f"  estimate/measured {estimate / measured:5.2f}  {wall_s:6.1f} s",
                flush=True,
            )
    by_name = {r[0]: r for r in rows}
    for a, b in (("28d-10s", "56d-10s"), ("56d-10s", "112d-10s")):
        if a in by_name and b in by_name:
            (_, sa, ma, _, _), (_, sb, mb, _, _) = by_name[a], by_name[b]
            print(f"slope {a} -> {b}: {(mb - ma) / (sb - sa):.0f} bytes per step")
    a, b = by_name.get("60d-300s-1000racks-none"), by_name.get("60d-300s-1000racks-hourly")
    if a and b:
        rows = 60 * 24 * 1000
        print(f"racks.parquet rows: {(b[2] - a[2]) / rows:.0f} bytes per row (period x rack), {rows:,} rows")


if __name__ == "__main__":
    main()
