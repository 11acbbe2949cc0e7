"""A job trace on one hall's servers, closed loop with the physics (docs/model.md#job-traces).

The hall's servers (nodes) are numbered rack by rack in row order, so consecutive nodes share a rack and then
a row. A job holds whole servers (it gave nodes) or GPUs; whole-server jobs take the first run of consecutive
free servers that fits (else the lowest-numbered free ones), smaller jobs the fullest server with room.

Modes. replay: each job starts at its logged time on its logged servers (where given), later only if they
are still busy (reported); a job the log never started is not started. schedule: first come first served with EASY backfill (Lifka 1995; Mu'alem and
Feitelson 2001): the head of the queue gets a reservation at the earliest time enough GPUs free up by the
running jobs' time limits, and a later job may start now if it fits and either ends (by its limit) before
that time or leaves the reservation's GPUs free. Under carbon_aware or price_aware a deferrable job is held
until the forecast's best start within its deadline (twin/sim/scheduler.py best_start_s).

Closed loop. A job's racks' load (GPU and CPU utilisation) changes only when a job starts or ends (few events,
many steps). The kernel counts per rack the work its GPUs fall behind full speed (power limits, thermal
throttling: 1 - throughput factor, per second) and the seconds its servers are tripped or off. A job advances
at the pace of its slowest rack (bulk-synchronous work waits for its slowest node): at its planned end it
checks what it did and, if slowed, runs on for the rest. A job whose server trips or powers off is killed:
its work is lost, and it is queued again (at the head) up to requeue_limit times, then counted failed. The
scheduler looks for trips every watch_s seconds.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from twin.physics.columns import D_ACTIVITY, D_HOST, D_PRODUCTIVE, D_UTILIZATION, RUN_DEFICIT, RUN_TRIPPED
from twin.physics.units import U_SERVERS
from twin.sim.scheduler import best_start_s

DONE_TOLERANCE_S = 1e-6  # [M] a job within this of its work is done


@dataclass
class Job:
    k: int  # index in the JobTable
    gpus: int
    whole: bool
    wall_s: float
    limit_s: float
    gpu_util: float
    cpu_util: float  # nan: the hosts follow gpu_util
    ready_s: float = 0.0  # when it may start: submit, logged start (replay) or deferred start
    start_s: float = np.nan
    end_s: float = np.nan
    requeues: int = 0
    state: str = "waiting"
    alloc: list = field(default_factory=list)  # [(node, GPUs)]
    racks: np.ndarray = None
    marks: np.ndarray = None  # its racks' (deficit, tripped) seconds when it (re)started
    started_at: float = np.nan  # this stretch's start
    process: simpy.Process = None


class JobRunner:
    """One hall's job queue, its servers and the jobs running on them."""

    def __init__(self, env, spec, table, hall_racks, units, gpus_per_node, state, sync, forecast=None, step_s=60):
        """hall_racks: the hall's racks (indices into units' columns); state: the kernel's rack_load (written),
        rack_run and UnitState (read: racks off or tripped take no jobs); sync(t): advance the kernels to t; forecast: per step, the carbon or price series
        a deferring policy plans on (None: no deferral)."""
        rack_load, rack_run, self.unit_state = state
        self.env, self.spec, self.table, self.sync = env, spec, table, sync
        self.forecast_step_s = step_s
        self.gpn = gpus_per_node
        servers = units[U_SERVERS, hall_racks].astype(np.int64)
        self.node_rack = np.repeat(hall_racks, servers)
        self.free = np.full(self.node_rack.shape[0], gpus_per_node, dtype=np.int64)
        self.rack_servers = units[U_SERVERS].copy()
        self.rack_load, self.rack_run, self.forecast = rack_load, rack_run, forecast
        self.util_sum = np.zeros(units.shape[1])  # per rack: sum over its GPUs of their utilisation
        self.cpu_sum = np.zeros(units.shape[1])  # per rack: sum over its servers of their CPU utilisation
        self.queue, self.running = [], []
        self.jobs = [
            Job(
                k,
                int(table.gpus[k]),
                bool(table.whole_nodes[k]),
                float(table.wall_s[k]),
                float(max(table.limit_s[k], table.wall_s[k]) if spec.mode == "schedule" else table.limit_s[k]),
                float(table.gpu_util[k]),
                float(table.cpu_util[k]),
            )
            for k in range(table.ids.shape[0])
        ]
        self.lost_gpu_s = 0.0
        self.delayed = 0
        self.free_total = 0  # usable free GPUs during a dispatch

    # --- placement -------------------------------------------------------------------------------------
    def _usable(self):
        """Each server's free GPUs now, none on a rack that is off or tripped."""
        down = (self.unit_state.off + self.unit_state.tripped)[self.node_rack] > 0.0
        return np.where(down, 0, self.free)

    def _place(self, job, free):
        """Servers for the job ([(node, GPUs)]) among the free GPUs per server (free), or None if it does not
        fit."""
        if job.gpus > self.free_total:
            return None
        logged = self.table.nodes_logged[job.k] if self.spec.mode == "replay" else None
        if logged is not None:
            need = np.full(logged.shape[0], self.gpn) if job.whole else _spread(job.gpus, logged.shape[0], self.gpn)
            return list(zip(logged.tolist(), need.tolist())) if (free[logged] >= need).all() else None
        if job.whole or job.gpus >= self.gpn:
            n = -(-job.gpus // self.gpn)
            nodes = _first_run(free == self.gpn, n)
            return (
                None
                if nodes is None
                else [(int(v), self.gpn) for v in nodes[:-1]] + [(int(nodes[-1]), job.gpus - self.gpn * (n - 1))]
            )
        room = np.flatnonzero(free >= job.gpus)
        if room.size == 0:
            return None
        node = int(room[np.argmin(free[room])])  # the fullest server with room: whole servers stay free
        return [(node, job.gpus)]

    def _load(self, job, sign):
        """Add (sign 1) or take away (-1) the job's load on its racks, and set those racks' rack_load."""
        cpu = job.gpu_util if np.isnan(job.cpu_util) else job.cpu_util
        for node, gpus in job.alloc:
            r = self.node_rack[node]
            self.free[node] -= sign * gpus
            self.util_sum[r] += sign * gpus * job.gpu_util
            self.cpu_sum[r] += sign * gpus / self.gpn * cpu
        for r in job.racks:
            servers = self.rack_servers[r]
            util = max(self.util_sum[r], 0.0) / (servers * self.gpn)
            self.rack_load[D_UTILIZATION, r] = util
            self.rack_load[D_PRODUCTIVE, r] = util
            self.rack_load[D_ACTIVITY, r] = util * self.spec.activity_at_full_util
            self.rack_load[D_HOST, r] = max(self.cpu_sum[r], 0.0) / servers

    # --- events ----------------------------------------------------------------------------------------
    def submit(self, job):
        """Process: the job enters the queue when it may start."""
        table = self.table
        job.ready_s = float(table.submit_s[job.k])
        if self.spec.mode == "replay":
            if not np.isfinite(table.start_s[job.k]):  # it never started in the log: a replay does not start it
                job.state = "not started in log"
                return
            job.ready_s = float(table.start_s[job.k])
        elif self.forecast is not None and table.deferrable[job.k]:
            deadline = job.ready_s + self.spec.deadline_hours * 3600.0
            job.ready_s = best_start_s(job.ready_s, job.wall_s, deadline, self.forecast, self.forecast_step_s)
        yield self.env.timeout(max(job.ready_s - self.env.now, 0.0))
        self.queue.append(job)
        self.dispatch()

    def dispatch(self):
        """Start what may start now: replay in logged order as servers free; schedule FCFS with EASY backfill."""
        started = []
        free = self._usable()  # updated as jobs start: one pass over the servers per dispatch, not per job
        self.free_total = int(free.sum())
        if self.spec.mode == "replay":
            for job in self.queue:
                if self._try_start(job, free):
                    started.append(job)
        else:
            shadow_s, extra = np.inf, 0
            for n, job in enumerate(self.queue):
                if shadow_s == np.inf and len(started) == n:  # the head, or all before it started
                    if self._try_start(job, free):
                        started.append(job)
                        continue
                    shadow_s, extra = self._reservation(job)
                    continue
                ends_in_time = self.env.now + job.limit_s <= shadow_s
                if (ends_in_time or job.gpus <= extra) and self._try_start(job, free):
                    started.append(job)
                    extra -= 0 if ends_in_time else job.gpus
        for job in started:
            self.queue.remove(job)

    def _reservation(self, head):
        """EASY: the earliest time the head's GPUs are free by the running jobs' limits, and the GPUs to spare
        then."""
        free = self.free_total
        for end_s, gpus in sorted((j.started_at + j.limit_s, j.gpus) for j in self.running):
            free += gpus
            if free >= head.gpus:
                return end_s, free - head.gpus
        return np.inf, 0

    def _try_start(self, job, free):
        alloc = self._place(job, free)
        if alloc is None:
            return False
        for node, gpus in alloc:
            free[node] -= gpus
        self.free_total -= job.gpus
        self.sync(self.env.now)  # the steps before now ran at the old load
        job.alloc = alloc
        job.racks = np.unique(self.node_rack[[node for node, _ in alloc]])
        self._load(job, 1)
        job.marks = self.rack_run[[RUN_DEFICIT, RUN_TRIPPED]][:, job.racks].copy()
        job.started_at = self.env.now
        if np.isnan(job.start_s):
            job.start_s = self.env.now
            self.delayed += self.env.now > job.ready_s + DONE_TOLERANCE_S
        job.state = "running"
        self.running.append(job)
        job.process = self.env.process(self._run(job))
        return True

    def _run(self, job):
        """Process: the job's stretch, until its work is done (closed loop) or it is killed."""
        left_s = job.wall_s
        try:
            while left_s > DONE_TOLERANCE_S:
                yield self.env.timeout(left_s)
                self.sync(self.env.now)
                left_s = job.wall_s - self._progress_s(job)
        except simpy.Interrupt:
            self._stop(job)
            self.lost_gpu_s += job.gpus * (self.env.now - job.started_at)
            if job.requeues < self.spec.requeue_limit:
                job.requeues += 1
                job.state = "waiting"
                self.queue.insert(0, job)
            else:
                job.state = "failed"
                job.end_s = self.env.now
            self.dispatch()
            return
        self._stop(job)
        job.state = "completed"
        job.end_s = self.env.now
        self.dispatch()

    def _progress_s(self, job):
        """Work done in this stretch [s at full speed]: the time elapsed less its slowest rack's deficit."""
        behind = self.rack_run[RUN_DEFICIT, job.racks] - job.marks[0]
        return (self.env.now - job.started_at) - float(behind.max())

    def _stop(self, job):
        self.sync(self.env.now)
        self._load(job, -1)
        self.running.remove(job)

    def watch(self, end_s):
        """Process: every watch_s, kill the jobs whose servers tripped or powered off."""
        while self.env.now < end_s:
            yield self.env.timeout(min(self.spec.watch_s, end_s - self.env.now))
            self.sync(self.env.now)
            for job in list(self.running):
                if (self.rack_run[RUN_TRIPPED, job.racks] > job.marks[1]).any() and job.process.is_alive:
                    job.process.interrupt("server tripped")
            if self.queue:  # racks back in service take jobs again
                self.dispatch()


def _first_run(free, n):
    """The first n consecutive True entries of free (their indices), else the lowest n True ones, else None."""
    idx = np.flatnonzero(free)
    if idx.size < n:
        return None
    if n > 1:
        runs = np.flatnonzero(idx[n - 1 :] - idx[: idx.size - n + 1] == n - 1)
        if runs.size:
            return idx[runs[0] : runs[0] + n]
    return idx[:n]


def _spread(gpus, nodes, per_node):
    """GPUs per logged server of a job that holds gpus over nodes servers: filled in order."""
    return np.minimum(per_node, np.maximum(gpus - per_node * np.arange(nodes), 0))


def job_frame(runner):
    """One row per job of the trace submitted in the run: what the scheduler and the physics made of it."""
    t = runner.table
    rows = {
        "job_id": t.ids.astype(str),
        "submit_s": t.submit_s,
        "start_s": [j.start_s for j in runner.jobs],
        "end_s": [j.end_s for j in runner.jobs],
        "wait_s": [j.start_s - t.submit_s[j.k] for j in runner.jobs],
        "wall_time_s": t.wall_s,
        "gpus": t.gpus,
        "first_node": [j.alloc[0][0] if j.alloc else -1 for j in runner.jobs],
        "requeues": [j.requeues for j in runner.jobs],
        "state": [j.state for j in runner.jobs],
        "logged_end_state": t.end_state.astype(str),
    }
    frame = pd.DataFrame(rows)
    frame["slowdown"] = (frame["end_s"] - frame["start_s"]) / frame["wall_time_s"].where(frame["wall_time_s"] > 0)
    return frame


def summary(runner, frame, run_s):
    """The jobs block of summary.json, from the runner and its job_frame."""
    done = frame[frame["state"] == "completed"]
    started = frame[np.isfinite(frame["start_s"])]
    spec = runner.spec
    return {
        "source": runner.table.source,
        "mode": spec.mode,
        "policy": spec.policy,
        "jobs_in_run": int(len(frame)),
        "jobs_started": int(len(started)),
        "jobs_completed": int(len(done)),
        "jobs_running_at_end": int((frame["state"] == "running").sum()),
        "jobs_waiting_at_end": int((frame["state"] == "waiting").sum()),
        "jobs_failed": int((frame["state"] == "failed").sum()),
        "jobs_not_started_in_log": int((frame["state"] == "not started in log").sum()),
        "jobs_requeued": int((frame["requeues"] > 0).sum()),
        "jobs_started_late": int(runner.delayed),
        "makespan_h": float(done["end_s"].max() - frame["submit_s"].min()) / 3600.0 if len(done) else None,
        "mean_wait_h": float(started["wait_s"].mean()) / 3600.0 if len(started) else None,
        "mean_slowdown": float(done["slowdown"].mean()) if len(done) else None,
        "gpu_hours_lost": runner.lost_gpu_s / 3600.0,
        "longest_idle_gap_h": longest_gap_s(started["start_s"], started["end_s"].fillna(run_s), run_s) / 3600.0,
        "run_hours": run_s / 3600.0,
    }


def longest_gap_s(start_s, end_s, run_s):
    """The longest stretch of the run with no job running (a trace with gaps shows here)."""
    gap, covered = 0.0, 0.0
    for a, b in sorted(zip(start_s, end_s, strict=True)):
        gap = max(gap, a - covered)
        covered = max(covered, b)
    return max(gap, run_s - covered)
