"""twin against ExaDigiT RAPS (ORNL's Frontier twin) on RAPS's own synthetic Frontier job lists: per-hour IT
power and the day's energy, twin replaying each job on the nodes RAPS placed it on (scenarios/frontier.yaml).

RAPS's figures are recorded in validation/raps/ (RAPS commit in RAPS_COMMIT, its driver raps_driver.py): the
cases compare against those, so they run without RAPS. Where RAPS is installed (its own venv), this script also
regenerates them and times both simulators on the same work, interleaved:

    python validation/raps_side_by_side.py --raps-python /path/to/raps/venv/bin/python [--seeds 1 2 3]
    python -m twin validate --only raps_side_by_side

What is compared: RAPS's system power less its CDUs (nodes, chassis switches, SIVOC and rectifier losses: what
twin counts as IT power at the servers' wall) against twin's it_power_w. RAPS adds no cooling without its FMU
model (not public); twin's cooling and facility power are printed beside, not compared.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RAPS_DIR = Path(__file__).resolve().parent / "raps"
RAPS_COMMIT = "6c142bfdbfeb9f206cd4e552e9ac625895289f31"
SCENARIO = ROOT / "scenarios" / "frontier.yaml"
SEEDS = (1, 2, 3)
DOWN_FIRST, DOWN_NODES = 5248, 128  # RAPS's Frontier: rack 41 missing, its nodes 5248-5375 down
HOURLY_REL, ENERGY_REL = 0.03, 0.02  # the acceptance: per-hour mean within 3 %, the day's energy within 2 %
SOURCE = f"ExaDigiT RAPS (Brewer et al., SC24) commit {RAPS_COMMIT[:7]}, synthetic Frontier workload"


def twin_job_list(raps_jobs: pd.DataFrame) -> pd.DataFrame:
    """RAPS's job list with its node numbers as twin's: twin has no down rack, so nodes past the missing
    rack's move down by its 128."""
    jobs = raps_jobs.copy()

    def renumber(cell):
        if not isinstance(cell, str) or not cell.strip():
            return ""
        nodes = np.array(cell.split(), dtype=np.int64)
        if ((nodes >= DOWN_FIRST) & (nodes < DOWN_FIRST + DOWN_NODES)).any():
            raise ValueError("a RAPS job placed on a down node")
        return " ".join(map(str, np.where(nodes >= DOWN_FIRST + DOWN_NODES, nodes - DOWN_NODES, nodes)))

    jobs["scheduled_nodes"] = jobs["scheduled_nodes"].map(renumber)
    return jobs


def run_twin(jobs_csv: Path, step_s: int = 1, seconds: int = 86400):
    """twin on scenarios/frontier.yaml replaying jobs_csv for `seconds` at step_s: (frame, summary, seconds)."""
    from twin.pipeline import execute
    from twin.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    jobs = scenario.workload.jobs.model_copy(update={"file": jobs_csv})
    workload = scenario.workload.model_copy(update={"jobs": jobs})
    scenario = scenario.model_copy(update={"step": f"{step_s}s", "duration": f"{seconds}s", "workload": workload})
    t0 = time.perf_counter()
    frame, summary = execute(scenario)
    return frame, summary, time.perf_counter() - t0


def compare(frame: pd.DataFrame, raps_hourly: pd.DataFrame) -> dict:
    """Per-hour IT power and the day's energy, twin against RAPS (system power less CDUs)."""
    step_h = (frame["timestamp"].iloc[1] - frame["timestamp"].iloc[0]).total_seconds() / 3600.0
    twin_mw = frame.set_index("timestamp")["it_power_w"].resample("1h").mean().to_numpy() / 1e6
    raps_mw = (raps_hourly["it_power_mw"] - raps_hourly["cdu_power_mw"]).to_numpy()
    n = min(twin_mw.size, raps_mw.size)
    rel = twin_mw[:n] / raps_mw[:n] - 1.0
    return {
        "hours": n,
        "max_hourly_rel": float(np.abs(rel).max()),
        "mean_hourly_rel": float(rel.mean()),
        "energy_rel": float(twin_mw[:n].sum() / raps_mw[:n].sum() - 1.0),
        "twin_energy_mwh": float(frame["it_power_w"].sum() * step_h / 1e6),
        "raps_energy_mwh": float(raps_mw[:n].sum()),
        "twin_cooling_mw": float(frame["cooling_power_w"].mean() / 1e6),
        "twin_pue": float(frame["facility_power_w"].sum() / frame["it_power_w"].sum()),
    }


def _recorded(seed):
    folder = RAPS_DIR / f"seed{seed}"
    return folder / "jobs.csv.gz", pd.read_csv(folder / "power_hourly.csv")


def cases():
    from twin.validate import Case, within

    out = []
    for seed in SEEDS:
        jobs_csv, hourly = _recorded(seed)
        frame, _, _ = run_twin(jobs_csv, step_s=15)
        c = compare(frame, hourly)
        out.append(
            Case(
                f"RAPS seed {seed}: IT power, the worst of {c['hours']} hours off RAPS's",
                SOURCE,
                "0",
                c["max_hourly_rel"] * 100.0,
                0.0,
                HOURLY_REL * 100.0,
                f"within {HOURLY_REL:.0%} every hour",
                "%",
            )
        )
        out.append(
            within(
                f"RAPS seed {seed}: IT energy of the day",
                SOURCE,
                round(c["raps_energy_mwh"], 1),
                c["twin_energy_mwh"],
                rel=ENERGY_REL,
                unit="MWh",
            )
        )
    return out


def run_raps(raps_python: str, seed: int, seconds: int, out: Path) -> float:
    """RAPS (its own venv) for a seed through raps_driver.py: its job list and hourly power into out; returns its
    wall time [s] (its process, imports included). twin is timed both in this process (after a warm-up: against
    RAPS's own engine and loop time, from its timing.json) and as a process of its own (imports and numba's cache
    included: against RAPS's process)."""
    t0 = time.perf_counter()
    command = [raps_python, str(RAPS_DIR / "raps_driver.py"), "--seed", str(seed), "--time", str(seconds)]
    subprocess.run([*command, "--out", str(out), "--no-1s"], check=True, capture_output=True)
    return time.perf_counter() - t0


def twin_on(out: Path, seconds: int) -> tuple[dict, float]:
    """twin replaying the job list RAPS wrote into out, for `seconds` at 1 s: (comparison, wall time [s])."""
    jobs_csv = out / "jobs.csv.gz"
    twin_job_list(pd.read_csv(out / "jobs.csv")).to_csv(jobs_csv, index=False)
    frame, _, twin_s = run_twin(jobs_csv, step_s=1, seconds=seconds)
    return compare(frame, pd.read_csv(out / "power_hourly.csv")), twin_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raps-python", help="python of a venv with RAPS installed (github ExaDigiT/RAPS)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--record", action="store_true", help="keep RAPS's 1-day outputs in validation/raps/seedN")
    parser.add_argument("--lengths", nargs="+", choices=("1h", "1d"), default=["1h", "1d"])
    parser.add_argument("--twin-only", nargs=2, metavar=("FOLDER", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.twin_only:  # one twin run in its own process, timed from outside as RAPS is (imports included)
        print(json.dumps(twin_on(Path(args.twin_only[0]), int(args.twin_only[1]))[0]))
        return 0
    if args.raps_python is None or not Path(args.raps_python).exists():
        print(
            "RAPS is not installed here (give --raps-python): twin against RAPS's recorded outputs in validation/raps/"
        )
        for seed in args.seeds:
            jobs_csv, hourly = _recorded(seed)
            frame, _, twin_s = run_twin(jobs_csv, step_s=1)
            print(json.dumps({"seed": seed, **compare(frame, hourly), "twin_1d_at_1s_s": twin_s}))
        return 0
    run_twin(_recorded(SEEDS[0])[0], step_s=1)  # warm-up: numba cache, site tables
    for seed in args.seeds:
        row = {"seed": seed}
        for label, seconds in (("1h", 3600), ("1d", 86400)):  # interleaved: RAPS, then twin on its job list
            if label not in args.lengths:
                continue
            out = RAPS_DIR / f"seed{seed}" if args.record and label == "1d" else Path(f"/tmp/raps-seed{seed}-{label}")
            out.mkdir(parents=True, exist_ok=True)
            row[f"raps_{label}_s"] = run_raps(args.raps_python, seed, seconds, out)
            raps_own = json.loads((out / "timing.json").read_text())  # like for like: its engine, not its imports
            row[f"raps_{label}_in_process_s"] = raps_own["wall_engine_init_s"] + raps_own["wall_simulation_loop_s"]
            comparison, row[f"twin_{label}_s"] = twin_on(out, seconds)
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, __file__, "--twin-only", str(out), str(seconds)], check=True, capture_output=True
            )
            row[f"twin_{label}_process_s"] = time.perf_counter() - t0
            row[f"speedup_{label}_process"] = row[f"raps_{label}_s"] / row[f"twin_{label}_process_s"]
            row[f"speedup_{label}_in_process"] = row[f"raps_{label}_in_process_s"] / row[f"twin_{label}_s"]
            if label == "1d":
                row.update(comparison)
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
