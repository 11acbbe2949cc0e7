"""Sweeps: one base scenario, the axes to vary, every variant run once, on this machine's cores or on
a Dask distributed cluster.

A sweep file:

    base: quickstart.yaml                      # the scenario every variant starts from (relative to this file)
    name: cooling-by-site                      # default: the file's stem
    set: {duration: 30d}                       # fields set in every variant (optional)
    mode: grid                                 # grid: every combination (default); zip: the i-th of each axis
    axes:                                      # any scenario field by dotted path; list index as a number
      site.name: [ashburn-va, phoenix-az]
      facility.cooling.type: [air, direct_to_chip]
      workload.inference.peak_demand_fraction: {from: 0.5, to: 0.9, step: 0.2}   # inclusive range
      seed: {from: 1, to: 4}                                                     # step 1

Every variant is checked before any runs (a bad value exits 2 naming the variant, the field and what
is allowed). Its identity is a hash of its field values, so a sweep restarted with the same file skips
what is done; each finished variant is written atomically as its own partition of the parquet dataset
`<out>/variants/variant_id=<id>/` by the process that submitted it, so a killed sweep loses at most the
variants still running, and workers need no shared disk. Runs are deterministic (each variant's seed is
its scenario's), so a variant's numbers are the same serially, on a process pool or on a cluster.
"""

import copy
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from twin import yaml_input
from twin.compare import CONTRIBUTIONS, KPIS, TOTALS
from twin.errors import InputError
from twin.outputs import MARKER, marker_text
from twin.parallel import run_tasks
from twin.pipeline import execute, reference_components
from twin.scenario import ScenarioError, load_scenario_text

# Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536 (distributed.nanny.pre-spawn-environ);
# glibc then maps and unmaps every large numpy array, which costs a variant about 35 % (0.93 s against
# 0.69 s for a year of the 10 MW hall at 60 s, measured): twin's clusters leave it unset (README). Nor do
# they run the workers' statistical profiler, which samples the task's stack every 10 ms, and their
# monitors sample less often: each sample takes the GIL from the variant running beside it.
CLUSTER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "500ms",
}
CONNECT_TIMEOUT = "10s"  # [M] reaching a Dask scheduler takes well under a second when it is there
MAX_VARIANTS = 100_000  # [M] a guard against a range with a step of the wrong size


class SweepError(InputError, ValueError):
    """A sweep file that cannot be run, with every problem (file, field, what is allowed)."""


@dataclass
class Variant:
    variant_id: str
    index: int
    values: dict  # dotted path -> value
    scenario: object


@dataclass
class Sweep:
    name: str
    base: Path
    axes: dict  # dotted path -> list of values
    variants: list
    reference: object = None  # SAIQ reference components shared by all variants (None: each its own)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _values(path, field, spec):
    """An axis' values: a list (numbers all floats if any is), or {from, to[, step]} (inclusive)."""
    if isinstance(spec, list) and spec:
        if all(_number(v) for v in spec) and any(isinstance(v, float) for v in spec):
            return [float(v) for v in spec]  # one parquet type per axis column
        return spec
    if isinstance(spec, dict) and {"from", "to"} <= set(spec) <= {"from", "to", "step"}:
        start, stop, step = spec["from"], spec["to"], spec.get("step", 1)
        numbers = all(_number(v) and math.isfinite(v) for v in (start, stop, step))
        if not numbers or step <= 0 or stop < start:
            raise SweepError([f"{path}: axes.{field}: from <= to and step > 0, numbers"])
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > MAX_VARIANTS:
            raise SweepError([f"{path}: axes.{field}: {count} values (at most {MAX_VARIANTS})"])
        values = [start + k * step for k in range(count)]
        return (
            [int(v) for v in values]
            if all(isinstance(v, int) for v in (start, step))
            else [float(f"{v:.12g}") for v in values]
        )  # 0.1 + 2 x 0.2 is 0.5, at any scale
    raise SweepError([f"{path}: axes.{field}: give a non-empty list of values or {{from, to, step}}"])


def _set(data, dotted, value, where):
    """Set a dotted path (list items by index) in a nested scenario dict, creating mappings as needed."""
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise SweepError([f"{where}: '{dotted}': '{key}' is not an item of a list of {len(node)}"])
            node = node[int(key)]
        else:
            node = node.setdefault(key, {})
        if not isinstance(node, (dict, list)):
            raise SweepError([f"{where}: '{dotted}': '{key}' holds a value, not fields"])
    last = keys[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise SweepError([f"{where}: '{dotted}': '{last}' is not an item of a list of {len(node)}"])
        node[int(last)] = value
    else:
        node[last] = value


def variant_id(scenario, reference):
    """A variant's identity: a hash of its whole resolved scenario and the SAIQ reference it is scored
    against, so a restart reuses a result only for exactly the run that made it ('v' keeps the id a string
    when it is read back as a partition name)."""
    text = scenario.model_dump_json() + json.dumps(reference, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode())
    for path in scenario.input_files():  # an edited weather or grid file makes another run
        digest.update(Path(path).read_bytes())
    return "v" + digest.hexdigest()[:15]


def load_sweep(path):
    """Read and check a sweep file and every variant's scenario; SweepError lists every problem."""
    path = Path(path)
    try:
        doc = yaml_input.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError([f"{path}: sweep file not found"]) from None
    except yaml.MarkedYAMLError as exc:
        raise SweepError([f"{path}:{yaml_input.problem_line(exc)}"]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise SweepError([f"{path}: not a readable sweep YAML ({exc})"]) from None
    if not isinstance(doc, dict):
        raise SweepError([f"{path}: a sweep is a mapping with base, axes and optionally name, set, mode"])
    unknown = set(doc) - {"base", "name", "set", "mode", "axes"}
    if unknown:
        raise SweepError(
            [f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: base, name, set, mode, axes"]
        )
    if not isinstance(doc.get("base"), str):
        raise SweepError([f"{path}: base: the scenario file every variant starts from, e.g. base: quickstart.yaml"])
    base = (path.parent / doc["base"]).resolve()
    try:
        base_data = yaml_input.load(base.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        raise SweepError([f"{path}: base: {base}:{yaml_input.problem_line(exc)}"]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise SweepError([f"{path}: base: cannot read scenario {base} ({exc})"]) from None
    if not isinstance(base_data, dict):
        raise SweepError([f"{path}: base: {base} is not a scenario (a YAML mapping of name, start, site, ...)"])
    name = str(doc.get("name") or path.stem)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise SweepError([f"{path}: name = {name!r}: letters, digits, '.', '_' and '-' (it names the results folder)"])
    mode = doc.get("mode", "grid")
    if mode not in ("grid", "zip"):
        raise SweepError([f"{path}: mode = {mode!r}; allowed: grid, zip"])
    axes_doc = doc.get("axes")
    if not isinstance(axes_doc, dict) or not axes_doc:
        raise SweepError([f"{path}: axes: a mapping of dotted scenario fields to their values"])
    axes = {str(field): _values(path, field, spec) for field, spec in axes_doc.items()}
    if mode == "zip" and len({len(v) for v in axes.values()}) > 1:
        raise SweepError(
            [
                f"{path}: mode zip: every axis needs the same number of values "
                f"({', '.join(f'{k}: {len(v)}' for k, v in axes.items())})"
            ]
        )
    combos = zip(*axes.values()) if mode == "zip" else itertools.product(*axes.values())
    fixed = doc.get("set") or {}
    if not isinstance(fixed, dict):
        raise SweepError([f"{path}: set: a mapping of dotted scenario fields to the value every variant takes"])
    variants, problems = [], {}  # problem (without the variant) -> the variants that have it
    for index, combo in enumerate(combos):
        if index >= MAX_VARIANTS:
            raise SweepError([f"{path}: more than {MAX_VARIANTS} variants"])
        values = dict(zip(axes, combo))
        data = copy.deepcopy(base_data)
        where = f"{path}: variant {index} ({', '.join(f'{k}={v}' for k, v in values.items())})"
        try:
            for field, value in {**fixed, **values}.items():
                _set(data, str(field), value, where)
            scenario = load_scenario_text(yaml.safe_dump(data), source=where, base_dir=base.parent)
        except (SweepError, ScenarioError) as exc:  # line numbers are of the generated variant, not a user's file
            for problem in exc.problems:
                problems.setdefault(re.sub(rf"^{re.escape(where)}(:\d+)?:\s*", "", problem), []).append(
                    f"{index} ({', '.join(f'{k}={v}' for k, v in values.items())})"
                )
            continue
        variants.append(Variant("", index, values, scenario))
    seen = {}
    for variant in variants:
        key = json.dumps(variant.values, sort_keys=True, default=str)
        if key in seen:
            problems.setdefault(f"the same values as variant {seen[key]}: an axis repeats a value", []).append(
                str(variant.index)
            )
        seen.setdefault(key, variant.index)
    if problems:
        raise SweepError(
            [
                f"{path}: variant {found[0]}"
                + (f" and {len(found) - 1} more" if len(found) > 1 else "")
                + f": {problem}"
                for problem, found in problems.items()
            ]
        )
    sweep = Sweep(name, base, axes, variants)
    if not any(field.startswith("saiq") for field in axes):  # one reference for all, as compare does
        sweep.reference = reference_components(variants[0].scenario)
    for variant in variants:
        variant.variant_id = variant_id(variant.scenario, sweep.reference)
    return sweep


def run_variant(scenario, reference):
    """Worker: the result row of one variant (SAIQ, its components and contributions, KPIs, totals)."""
    started = time.perf_counter()
    _, summary = execute(scenario, reference=reference)
    s, t, k = summary["saiq"], summary["totals"], summary["kpi"]
    ref = s["reference"]
    row = {"saiq_index": s["index"] if s["index"] is not None else math.nan, "saiq_raw": s["raw"]}
    for i, (component, column) in enumerate(CONTRIBUTIONS.items(), start=1):
        row[column] = s["weights"][f"w{i}"] * s["components"][component] / (ref[component] if ref else 1.0)
    row.update({key: k[key] for key in KPIS})
    row.update({key: t[key] for key in TOTALS})
    row["wall_s"] = time.perf_counter() - started
    return row


def partition_dir(out_dir, vid):
    return Path(out_dir) / "variants" / f"variant_id={vid}"


def done_ids(out_dir):
    """Variants whose partition is complete (a partition appears whole or not at all)."""
    folder = Path(out_dir) / "variants"
    if not folder.is_dir():
        return set()
    return {
        p.name.split("=", 1)[1]
        for p in folder.iterdir()
        if p.is_dir() and p.name.startswith("variant_id=") and (p / "part-0.parquet").is_file()
    }


def write_partition(out_dir, variant, row):
    """One variant's row as its own partition, atomically: written beside, then renamed into place."""
    final = partition_dir(out_dir, variant.variant_id)
    tmp = final.parent / f".tmp-{variant.variant_id}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    record = {"index": variant.index, **{f"axis:{k}": _cell(v) for k, v in variant.values.items()}, **row}
    part = tmp / "part-0.parquet"
    pd.DataFrame([record]).to_parquet(part, index=False)
    _fsync(part)  # on disk before it is renamed into place: a power cut leaves no truncated partition
    _fsync(tmp)
    try:
        os.replace(tmp, final)
    except OSError:
        if not final.exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # finished twice: the first result stands
    _fsync(final.parent)


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cell(value):
    """Axis values as parquet-friendly scalars (lists and mappings as JSON text)."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def read_results(out_dir, sweep=None):
    """Every finished variant (of this sweep only, when given; a folder may hold an earlier sweep's
    variants too), one row each, in variant order."""
    ids = done_ids(out_dir)
    if sweep is not None:
        ids &= {v.variant_id for v in sweep.variants}
    if not ids:
        return pd.DataFrame()
    frames = [
        pd.read_parquet(partition_dir(out_dir, vid) / "part-0.parquet").assign(variant_id=vid) for vid in sorted(ids)
    ]
    return pd.concat(frames, ignore_index=True).sort_values("index").reset_index(drop=True)


class SweepFailed(RuntimeError):
    """Variants that raised while running; every other variant's result was written."""

    def __init__(self, failures):
        super().__init__("\n".join(f"variant {v.index} ({v.values}): {exc!r}" for v, exc in failures))
        self.failures = failures


def run(sweep, out_dir, workers=None, cluster=None, on_done=None):
    """Run every variant not yet done; returns the table of all of them. workers: local processes
    (default: all cores); cluster: a Dask scheduler address (tcp://host:8786) or a distributed Client.
    One run per folder at a time (a lock); a variant that raises does not stop the others, whose
    results are written, and SweepFailed names it at the end."""
    out_dir = Path(out_dir)
    client = None
    if cluster is not None:  # reach the scheduler before anything is written
        try:
            from distributed import Client
        except ImportError:
            raise SweepError(["--cluster needs Dask distributed: pip install 'twin[cluster]'"]) from None
        client = cluster if isinstance(cluster, Client) else Client(cluster, timeout=CONNECT_TIMEOUT)
    try:
        (out_dir / "variants").mkdir(parents=True, exist_ok=True)
        if not (out_dir / MARKER).exists():
            (out_dir / MARKER).write_text(marker_text("sweep"))
        with _locked(out_dir):
            for stale in (out_dir / "variants").glob(".tmp-*"):  # left by a killed run: never a finished variant
                shutil.rmtree(stale, ignore_errors=True)
            done = done_ids(out_dir)
            todo = [v for v in sweep.variants if v.variant_id not in done]
            state = {"finished": len(sweep.variants) - len(todo), "failures": []}
            if on_done:
                on_done(state["finished"], len(sweep.variants))

            def finish(variant, outcome):
                row, error = outcome
                if error is not None:
                    state["failures"].append((variant, error))
                    return
                write_partition(out_dir, variant, row)
                state["finished"] += 1
                if on_done:
                    on_done(state["finished"], len(sweep.variants))

            if todo and client is not None:
                _run_dask(todo, sweep.reference, client, finish)
            elif todo:
                _run_local(todo, sweep.reference, workers, finish)
    finally:
        if client is not None and client is not cluster:
            client.close()
    if state["failures"]:
        raise SweepFailed(state["failures"])
    return read_results(out_dir, sweep)


def _run_local(todo, reference, workers, finish):
    run_tasks(
        run_variant,
        [(v, (v.scenario, reference)) for v in todo],
        workers,
        lambda variant, row, error: finish(variant, (row, error)),
    )


@contextmanager
def _locked(out_dir):
    """One sweep run per results folder: a second one is refused rather than racing the first."""
    import fcntl

    with open(Path(out_dir) / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SweepError([f"{out_dir}: another twin sweep is running on this folder"]) from None
        yield


def local_cluster(n_workers):
    """A Dask LocalCluster of n_workers single-threaded worker processes, set up for twin's variants."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(CLUSTER_CONFIG):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)


def _run_dask(todo, reference, client, finish):
    from distributed import as_completed as dask_completed

    futures = {}
    for variant in todo:  # pure=False: a variant is run, never answered from another client's cache
        futures[
            client.submit(
                run_variant,
                variant.scenario,
                reference,
                pure=False,
                key=f"twin-variant-{variant.variant_id}-{os.getpid()}",
            )
        ] = variant
    try:
        for future in dask_completed(futures):
            finish(futures[future], _outcome(future))
    except BaseException:
        client.cancel(list(futures))  # Ctrl-C or a failed write: the cluster stops this sweep's variants
        raise


def _outcome(future):
    try:
        return future.result(), None
    except Exception as exc:  # the variant's own failure: reported with it, the others go on
        return None, exc


def summary_document(sweep, table, key):
    """sweep.json: the sweep, and its variants ranked best first (table, key: from ranked)."""
    return {
        "sweep": sweep.name,
        "base": str(sweep.base),
        "axes": sweep.axes,
        "variants": len(sweep.variants),
        "ranked_by": key,
        "reference_components": sweep.reference,
        "rows": json.loads(table.replace({np.nan: None}).to_json(orient="records")),
    }
