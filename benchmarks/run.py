"""Benchmarks (numbers, not asserts; not timed tests):

    python benchmarks/run.py [NAME ...] [--json]

    year-100mw         1,400 racks / 56,000 GPUs, every rack stepped, a year at 60 s, daily rack series
    calibration-scale  one rack at 1 s steps for a day
    events             a training campus for a year with ~100,000 jobs and GPU failures: simpy events/s
    sweep              64 variants serially and on a Dask LocalCluster of 2 workers: speed-up, equal results

Each benchmark runs in its own process (so peak memory is its own), after one warm-up run that loads
the numba cache, and prints wall time, simulated rack-steps per second, peak resident memory and the
ratio to this machine's ceilings; each appends one JSON line to benchmarks/results/<name>.jsonl.

Ceilings: measured on the machine that runs the benchmarks, before them (float64 matrix product on
all cores; numpy copy of 256 MB); on the development machine (2 cores) about 100 GFLOP/s and 24 GB/s.
The facility kernel steps every rack (the unit of simulation) and every row's cooling units; the
ratios below count only the racks it stepped (units_simulated): unit-steps per second, bytes it reads
and writes per second against the copy bandwidth, and floating-point operations per second
(FLOPS_PER_UNIT_STEP per rack-step plus FLOPS_PER_STEP for the plant, counts by hand of
physics/servers.py and physics/facility.py, transcendentals counted as 20 flops) against the float64
peak.
"""

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "benchmarks" / "scenarios"
RESULTS = ROOT / "benchmarks" / "results"


def ceilings():
    """This machine's float64 GFLOP/s (best of 3 products of 2,048-square matrices, all cores) and copy
    bandwidth GB/s (best of 5 copies of 256 MB: read + write counted)."""
    import numpy as np

    a = np.random.default_rng(0).random((2048, 2048))
    flops = []
    for _ in range(3):
        t = time.perf_counter()
        a @ a
        flops.append(2 * 2048**3 / (time.perf_counter() - t))
    src, dst = np.ones(32 * 1024**2), np.empty(32 * 1024**2)
    copies = []
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(dst, src)
        copies.append(2 * src.nbytes / (time.perf_counter() - t))
    return {"cores": os.cpu_count(), "float64_gflops": max(flops) / 1e9, "copy_gb_per_s": max(copies) / 1e9}


# [M] floating-point operations, an estimate by reading the kernels (not an operation-by-operation count;
# no hardware counters here), so the float64 ratio is an order of magnitude. Per rack-step: GPU power and
# Foster thermal step ~50 (the leakage exp as a series of 19 multiply-adds), host/fans/PSU ~30, row and
# facility sums ~30, run peaks and rack series ~20. Per step:
# power chain ~40, rows' loops ~20 per row (not counted), cooling plant (psychrometrics, chiller curves,
# tower or dry cooler, pumps, economiser) ~350 (6 exp/log/pow), site carbon/water/cost ~30, the row ~30.
FLOPS_PER_UNIT_STEP = 130
FLOPS_PER_STEP = 450
BENCHMARKS = ("year-100mw", "calibration-scale", "events", "sweep")


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _simulation(name, machine):
    """(wall_s, phases, kernel ratios, frame rows) of one warm run of a benchmark scenario."""
    from twin import pipeline
    from twin.scenario import load_scenario
    from twin.sim.engine import Simulation

    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    pipeline.execute_with_racks(scenario)  # warm-up: numba cache, site tables, catalog
    gc.collect()
    phases = {}
    t0 = time.perf_counter()
    sim = Simulation(scenario)
    phases["build_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    sim.run()
    phases["kernel_and_events_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    frame = pipeline.frame_of(sim, sim.ledger)  # the per-step frame with per-period accounting, as execute builds it
    phases["frame_s"] = time.perf_counter() - t2
    steps, units = scenario.n_steps, sim.plant.params.units.shape[1]  # the racks the kernel steps
    rows = len(frame)
    kernel_s = phases["kernel_and_events_s"]
    # bytes the kernel reads (per-step per-hall workload arrays and per-step site series) and writes (the ledger)
    inputs = [
        sim.utilization,
        sim.activity,
        sim.productive,
        sim.demand,
        sim.price,
        sim.solar_w,
        sim.cap_w,
        sim.ups_cap_w,
        *(sim.series[k] for k in ("drybulb_c", "wetbulb_c", "carbon_g_per_kwh", "water_l_per_kwh")),
    ]
    moved = sim.ledger.values.nbytes + sum(a.nbytes for a in inputs)
    del sim, frame, inputs  # one run's memory at a time: the peak is a run's, not three runs'
    gc.collect()
    t3 = time.perf_counter()
    pipeline.execute_with_racks(scenario)  # what `twin run` computes, the rack series the scenario keeps included
    wall_s = time.perf_counter() - t3
    machine_flops = machine["float64_gflops"] * 1e9
    ratios = {
        "units_simulated": units,
        "unit_steps_per_s": steps * units / kernel_s,
        "copy_bandwidth_ratio": moved / kernel_s / (machine["copy_gb_per_s"] * 1e9),
        "float64_ratio": (FLOPS_PER_UNIT_STEP * units + FLOPS_PER_STEP) * steps / kernel_s / machine_flops,
    }
    return wall_s, phases, ratios, rows


def bench_year_100mw(machine):
    wall_s, phases, ratios, rows = _simulation("year-100mw", machine)
    return {"wall_s": wall_s, "rows": rows, **phases, **ratios}


def bench_calibration_scale(machine):
    wall_s, phases, ratios, rows = _simulation("calibration-scale", machine)
    return {"wall_s": wall_s, "rows": rows, **phases, **ratios}


def bench_events(machine):
    import simpy.core

    from twin import pipeline
    from twin.scenario import load_scenario

    scenario = load_scenario(SCENARIOS / "events.yaml")
    pipeline.execute(scenario.model_copy(update={"duration": "7d"}))  # warm-up: numba cache, site, catalog
    counted = [0]
    step = simpy.core.Environment.step

    def counting_step(env):
        counted[0] += 1
        return step(env)

    simpy.core.Environment.step = counting_step
    t0 = time.perf_counter()
    _, summary = pipeline.execute(scenario)
    wall_s = time.perf_counter() - t0
    training = summary["training"]
    return {
        "wall_s": wall_s,
        "events": counted[0],
        "events_per_s": counted[0] / wall_s,
        "jobs": training["jobs_arrived"],
        "gpu_failures": training["failures"],
    }


def bench_sweep(machine):
    import shutil
    import tempfile

    from distributed import Client

    from twin import sweep

    folder = Path(tempfile.mkdtemp(prefix="twin-bench-sweep-"))
    try:
        spec_path = folder / "sweep.yaml"
        spec_path.write_text(
            json.dumps(
                {  # JSON is YAML: 64 variants of the 10 MW hall, a year each at 60 s
                    "base": str(ROOT / "scenarios" / "hall-10mw.yaml"),
                    "name": "bench",
                    "set": {"duration": "1y", "step": "60s"},
                    "axes": {
                        "site.name": ["ashburn-va", "phoenix-az", "stockholm-se", "singapore"],
                        "facility.cooling": [{"type": "air"}, {"type": "direct_to_chip", "liquid_class": "W32"}],
                        "seed": {"from": 1, "to": 8},
                    },
                }
            )
        )
        spec = sweep.load_sweep(spec_path)
        sweep.run_variant(spec.variants[0].scenario, spec.reference)  # warm the numba cache in this process
        t0 = time.perf_counter()
        serial = sweep.run(spec, folder / "serial", workers=1)
        serial_s = time.perf_counter() - t0
        with sweep.local_cluster(2) as cluster:
            with Client(cluster) as client:
                # each worker loads twin and its numba cache before the clock starts, as this process did
                client.run(sweep.run_variant, spec.variants[0].scenario, spec.reference)
                t1 = time.perf_counter()
                parallel = sweep.run(spec, folder / "dask", cluster=client)
                dask_s = time.perf_counter() - t1
                workers_rss = client.run(_peak_rss_mb)
        columns = [c for c in serial.columns if c != "wall_s"]
        equal = (
            serial.sort_values("variant_id")[columns]
            .reset_index(drop=True)
            .equals(parallel.sort_values("variant_id")[columns].reset_index(drop=True))
        )
        racks = sum(h.rack_count for h in spec.variants[0].scenario.facility.halls)  # each stepped
        unit_steps = sum(v.scenario.n_steps for v in spec.variants) * racks
        return {
            "wall_s": dask_s,
            "serial_s": serial_s,
            "speedup": serial_s / dask_s,
            "variants": len(spec.variants),
            "results_equal": bool(equal),
            "unit_steps_per_s": unit_steps / dask_s,
            "speedup_per_worker": serial_s / dask_s / 2,
            "median_variant_s_serial": float(serial["wall_s"].median()),
            "median_variant_s_dask": float(parallel["wall_s"].median()),
            "peak_rss_mb_workers": max(workers_rss.values()),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_one(name, machine):
    result = {"benchmark": name, **globals()[f"bench_{name.replace('-', '_')}"](machine)}
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _print(result):
    name = result["benchmark"]
    line = f"{name:18s} wall {result['wall_s']:7.2f} s  peak RSS {result['peak_rss_mb']:7.0f} MB"
    if "units_simulated" in result:
        line += (
            f"\n{'':18s} kernel+events {result['kernel_and_events_s']:.3f} s: {result['units_simulated']:,} racks "
            f"stepped, {result['unit_steps_per_s']:,.0f} rack-steps/s; build {result['build_s']:.3f} s, frame {result['frame_s']:.3f} s; kernel at "
            f"{result['float64_ratio']:.2%} of float64 peak, {result['copy_bandwidth_ratio']:.2%} of copy bandwidth"
        )
    if "events_per_s" in result:
        line += (
            f"\n{'':18s} {result['events']:,} simpy events, {result['events_per_s']:,.0f} events/s, "
            f"{result['jobs']:,} jobs, {result['gpu_failures']:,} GPU failures"
        )
    if "speedup" in result:
        line += (
            f"\n{'':18s} {result['variants']} variants: serial {result['serial_s']:.2f} s, Dask 2 workers "
            f"{result['wall_s']:.2f} s, speed-up {result['speedup']:.2f}x ({result['speedup_per_worker']:.0%} per "
            f"worker), median variant {result['median_variant_s_serial']:.2f} s serial and "
            f"{result['median_variant_s_dask']:.2f} s on Dask, workers' peak RSS {result['peak_rss_mb_workers']:.0f} MB, "
            f"results equal: {result['results_equal']}"
        )
    print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all: {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document with every result")
    parser.add_argument("--profile", action="store_true", help="also print where a warm year-100mw run spends its time")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one benchmark in this process
    parser.add_argument("--machine", help=argparse.SUPPRESS)  # internal: the measured ceilings
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, json.loads(args.machine))))
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; allowed: {', '.join(BENCHMARKS)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = ceilings()
    if not args.json:
        print(
            f"ceilings measured here: {machine['float64_gflops']:.0f} GFLOP/s float64, "
            f"{machine['copy_gb_per_s']:.1f} GB/s copy, {machine['cores']} cores"
        )
    results = []
    for name in args.names or BENCHMARKS:
        child = subprocess.run(
            [sys.executable, __file__, "--one", name, "--machine", json.dumps(machine)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if child.returncode != 0:
            print(f"{name}: failed\n{child.stderr}", file=sys.stderr)
            return 1
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result.update(
            when_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            python=platform.python_version(),
            machine=platform.machine(),
            cpus=os.cpu_count(),
            ceilings=machine,
        )
        with open(RESULTS / f"{name}.jsonl", "a") as fh:
            fh.write(json.dumps(result) + "\n")
        results.append(result)
        if not args.json:
            _print(result)
    if args.json:
        print(json.dumps({"benchmarks": results}, indent=2))
    if args.profile:
        profile("year-100mw")
    return 0


def profile(name, top=20):
    """cProfile of one warm run: the functions that take the time, by their own time."""
    import cProfile
    import pstats

    from twin import pipeline
    from twin.scenario import load_scenario

    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    pipeline.execute(scenario)
    profiler = cProfile.Profile()
    profiler.runcall(pipeline.execute, scenario)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    sys.exit(main())
