#!/usr/bin/env python3
"""
Driver for ExaDigiT/RAPS (run inside /work/raps/venv).

Builds RAPS's synthetic Frontier workload for a seed exactly as `raps run --system frontier
--seed N -t T` does (same SingleSimConfig -> Engine path, so the same RNG stream), runs RAPS's
own Engine.run_simulation() loop at a 1 s time step with no UI and no file output, and writes:

  <out>/jobs.csv          one row per generated job:
                          id,nodes,submit_time,start_time,wall_time,time_limit,cpu_util,gpu_util,
                          end_state,scheduled_nodes,state,arrival_time,end_time
  <out>/power_1s.csv.gz   per-second power series (what RAPS computes every tick)
  <out>/power_hourly.csv  hourly means of the per-second series (MW)
  <out>/timing.json       wall times + RAPS's own summary numbers

Nothing inside RAPS is changed. The only intervention is (a) wrapping
PowerManager.simulate_power to record what it returns each tick and (b) emptying
engine.node_occupancy_history every tick (RAPS keeps a 9,600-entry dict per tick there, ~0.3 MB
per simulated second, which makes a 1-day run need ~25 GB RAM; it is only used for the
end-of-run "concurrent jobs per node" statistic).

Usage:
  venv/bin/python dump_jobs.py --seed 1 --time 86400 --out out/seed1
"""

import argparse
import csv
import gzip
import json
import os
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
from raps.engine import Engine  # noqa: E402
from raps.job import JobState  # noqa: E402
from raps.sim_config import SingleSimConfig  # noqa: E402

T_IMPORT = time.perf_counter() - T0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--time", type=int, default=86400, help="simulated seconds")
    ap.add_argument("--numjobs", type=int, default=100, help="RAPS default is 100")
    ap.add_argument("--system", default="frontier")
    ap.add_argument("--workload", default="random", help="RAPS default synthetic workload is 'random'")
    ap.add_argument("--policy", default=None, help="None = RAPS default (replay for synthetic jobs)")
    ap.add_argument("--backfill", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--keep-occupancy-history",
        action="store_true",
        help="do not trim engine.node_occupancy_history (RAM grows ~0.3 MB/s simulated)",
    )
    ap.add_argument("--no-1s", action="store_true", help="skip writing power_1s.csv.gz")
    a = ap.parse_args()
    if a.seed == 0:
        sys.exit("RAPS ignores seed 0 (engine.py: `if sim_config.seed:`); use a seed >= 1")
    os.makedirs(a.out, exist_ok=True)

    cfg = dict(
        system=a.system,
        seed=a.seed,
        time=a.time,
        time_delta=1,
        numjobs=a.numjobs,
        workload=a.workload,
        output="none",
        noui=True,
    )
    if a.policy:
        cfg["policy"] = a.policy
    if a.backfill:
        cfg["backfill"] = a.backfill

    t1 = time.perf_counter()
    sim_config = SingleSimConfig(**cfg)
    engine = Engine(sim_config)  # seeds random/np.random, generates jobs, builds managers
    t_init = time.perf_counter() - t1

    all_jobs = list(engine.jobs)  # engine.jobs is filtered in place by prepare_system_state
    arrival = {j.id: j.start_time for j in all_jobs}  # generated (planned) start = Poisson arrival
    pm = engine.power_manager
    conf = engine.config

    # per-tick capture
    rec_t, rec_total, rec_loss, rec_sivoc, rec_after_sivoc, rec_active, rec_running = ([] for _ in range(7))
    orig_simulate_power = pm.simulate_power

    def simulate_power_wrapped(**kw):
        ret = orig_simulate_power(**kw)
        _, _, total_kw, loss_kw, _ = ret
        rec_t.append(engine.current_timestep)
        rec_total.append(float(total_kw))
        rec_loss.append(float(loss_kw))
        rec_sivoc.append(float(pm.sivoc_loss.sum()) / 1000.0)
        rec_after_sivoc.append(float(pm.power_state.sum()) / 1000.0)
        rec_running.append(len(engine.running))
        return ret

    pm.simulate_power = simulate_power_wrapped

    t2 = time.perf_counter()
    for _data in engine.run_simulation(autoshutdown=True):  # same call as raps/ui.py LayoutManager.run
        rec_active.append(engine.num_active_nodes)
        if not a.keep_occupancy_history:
            engine.node_occupancy_history.clear()
    t_sim = time.perf_counter() - t2

    # ---- jobs.csv
    rows = []
    for j in sorted(all_jobs, key=lambda j: j.id):
        started = j.current_state in (JobState.RUNNING, JobState.COMPLETED, JobState.TIMEOUT)
        cpu = j.cpu_trace[0] if hasattr(j.cpu_trace, "__len__") and len(j.cpu_trace) else j.cpu_trace
        gpu = j.gpu_trace[0] if hasattr(j.gpu_trace, "__len__") and len(j.gpu_trace) else j.gpu_trace
        if hasattr(j.cpu_trace, "__len__") and len(j.cpu_trace) == 0:
            cpu = gpu = ""  # wall_time 0 -> empty trace (RAPS treats as 0 util)
        rows.append(
            {
                "id": j.id,
                "nodes": j.nodes_required,
                "submit_time": j.submit_time,
                "start_time": j.start_time if started else "",
                "wall_time": j.expected_run_time,
                "time_limit": j.time_limit,
                "cpu_util": cpu,
                "gpu_util": gpu,
                "end_state": j.end_state,
                "scheduled_nodes": " ".join(str(int(n)) for n in j.scheduled_nodes) if started else "",
                "state": j.current_state.name,
                "arrival_time": arrival[j.id],
                "end_time": j.end_time if j.current_state in (JobState.COMPLETED, JobState.TIMEOUT) else "",
            }
        )
    with open(os.path.join(a.out, "jobs.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    # ---- power series
    t = np.array(rec_t)
    total = np.array(rec_total)
    loss = np.array(rec_loss)
    sivoc = np.array(rec_sivoc)
    after_sivoc = np.array(rec_after_sivoc)
    node_dc = after_sivoc - sivoc
    rect = loss - sivoc
    n_racks_powered = conf["NUM_RACKS"]  # 75 - missing = 74
    switch_kw = (
        n_racks_powered * conf["CHASSIS_PER_RACK"] * conf["SWITCHES_PER_CHASSIS"] * conf["POWER_SWITCH"]
    ) / 1000.0
    cdu_kw = conf["NUM_CDUS"] * conf["POWER_CDU"] / 1000.0
    before_conv = node_dc + switch_kw
    cols = {
        "t": t,
        "it_power_kw": total,  # RAPS total_power_kw (power.py simulate_power)
        "total_loss_kw": loss,  # RAPS total_loss_kw = rectifier + SIVOC
        "rectifier_loss_kw": rect,
        "sivoc_loss_kw": sivoc,
        "node_power_dc_kw": node_dc,  # sum over nodes before SIVOC loss
        "switch_power_kw": np.full_like(total, switch_kw),
        "power_before_conversion_kw": before_conv,
        "cdu_power_kw": np.full_like(total, cdu_kw),
        "running_jobs": np.array(rec_running),
        "active_nodes": np.array(rec_active[: len(t)]) if len(rec_active) >= len(t) else np.full_like(total, np.nan),
    }
    if not a.no_1s:
        with gzip.open(os.path.join(a.out, "power_1s.csv.gz"), "wt", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols.keys())
            for i in range(len(t)):
                w.writerow(
                    [int(cols["t"][i])]
                    + [f"{cols[k][i]:.4f}" for k in list(cols)[1:9]]
                    + [int(cols["running_jobs"][i]), int(cols["active_nodes"][i])]
                )

    hours = (t // 3600).astype(int)
    with open(os.path.join(a.out, "power_hourly.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "hour",
                "it_power_mw",
                "power_before_conversion_mw",
                "node_power_dc_mw",
                "switch_power_mw",
                "sivoc_loss_mw",
                "rectifier_loss_mw",
                "total_loss_mw",
                "cdu_power_mw",
                "mean_active_nodes",
                "mean_running_jobs",
                "n_samples",
            ]
        )
        for h in np.unique(hours):
            m = hours == h
            w.writerow(
                [int(h)]
                + [
                    f"{cols[k][m].mean() / 1000.0:.6f}"
                    for k in (
                        "it_power_kw",
                        "power_before_conversion_kw",
                        "node_power_dc_kw",
                        "switch_power_kw",
                        "sivoc_loss_kw",
                        "rectifier_loss_kw",
                        "total_loss_kw",
                        "cdu_power_kw",
                    )
                ]
                + [f"{cols['active_nodes'][m].mean():.2f}", f"{cols['running_jobs'][m].mean():.3f}", int(m.sum())]
            )

    # ---- RAPS's own summary (15 s sampled history, as `raps run` reports it)
    hist = np.array([p for _, p in pm.history], dtype=float)
    states = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    timing = {
        "seed": a.seed,
        "simulated_seconds": a.time,
        "time_delta_s": 1,
        "numjobs": a.numjobs,
        "workload": a.workload,
        "policy": str(engine.scheduler.policy),
        "backfill": str(engine.scheduler.bfpolicy),
        "ticks": len(t),
        "last_timestep": int(engine.current_timestep),
        "wall_import_s": round(T_IMPORT, 3),
        "wall_engine_init_s": round(t_init, 3),
        "wall_simulation_loop_s": round(t_sim, 3),
        "wall_total_s": round(time.perf_counter() - T0, 3),
        "occupancy_history_trimmed": not a.keep_occupancy_history,
        "raps_history_samples_15s": int(len(hist)),
        "raps_avg_power_mw_15s_history": float(hist.mean() / 1000) if len(hist) else None,
        "avg_it_power_mw_1s": float(total.mean() / 1000),
        "energy_mwh_1s": float(total.sum() / 1000 / 3600),
        "job_states_at_end": states,
        "jobs_completed": engine.jobs_completed,
        "jobs_killed": engine.jobs_killed,
    }
    with open(os.path.join(a.out, "timing.json"), "w") as f:
        json.dump(timing, f, indent=2)
    print(json.dumps(timing, indent=2))


if __name__ == "__main__":
    main()
