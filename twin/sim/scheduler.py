"""Training jobs and GPU failures as simpy processes, turned into per-step GPU shares for the kernels.

Jobs arrive as a Poisson process (rate arrivals_per_day), each asking for a size drawn uniformly
from job_gpus and an amount of work (GPU-seconds) whose run time at full speed is exponential
with mean job_hours_mean. The queue has two priorities: jobs that cannot wait ahead of deferrable
ones, first come first served within each. The scheduler starts queued jobs in that order, letting
a later job start when it fits and the head does not (backfill). With policy carbon_aware or
price_aware, a deferrable job is held back at arrival until the start hour that minimises the
forecast mean carbon intensity (or price) over its expected run, among the hours that still meet
its deadline; the forecast is the site's series times lognormal hourly noise, so the scheduler
is not clairvoyant.

A running job's GPUs fail as a Poisson process (rate gpu_failures_per_gpu_day per GPU). A
failure stops the job: its work since the last checkpoint is lost (GPU time spent, no tokens),
the failed GPU goes to repair for gpu_repair_hours, and the job rejoins the head of the queue
after restart_min. Inference halls lose GPUs to failures too, each for the repair time.

Everything here happens between steps as events (few events, many steps): the result is, per
step, the busy, lost and unavailable GPU-seconds, which the kernels integrate.
"""

from dataclasses import dataclass, field

import numpy as np
import simpy


@dataclass
class Job:
    index: int
    arrival_s: float
    gpus: int
    work_gpu_s: float
    deferrable: bool
    deadline_s: float
    done_gpu_s: float = 0.0
    planned_start_s: float = 0.0
    start_s: float = np.nan
    end_s: float = np.nan
    failures: int = 0


@dataclass
class Schedule:
    """Per step GPU-seconds of the training hall (busy, lost) and of every hall in repair."""

    busy_gpu_s: np.ndarray
    lost_gpu_s: np.ndarray
    repair_gpu_s: np.ndarray  # (steps, halls)
    jobs: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # per hall: failure count


def add_interval(out, t0, t1, count, step_s):
    """Add count x overlap [s] of the interval [t0, t1) to each step of out (per-step sums)."""
    n = out.shape[0]
    t1 = min(t1, n * step_s)
    if t1 <= t0:
        return
    i0, i1 = int(t0 // step_s), int(t1 // step_s)
    if i0 == i1:
        out[i0] += count * (t1 - t0)
        return
    out[i0] += count * ((i0 + 1) * step_s - t0)
    out[i0 + 1 : i1] += count * step_s
    if i1 < n:
        out[i1] += count * (t1 - i1 * step_s)


def window_means(values, width):
    """Mean of values[k:k+width] for every k (width >= 1; the tail windows are shorter)."""
    csum = np.concatenate([[0.0], np.cumsum(values)])
    k = np.arange(values.shape[0])
    end = np.minimum(k + width, values.shape[0])
    return (csum[end] - csum[k]) / (end - k)


def noisy_forecast(series, cv, step_s, rng):
    """A per-step series as a scheduler forecasts it: times lognormal error of mean 1, one draw per hour."""
    hour = (np.arange(series.shape[0]) * step_s) // 3600
    noise = rng.normal(0.0, cv, int(hour[-1]) + 1)
    return series * np.exp(noise[hour] - 0.5 * cv**2)


def best_start_s(arrival_s, run_s, deadline_s, forecast, step_s):
    """The start step (as a time) from arrival that minimises the forecast mean over a run of run_s and still
    ends by deadline_s (whole windows of the forecast only); the arrival itself where no such start exists."""
    first = int(np.ceil(arrival_s / step_s))
    last = int((deadline_s - run_s) // step_s)
    if last <= first:
        return arrival_s
    width = max(1, int(round(run_s / step_s)))
    means = window_means(forecast, width)
    last = min(last, means.shape[0] - width)  # whole windows only: no plan that runs past the forecast
    if last < first:
        return arrival_s
    return float(first + int(np.argmin(means[first : last + 1]))) * step_s


class Scheduler:
    """One run's training hall: the job queue, the GPUs, failures and repairs."""

    def __init__(self, env, training, gpus, step_s, n_steps, forecast, failure_rate_per_s, repair_s, seed):
        self.env, self.training, self.gpus, self.step_s = env, training, gpus, step_s
        self.free = gpus
        self.queue = []
        self.forecast, self.rate, self.repair_s, self.seed = forecast, failure_rate_per_s, repair_s, seed
        self.busy = np.zeros(n_steps)
        self.lost = np.zeros(n_steps)
        self.repair = np.zeros(n_steps)
        self.failures = 0

    def planned_start(self, job):
        """Arrival, or for a deferrable job under an aware policy the best forecast start hour."""
        if not job.deferrable or self.training.policy == "fifo" or self.forecast is None:
            return job.arrival_s
        return best_start_s(job.arrival_s, job.work_gpu_s / job.gpus, job.deadline_s, self.forecast, self.step_s)

    def arrive(self, job):
        job.planned_start_s = self.planned_start(job)
        if job.planned_start_s > self.env.now:
            yield self.env.timeout(job.planned_start_s - self.env.now)
        # priority: jobs that cannot wait go ahead of queued deferrable ones; first come first served within each
        ahead = [k for k, queued in enumerate(self.queue) if job.deferrable or not queued.deferrable]
        self.queue.insert(ahead[-1] + 1 if ahead else 0, job)
        self.dispatch()

    def dispatch(self):
        """Start queued jobs in order; a later job may start if the head does not fit (backfill)."""
        for job in list(self.queue):
            if job.gpus <= self.free:
                self.queue.remove(job)
                self.free -= job.gpus
                self.env.process(self.run(job))

    def run(self, job):
        """One uninterrupted stretch of a job: to completion, or to its next GPU failure. Its busy
        (and lost) GPU time is booked when it starts, as the stretch's end is drawn then."""
        env, t = self.env, self.training
        start = env.now
        if np.isnan(job.start_s):
            job.start_s = start
        remaining_s = (job.work_gpu_s - job.done_gpu_s) / job.gpus
        # each job's stretches draw from their own stream, so another policy meets the same failures
        stream = np.random.default_rng([self.seed, job.index, job.failures])
        to_failure = stream.exponential(1.0 / (self.rate * job.gpus)) if self.rate > 0.0 else np.inf
        add_interval(self.busy, start, start + min(remaining_s, to_failure), job.gpus, self.step_s)
        if to_failure >= remaining_s:
            yield env.timeout(remaining_s)
            job.done_gpu_s = job.work_gpu_s
            job.end_s = env.now
            self.free += job.gpus
            self.dispatch()
            return
        checkpoint_s = t.checkpoint_interval_min * 60.0
        saved = start + np.floor(to_failure / checkpoint_s) * checkpoint_s
        add_interval(self.lost, saved, start + to_failure, job.gpus, self.step_s)
        add_interval(self.repair, start + to_failure, start + to_failure + self.repair_s, 1, self.step_s)
        yield env.timeout(to_failure)
        job.failures += 1
        self.failures += 1
        job.done_gpu_s += (saved - start) * job.gpus
        self.free += job.gpus - 1
        env.process(self.repaired())
        self.dispatch()
        yield env.timeout(t.restart_min * 60.0)
        self.queue.insert(0, job)
        self.dispatch()

    def repaired(self):
        yield self.env.timeout(self.repair_s)
        self.free += 1
        self.dispatch()


def _jobs(training, horizon_s, rng):
    jobs, t, k = [], 0.0, 0
    while True:
        t += rng.exponential(86400.0 / training.arrivals_per_day)
        if t >= horizon_s:
            return jobs
        gpus = int(rng.choice(training.job_gpus))
        work = rng.exponential(training.job_hours_mean * 3600.0) * gpus
        deferrable = bool(rng.random() < training.deferrable_fraction)
        jobs.append(Job(k, t, gpus, work, deferrable, t + training.deadline_hours * 3600.0))
        k += 1


def _inference_repairs(hall_gpus, rate_per_s, repair_s, horizon_s, step_s, n_steps, rng):
    """GPU-seconds in repair per step for one always-on hall, and its failure count."""
    out = np.zeros(n_steps)
    if rate_per_s <= 0.0:
        return out, 0
    count = rng.poisson(rate_per_s * hall_gpus * horizon_s)
    for t in np.sort(rng.uniform(0.0, horizon_s, count)):
        add_interval(out, t, t + repair_s, 1, step_s)
    return out, int(count)


def schedule(scenario, hall_gpus, step_s, n_steps, carbon, price, seed):
    """The run's Schedule: training on its hall (if any) and GPU repairs on every hall."""
    horizon_s = n_steps * step_s
    faults = scenario.faults
    rate = faults.gpu_failures_per_gpu_day / 86400.0
    repair_s = faults.gpu_repair_hours * 3600.0
    training = scenario.workload.training
    names = [h.name for h in scenario.facility.halls]
    root = np.random.SeedSequence([seed, 0x7A1])
    job_rng, fail_rng, forecast_rng, hall_rng = (np.random.default_rng(s) for s in root.spawn(4))
    repair = np.zeros((n_steps, len(names)))
    failures = [0] * len(names)
    busy = lost = np.zeros(n_steps)
    jobs = []
    for h, name in enumerate(names):
        if name in scenario.workload.batch_halls():  # training: its own failures below; a job trace: none
            continue
        repair[:, h], failures[h] = _inference_repairs(
            hall_gpus[h], rate, repair_s, horizon_s, step_s, n_steps, np.random.default_rng(hall_rng.integers(2**63))
        )
    if training is not None:
        h = names.index(training.hall)
        series = {"carbon_aware": carbon, "price_aware": price}.get(training.policy)
        forecast = None if series is None else noisy_forecast(series, training.forecast_noise_cv, step_s, forecast_rng)
        env = simpy.Environment()
        sched = Scheduler(
            env, training, int(hall_gpus[h]), step_s, n_steps, forecast, rate, repair_s, int(fail_rng.integers(2**63))
        )
        jobs = _jobs(training, horizon_s, job_rng)
        for job in jobs:
            env.process(_at(env, job.arrival_s, sched, job))
        env.run(until=horizon_s)
        busy, lost, repair[:, h], failures[h] = sched.busy, sched.lost, sched.repair, sched.failures
    return Schedule(busy, lost, repair, jobs, failures)


def _at(env, t, sched, job):
    yield env.timeout(t)
    yield from sched.arrive(job)


def busy_gpu_power_w(hall_it_w, busy_share, hall_gpus):
    """IT power [W] one busy GPU of the training hall stands for (its server share: GPU, host, fans,
    PSU): the hall's power is close to linear in its busy share, P = P_0 + s x share, so a busy GPU
    costs (P_0 + s) / GPUs, the hall fully busy shared out. Fitted by least squares over the run."""
    if np.ptp(busy_share) > 0.05:
        slope, intercept = np.polyfit(busy_share, hall_it_w, 1)
        return float(intercept + slope) / hall_gpus
    busy = busy_share > 0.0
    return float(np.mean(hall_it_w[busy] / busy_share[busy])) / hall_gpus if busy.any() else 0.0


def summary(sched, scenario, frame, step_s):
    """The training and GPU-failure blocks of summary.json."""
    horizon_s = len(frame) * step_s
    faults = scenario.faults
    names = [h.name for h in scenario.facility.halls]
    out = {}
    rate_per_day = faults.gpu_failures_per_gpu_day
    hall_gpus = [h.servers() * h.server_spec()[0] for h in scenario.facility.halls]
    training = scenario.workload.training
    per_hall = []
    for h, name in enumerate(names):
        on_duty_gpu_days = (
            sched.busy_gpu_s.sum() if training is not None and name == training.hall else hall_gpus[h] * horizon_s
        ) / 86400.0
        per_hall.append(
            {
                "hall": name,
                "failures": sched.failures[h],
                "expected_failures": rate_per_day * on_duty_gpu_days,
                "gpu_days_at_risk": on_duty_gpu_days,
                "gpu_hours_in_repair": float(sched.repair_gpu_s[:, h].sum()) / 3600.0,
            }
        )
    out["gpu_failures"] = {"rate_per_gpu_day": rate_per_day, "repair_hours": faults.gpu_repair_hours, "halls": per_hall}
    if training is None:
        return out
    busy = sched.busy_gpu_s
    h = names.index(training.hall)
    per_gpu_w = busy_gpu_power_w(frame["training_it_power_w"].to_numpy(), busy / (step_s * hall_gpus[h]), hall_gpus[h])
    it_lost_j = float(sched.lost_gpu_s.sum()) * per_gpu_w
    pue = frame["facility_power_w"].sum() / frame["it_power_w"].sum()
    fac_lost_j = it_lost_j * pue
    jobs = sched.jobs
    due = [j for j in jobs if j.deadline_s <= horizon_s]
    met = [j for j in due if j.end_s <= j.deadline_s]
    out["training"] = {
        "policy": training.policy,
        "jobs_arrived": len(jobs),
        "jobs_completed": int(sum(np.isfinite(j.end_s) for j in jobs)),
        "jobs_deferrable": int(sum(j.deferrable for j in jobs)),
        "jobs_due_in_run": len(due),
        "deadline_met_share": (len(met) / len(due)) if due else None,
        "deferrable_deadline_met_share": (
            sum(j.deferrable for j in met) / sum(j.deferrable for j in due) if any(j.deferrable for j in due) else None
        ),
        "gpu_hours_busy": float(busy.sum()) / 3600.0,
        "gpu_hours_lost": float(sched.lost_gpu_s.sum()) / 3600.0,
        "failures": sched.failures[names.index(training.hall)],
        "energy_lost_it_mwh": it_lost_j / 3.6e9,
        "energy_lost_facility_mwh": fac_lost_j / 3.6e9,
    }
    return out
