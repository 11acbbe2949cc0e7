"""A run's peak memory, estimated before it starts, and the refusal of one this machine cannot hold.

A run keeps every step in memory (the ledger, the per-step frame with its accounting columns, the
drivers per hall, the per-rack series) and writes the results at the end, so its peak grows linearly
with steps. The coefficients are measured peak resident set sizes (/usr/bin/time -v) of
`python -m twin run` on the quickstart design; see benchmarks/memory.py, which re-measures them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from twin.errors import InputError

if TYPE_CHECKING:  # annotations only: memory sits below the scenario's layer
    from twin.scenario import Scenario

# [M] measured with benchmarks/memory.py (Linux x86-64, Python 3.11, numpy 2, pandas 2, 2026-12): peak RSS of
# a 7-day run at 60 s 382 MB, 28 d at 10 s 575 MB, 56 d at 10 s 767 MB, 112 d at 10 s 1,064 MB (614-796
# bytes per step between them); four halls instead of one +32 MB over 241,920 steps; rack series per
# step +58 MB over as many rows. The coefficients round each figure up.
BASE_BYTES = 380e6  # the interpreter, numpy, pandas, numba and the compiled kernels
BYTES_PER_STEP = 800.0  # per step of a one-hall run with hourly rack series
BYTES_PER_HALL_STEP = 50.0  # per step and further hall (drivers, per-hall series)
BYTES_PER_RACK_ROW = 360.0  # per row of racks.parquet (period x rack: 16 columns) kept in memory and written:
# 354 bytes measured (benchmarks/memory.py, 1,000 racks hourly over 60 d at 300 s: 907 MB against 397 MB
# without rack series, 1.44 million rows)
USABLE_SHARE = 0.8  # refuse above this share of the memory available now: the OS and the
# page cache need the rest, and the estimate is not exact


def estimate_peak_bytes(scenario: Scenario) -> float:
    """Estimated peak resident memory of one run of `scenario` (and its SAIQ reference run, which is
    smaller or alike and runs first) in bytes."""
    steps = scenario.n_steps
    halls = len(scenario.facility.halls)
    racks = sum(h.rack_count for h in scenario.facility.halls)
    period_steps = {
        "hourly": max(1, 3600 // scenario.step_s),
        "daily": max(1, 86400 // scenario.step_s),
        "step": 1,
    }.get(scenario.results.rack_series)
    rack_rows = 0 if period_steps is None else -(-steps // period_steps) * racks
    groups = scenario.facility.power_chain.ups.groups
    ups_group_bytes = 8.0 * groups if groups > 1 else 0.0  # each group's cap per step (engine, drivers)
    per_step = BYTES_PER_STEP + BYTES_PER_HALL_STEP * (halls - 1) + ups_group_bytes
    return BASE_BYTES + steps * per_step + rack_rows * BYTES_PER_RACK_ROW


def _meminfo_kib(path, key):
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room():
    """Room left under this container's cgroup v2 memory limit, or None where there is none."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def _rlimit_room():
    """Room left under this process's address-space limit (ulimit -v), counted as resident memory, or None."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, ValueError, OSError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    size = _meminfo_kib("/proc/self/status", "VmSize:") or 0
    resident = _meminfo_kib("/proc/self/status", "VmRSS:") or 0
    return max(0, soft - size + resident)


def available_bytes() -> int | None:
    """Memory a run may use now: the least of the machine's available memory (Linux MemAvailable, else
    physical memory), the room under a container's memory limit and under the process's own limit; None
    where none of them can be read."""
    machine = _meminfo_kib("/proc/meminfo", "MemAvailable:")
    if machine is None:
        try:
            machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            machine = None
    known = [v for v in (machine, _cgroup_room(), _rlimit_room()) if v is not None]
    return min(known) if known else None


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB"


def check_fits(scenario: Scenario, source: object, parallel: int = 1, available: int | None = None) -> None:
    """InputError with the estimate and the ways out when `parallel` runs of the scenario side by side
    would need more than USABLE_SHARE of the memory available."""
    available = available_bytes() if available is None else available
    need = estimate_peak_bytes(scenario) * parallel
    if available is None or need <= USABLE_SHARE * available:
        return
    side = f" ({parallel} runs side by side)" if parallel > 1 else ""
    fixes = ["a coarser step (e.g. step: 60s)", "a shorter duration"]
    if scenario.results.rack_series == "step":
        fixes.insert(0, "results: {rack_series: hourly} or none")
    if parallel > 1:
        fixes.append("fewer --workers")
    raise InputError(
        f"{source}: duration {scenario.duration} at step {scenario.step}: {scenario.n_steps:,} steps need an estimated "
        f"{gib(need)} of memory{side}, more than this machine has available ({gib(available)}, of "
        f"which twin uses at most {USABLE_SHARE:.0%}); use {', '.join(fixes)}"
    )
