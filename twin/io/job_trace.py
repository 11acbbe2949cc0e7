"""A job list (Slurm accounting, a RAPS job list, a public cluster trace) as CSV or Parquet: the fields twin reads,
their units, and the reader that refuses what it cannot use, naming the file, the line, the column and what is
allowed (docs/model.md#job-traces). twin/sim/jobs.py schedules what it reads.

Fields (a `columns` mapping renames the file's): id; submit_time, start_time (optional: as logged), wall_time
(run time at full speed), time_limit (optional; the scheduler's estimate, default wall_time): seconds from the
run's start (or minutes or hours; ISO 8601 times are taken relative to the run's 00:00 UTC); nodes (whole
servers) or gpus; gpu_util (fraction of the job's GPUs' peak activity, % or GPUs busy per node); cpu_util
(fraction, %, or CPUs busy per node; absent: the hosts follow the GPUs); end_state; scheduled_nodes (the
servers it ran on, 0-based, as a list); deferrable (true/false)."""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import InputError, clip, did_you_mean

JOB_FIELDS = (
    "id",
    "submit_time",
    "start_time",
    "wall_time",
    "time_limit",
    "nodes",
    "gpus",
    "cpu_util",
    "gpu_util",
    "end_state",
    "scheduled_nodes",
    "deferrable",
)
MAX_PROBLEMS = 10  # a file with many bad lines: this many are named, then a count
TIME_FIELDS = ("submit_time", "start_time", "wall_time", "time_limit")
UNIT_S = {"s": 1.0, "min": 60.0, "h": 3600.0}
_INTEGERS = re.compile(r"-?\d+")


class JobTraceError(InputError, ValueError):
    """A job trace that cannot be used, with the file, the line and column and what is allowed."""


@dataclass
class JobTable:
    """One job per entry, sorted by submit time; times in seconds from the run's start."""

    ids: np.ndarray  # str
    line: np.ndarray  # the job's line in the file (row for Parquet), for messages
    submit_s: np.ndarray
    start_s: np.ndarray  # as logged; nan: not given
    wall_s: np.ndarray
    limit_s: np.ndarray
    gpus: np.ndarray  # int: GPUs the job holds
    whole_nodes: np.ndarray  # bool: it asked for whole servers (all their GPUs)
    gpu_util: np.ndarray  # 0..1
    cpu_util: np.ndarray  # 0..1; nan: the hosts follow gpu_util
    end_state: np.ndarray  # str ('' where not given)
    nodes_logged: list  # per job: the servers it ran on (int array), or None
    deferrable: np.ndarray  # bool
    source: str


def _frame(path: Path, fmt: str):
    """The file's cells as strings, and each row's line in the file (the header is line 1; Parquet: row)."""
    try:
        if fmt == "parquet" or (fmt == "raps" and path.suffix == ".parquet"):
            frame = pd.read_parquet(path)
            return frame.astype(str).where(frame.notna(), ""), np.arange(1, len(frame) + 1), "row"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if fmt == "parquet" else "CSV"
        raise JobTraceError(f"{path}: not a readable {kind} job list ({clip(str(exc).splitlines()[0], 200)})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    line = np.arange(2, len(frame) + 2)
    blank = (frame.apply(lambda col: col.str.strip()) == "").all(axis=1).to_numpy()
    return frame[~blank].reset_index(drop=True), line[~blank], "line"


def _columns(path, frame, mapping):
    """twin's field -> the file's column, for the fields the file has; missing required ones refused."""
    found = {field: mapping.get(field, field) for field in JOB_FIELDS}  # RAPS names its columns as twin does
    have = {f: c for f, c in found.items() if c in frame.columns}
    missing = [found[f] for f in ("id", "submit_time", "wall_time") if f not in have]
    if "nodes" not in have and "gpus" not in have:
        missing.append(f"{found['nodes']} or {found['gpus']}")
    if missing:
        hints = "".join(did_you_mean(m, frame.columns) for m in missing)
        raise JobTraceError(
            f"{path}: missing column(s) {', '.join(missing)}{hints}; required: id, submit_time, wall_time, nodes or "
            f"gpus (rename others with workload.jobs.columns); columns found: {', '.join(map(str, frame.columns))}"
        )
    return have


class _Problems:
    def __init__(self, path, where):
        self.path, self.where, self.items, self.count = path, where, [], 0

    def add(self, line, column, text):
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(f"{self.path}: {self.where} {line}: column '{column}' {text}")

    def raise_any(self):
        if self.count:
            more = [f"... and {self.count - len(self.items)} more"] if self.count > len(self.items) else []
            raise JobTraceError(self.items + more)


def _numbers(frame, column, line, problems, required, origin_s=None, unit=1.0):
    """A column's numbers times unit; with origin_s (Unix seconds) a column of ISO 8601 times is read as seconds
    after it (no unit: times are positions, not durations)."""
    cells = frame[column].str.strip()
    values = pd.to_numeric(cells, errors="coerce").to_numpy(float) * unit
    if origin_s is not None and np.isnan(values).all() and (cells != "").any():
        stamps = pd.to_datetime(cells, format="ISO8601", utc=True, errors="coerce")
        since = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)
        values = since - origin_s
    for k in np.flatnonzero(np.isnan(values)):
        cell = cells.iloc[k]
        if cell.lower() in ("", "nan", "na", "n/a", "null", "none"):
            if required:
                problems.add(line[k], column, "is empty; every job needs it")
        else:
            problems.add(line[k], column, f"= {clip(cell)!r} is not a number")
    return values


def _check(values, lo, hi, line, column, problems, allowed):
    bad = ~np.isnan(values) & ~((values >= lo) & (values <= hi))
    for k in np.flatnonzero(bad):
        problems.add(line[k], column, f"= {values[k]:g} is outside {allowed}")


def _node_lists(frame, column, line, problems):
    out = []
    for k, cell in enumerate(frame[column].str.strip()):
        if cell in ("", "[]", "nan", "None"):
            out.append(None)
            continue
        if not re.fullmatch(r"[\[\]\d\s,;]+", cell):
            problems.add(line[k], column, f"= {clip(cell)!r} is not a list of server numbers (e.g. '[0, 1, 2]')")
            out.append(None)
            continue
        out.append(np.array([int(v) for v in _INTEGERS.findall(cell)], dtype=np.int64))
    return out


def read_job_trace(spec, gpus_per_node: int, servers: int, origin_s: float, run_s: float) -> JobTable:
    """The jobs of workload.jobs (spec) for a hall of `servers` servers of `gpus_per_node` GPUs, sorted by submit
    time. origin_s: the run's start (Unix seconds) for ISO times; jobs submitted at or after run_s are dropped.
    Anything the scheduler could not place is refused with JobTraceError."""
    path = Path(spec.file)
    frame, line, where = _frame(path, spec.format)
    if len(frame) == 0:
        raise JobTraceError(f"{path}: no jobs (a header and at least one job line are needed)")
    cols = _columns(path, frame, spec.columns)
    problems = _Problems(path, where)
    unit = UNIT_S[spec.time_unit]
    times = {
        f: _numbers(frame, cols[f], line, problems, f in ("submit_time", "wall_time"), origin_s, unit)
        for f in TIME_FIELDS
        if f in cols
    }
    submit, wall = times["submit_time"], times["wall_time"]
    start = times.get("start_time", np.full(len(frame), np.nan))
    limit = times.get("time_limit", np.full(len(frame), np.nan))
    limit = np.where(np.isnan(limit), wall, limit)
    _check(wall, 0.0, 10 * 365 * 86400.0, line, cols["wall_time"], problems, "0..10 years (a job runs a while)")
    _check(limit, 0.0, 10 * 365 * 86400.0, line, cols.get("time_limit", "wall_time"), problems, "0..10 years")
    early = np.flatnonzero(start < submit)
    for k in early:
        problems.add(line[k], cols["start_time"], f"= {start[k]:g} s is before the job's submit time {submit[k]:g} s")
    gpus, whole = _sizes(frame, cols, line, problems, gpus_per_node, servers)
    gpu_unit = "gpus_per_node" if spec.format == "raps" else spec.gpu_util_unit
    gpu_util = _util(frame, cols, "gpu_util", line, problems, gpu_unit, gpus_per_node, 1.0)
    cpu_unit = "cpus_per_node" if spec.format == "raps" else "fraction"
    cpu_util = _util(frame, cols, "cpu_util", line, problems, cpu_unit, spec.cpus_per_node, np.nan)
    ids = frame[cols["id"]].str.strip().to_numpy(dtype=object)
    for k in np.flatnonzero(ids == ""):
        problems.add(line[k], cols["id"], "is empty; every job has an id")
    repeated = pd.Series(ids).duplicated(keep="first").to_numpy() & (ids != "")
    for k in np.flatnonzero(repeated):
        problems.add(line[k], cols["id"], f"= {clip(ids[k])!r} is the id of an earlier job; ids are unique")
    logged = _node_lists(frame, cols["scheduled_nodes"], line, problems) if "scheduled_nodes" in cols else None
    if logged is not None:
        _check_logged(logged, gpus, whole, gpus_per_node, servers, line, cols["scheduled_nodes"], problems)
    deferrable = np.zeros(len(frame), dtype=bool)
    if "deferrable" in cols:
        cells = frame[cols["deferrable"]].str.strip().str.lower()
        deferrable = cells.isin(("true", "1", "yes")).to_numpy()
        for k in np.flatnonzero(~cells.isin(("true", "1", "yes", "false", "0", "no", ""))):
            problems.add(line[k], cols["deferrable"], f"= {clip(cells.iloc[k])!r}; allowed: true, false")
    problems.raise_any()
    end_state = frame[cols["end_state"]].str.strip().to_numpy(dtype=object) if "end_state" in cols else None
    keep = np.flatnonzero(submit < run_s)
    order = keep[np.argsort(submit[keep], kind="stable")]
    return JobTable(
        ids[order],
        line[order],
        submit[order],
        start[order],
        wall[order],
        limit[order],
        gpus[order],
        whole[order],
        gpu_util[order],
        cpu_util[order],
        (end_state if end_state is not None else np.full(len(frame), "", dtype=object))[order],
        [logged[k] for k in order] if logged is not None else [None] * len(order),
        deferrable[order],
        str(path),
    )


def _sizes(frame, cols, line, problems, gpus_per_node, servers):
    """Each job's GPUs, and whether it holds whole servers (it gave nodes)."""
    n = len(frame)
    if "nodes" in cols:
        nodes = _numbers(frame, cols["nodes"], line, problems, "gpus" not in cols)
    else:
        nodes = np.full(n, np.nan)
    gpus = _numbers(frame, cols["gpus"], line, problems, "nodes" not in cols) if "gpus" in cols else np.full(n, np.nan)
    whole = ~np.isnan(nodes)
    total = np.where(whole, nodes * gpus_per_node, gpus)
    column = np.where(whole, cols.get("nodes", ""), cols.get("gpus", ""))
    machine = servers * gpus_per_node
    for k in np.flatnonzero(~np.isnan(total)):
        what = "nodes" if whole[k] else "GPUs"
        count = nodes[k] if whole[k] else gpus[k]
        if count != np.floor(count) or count < 1:
            problems.add(line[k], column[k], f"= {count:g} is not a whole number of {what} (1 or more)")
        elif total[k] > machine:
            most = servers if whole[k] else machine
            problems.add(line[k], column[k], f"= {count:g} {what}: the hall has {most:g} (allowed 1..{most:g})")
    return np.nan_to_num(total).astype(np.int64), whole


def _util(frame, cols, field, line, problems, unit, per_node, default):
    """A utilisation column as a fraction 0..1 (default where the file has no such column)."""
    if field not in cols:
        return np.full(len(frame), default)
    values = _numbers(frame, cols[field], line, problems, False)
    top, scale, allowed = {
        "fraction": (1.0, 1.0, "0..1 (a fraction; set gpu_util_unit: percent for %)"),
        "percent": (100.0, 0.01, "0..100 %"),
        "cpus_per_node": (per_node, 1.0 / per_node, f"0..{per_node} (busy per node)"),
        "gpus_per_node": (per_node, 1.0 / per_node, f"0..{per_node} GPUs per node"),
    }[unit]
    _check(values, 0.0, top, line, cols[field], problems, allowed)
    return np.where(np.isnan(values), default, values * scale)


def _check_logged(logged, gpus, whole, gpus_per_node, servers, line, column, problems):
    """Logged servers exist in the hall and are as many as the job asked for."""
    for k, nodes in enumerate(logged):
        if nodes is None:
            continue
        if nodes.size and (nodes.min() < 0 or nodes.max() >= servers):
            bad = nodes[(nodes < 0) | (nodes >= servers)][0]
            problems.add(line[k], column, f"names server {bad}; the hall's are 0..{servers - 1}")
        elif np.unique(nodes).size != nodes.size:
            problems.add(line[k], column, "names a server twice")
        elif whole[k] and nodes.size * gpus_per_node != gpus[k]:
            problems.add(line[k], column, f"names {nodes.size} servers; the job asks for {gpus[k] // gpus_per_node}")
        elif not whole[k] and nodes.size * gpus_per_node < gpus[k]:
            problems.add(line[k], column, f"names {nodes.size} servers, too few for the job's {gpus[k]} GPUs")
