"""Speed of one run: the quickstart end to end and the facility kernel alone.

    python benchmarks/quickstart.py [--repeat N]

Prints wall time of the whole run (site load, demand, kernel, ledger frame), of the kernel
alone, and simulated steps and rack-steps per second. Not a timed test: numbers, not asserts.
Issue 7 grows this into benchmarks/run.py with the 100 MW year and ceiling ratios.
"""

import argparse
import time
from pathlib import Path

from twin.scenario import load_scenario
from twin.sim.engine import Simulation

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions after one warm-up (default 5)")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "quickstart.yaml")
    racks = sum(h.rack_count for h in scenario.facility.halls)

    t0 = time.perf_counter()
    Simulation(scenario).run()
    first_s = time.perf_counter() - t0

    whole, kernel = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        sim = Simulation(scenario)
        t1 = time.perf_counter()
        sim.run()
        t2 = time.perf_counter()
        sim.ledger.to_frame()
        t3 = time.perf_counter()
        whole.append(t3 - t0)
        kernel.append(t2 - t1)
    best_whole, best_kernel = min(whole), min(kernel)
    steps = scenario.n_steps
    print(f"quickstart: {steps:,} steps x {racks} racks, first run (numba cache load or compile) {first_s:.3f} s")
    print(f"  whole run  best of {args.repeat}: {best_whole * 1e3:8.1f} ms  {steps / best_whole:12,.0f} steps/s  "
          f"{steps * racks / best_whole:14,.0f} rack-steps/s")
    print(f"  kernel+simpy best of {args.repeat}: {best_kernel * 1e3:6.1f} ms  {steps / best_kernel:12,.0f} steps/s  "
          f"{steps * racks / best_kernel:14,.0f} rack-steps/s")


if __name__ == "__main__":
    main()
