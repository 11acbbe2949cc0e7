"""Job traces on the rack-resolved twin: the reader refuses what it cannot use, the scheduler places and
backfills, and the physics acts back on the jobs (a cooling fault slows or kills only the jobs it touches)."""

import numpy as np
import pandas as pd
import pytest
from conftest import short_scenario

from twin.io.job_trace import JobTraceError, read_job_trace
from twin.pipeline import execute_run
from twin.scenario import Scenario, ScenarioError, load_scenario_text
from twin.scenario.training import JobTrace


def _spec(path, **fields):
    return JobTrace.model_validate({"hall": "hall-a", "file": str(path), **fields})


def _write(tmp_path, text, name="jobs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _read(path, servers=32, gpn=8, run_s=86400.0, **fields):
    return read_job_trace(_spec(path, **fields), gpn, servers, 0.0, run_s)


def test_a_raps_job_list_is_read_as_raps_writes_it(tmp_path):
    path = _write(
        tmp_path,
        "id,nodes,submit_time,start_time,wall_time,time_limit,cpu_util,gpu_util,end_state,scheduled_nodes\n"
        '7,2,10,20,600,900,0.5,3,COMPLETED,"[4, 5]"\n'
        "3,1,0,5,60,120,1.0,4,FAILED,[0]\n",
    )
    t = _read(path, gpn=4, format="raps", mode="replay")
    assert t.ids.tolist() == ["3", "7"]  # sorted by submit time
    assert t.gpus.tolist() == [4, 8] and t.whole_nodes.all()
    np.testing.assert_allclose(t.gpu_util, [1.0, 0.75])  # GPUs busy per node over 4 per node
    np.testing.assert_allclose(t.cpu_util, [1.0, 0.5])
    assert t.nodes_logged[1].tolist() == [4, 5] and t.end_state.tolist() == ["FAILED", "COMPLETED"]


def test_other_schemas_are_mapped_and_converted(tmp_path):
    path = _write(tmp_path, "job,queued,minutes,n_gpu,util_pct\nx,2023-08-01T01:00:00Z,30,3,50\n")
    columns = {"id": "job", "submit_time": "queued", "wall_time": "minutes", "gpus": "n_gpu", "gpu_util": "util_pct"}
    # ISO times are positions from the run's start; the unit scales numbers only
    origin = pd.Timestamp("2023-08-01T00:00:00Z").timestamp()
    t = read_job_trace(_spec(path, columns=columns, time_unit="min", gpu_util_unit="percent"), 8, 32, origin, 86400.0)
    assert t.submit_s.tolist() == [3600.0] and t.wall_s.tolist() == [1800.0]
    assert t.gpus.tolist() == [3] and not t.whole_nodes[0] and t.gpu_util.tolist() == [0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,submit_time,wall_time\na,0,10\n", "missing column(s) nodes or gpus"),
        ("id,submit_time,wal_time,nodes\na,0,10,1\n", "missing column(s) wall_time (did you mean 'wal_time'?)"),
        ("id,submit_time,wall_time,nodes\na,0,ten,1\n", "line 2: column 'wall_time' = 'ten' is not a number"),
        ("id,submit_time,wall_time,nodes\na,0,10,1\nb,,10,1\n", "line 3: column 'submit_time' is empty"),
        ("id,submit_time,wall_time,nodes\na,0,-5,1\n", "line 2: column 'wall_time' = -5 is outside"),
        ("id,submit_time,wall_time,nodes\na,0,10,33\n", "column 'nodes' = 33 nodes: the hall has 32 (allowed 1..32)"),
        ("id,submit_time,wall_time,nodes\na,0,10,1.5\n", "'nodes' = 1.5 is not a whole number of nodes"),
        ("id,submit_time,wall_time,nodes\na,0,10,1\na,5,10,1\n", "line 3: column 'id' = 'a' is the id of an earlier"),
        ("id,submit_time,start_time,wall_time,nodes\na,50,10,10,1\n", "'start_time' = 10 s is before the job's submit"),
        ("id,submit_time,wall_time,gpus,gpu_util\na,0,10,1,80\n", "column 'gpu_util' = 80 is outside 0..1"),
        ("id,submit_time,wall_time,nodes,scheduled_nodes\na,0,10,1,[40]\n", "names server 40; the hall's are 0..31"),
        ("id,submit_time,wall_time,nodes,scheduled_nodes\na,0,10,2,[3]\n", "names 1 servers; the job asks for 2"),
        ("id,submit_time,wall_time,nodes\n", "no jobs"),
    ],
)
def test_a_bad_trace_is_refused_naming_file_line_and_column(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(JobTraceError) as err:
        _read(path)
    assert str(path) in str(err.value) and expected in str(err.value), str(err.value)


def test_many_bad_lines_are_named_up_to_ten_then_counted(tmp_path):
    lines = "".join(f"j{k},0,x,1\n" for k in range(25))
    with pytest.raises(JobTraceError) as err:
        _read(_write(tmp_path, "id,submit_time,wall_time,nodes\n" + lines))
    assert len(err.value.problems) == 11 and err.value.problems[-1] == "... and 15 more"


def test_a_bad_trace_through_the_cli_exits_2_and_writes_nothing(tmp_path, capsys):
    from twin.cli import main

    _write(tmp_path, "id,submit_time,wall_time,nodes\na,0,10,999\n")
    data = short_scenario()
    data["facility"]["halls"].append({"name": "batch", "rack_count": 2, "servers_per_rack": 4, "gpu": "H100-SXM"})
    data["workload"]["jobs"] = {"hall": "batch", "file": "jobs.csv"}
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    code = main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "jobs.csv: line 2: column 'nodes' = 999 nodes: the hall has 8" in err
    assert not (tmp_path / "out").exists()


def test_the_jobs_hall_must_exist():
    import yaml

    data = short_scenario()
    data["workload"]["jobs"] = {"hall": "nowhere", "file": __file__}
    with pytest.raises(ScenarioError, match="workload.jobs.hall 'nowhere' is not a facility hall"):
        load_scenario_text(yaml.safe_dump(data))


def _hall(tmp_path, jobs_csv, cooling=None, outage=None, **jobs):
    """A 10 MW hall (300 racks of 4 DGX H100) in 4 rows running a job trace, on Houston's hottest August day."""
    data = short_scenario(start="2023-08-01", duration="1d", step="60s")
    data["site"] = {"name": "houston-tx"}
    data["facility"]["halls"] = [
        {"name": "hall-a", "rack_count": 300, "row_count": 4, "servers_per_rack": 4, "gpu": "H100-SXM"}
    ]
    data["facility"]["cooling"] = cooling or {"type": "air"}
    data["workload"]["jobs"] = {"hall": "hall-a", "file": str(_write(tmp_path, jobs_csv)), **jobs}
    if outage is not None:
        data["faults"] = {"cooling_outages": [outage]}
    return Scenario.model_validate(data)


ONE_JOB_PER_ROW = "id,submit_time,wall_time,nodes\n" + "".join(f"r{k},68400,14400,300\n" for k in range(1, 5))


def test_jobs_take_contiguous_servers_and_drive_the_racks_power(tmp_path):
    run = execute_run(_hall(tmp_path, ONE_JOB_PER_ROW))
    jobs = run.jobs.set_index("job_id")
    assert jobs["first_node"].tolist() == [0, 300, 600, 900]  # one row each: 75 racks of 4 servers
    assert (jobs["state"] == "completed").all() and run.summary["jobs"]["jobs_completed"] == 4
    it = run.frame["it_power_w"].to_numpy()
    busy = slice(68400 // 60 + 1, (68400 + 14400) // 60 - 1)
    assert it[busy].min() > 2.5 * it[: 68400 // 60].max()  # the whole hall busy against the whole hall idle
    assert np.all(run.frame["tokens"] == 0.0)  # a job list without a model processes no tokens


def test_a_crah_failure_on_row_2_delays_only_the_job_placed_there(tmp_path):
    outage = {"unit": "crah", "hall": "hall-a", "row": 2, "units": 5, "start": "2023-08-01T20:00", "duration": "1h"}
    base = execute_run(_hall(tmp_path, ONE_JOB_PER_ROW)).jobs.set_index("job_id")["end_s"]
    hot = execute_run(_hall(tmp_path, ONE_JOB_PER_ROW, outage=outage)).jobs.set_index("job_id")["end_s"]
    late = hot - base
    assert late["r2"] > 5.0, late  # row 2's GPUs ran hotter, leaked more and were held at their power limit
    assert late.drop("r2").abs().max() < 0.05 * late["r2"], late


def test_a_chiller_outage_lengthens_the_makespan_of_a_fixed_job_list(tmp_path):
    outage = {"unit": "chiller", "fraction": 1.0, "start": "2023-08-01T19:30", "duration": "2h"}
    base = execute_run(_hall(tmp_path, ONE_JOB_PER_ROW))
    hot = execute_run(_hall(tmp_path, ONE_JOB_PER_ROW, outage=outage, requeue_limit=10))  # killed at each restart
    jobs = hot.summary["jobs"]
    assert jobs["gpu_hours_lost"] > 0.0 and jobs["jobs_requeued"] > 0  # servers shut down: their jobs killed
    ends = hot.jobs["end_s"].fillna(np.inf)
    assert ends.max() > base.jobs["end_s"].max() + 3600.0


def test_easy_backfill_starts_a_short_job_without_delaying_the_head(tmp_path):
    trace = (
        "id,submit_time,wall_time,time_limit,nodes\n"
        "big,0,7200,7200,1000\n"  # leaves 200 servers
        "head,60,3600,3600,1100\n"  # waits for big: reserved at 7200 s, when 100 servers will be spare
        "short,120,1800,1800,200\n"  # fits now and ends (by its limit) before 7200 s: backfilled
        "long,180,36000,36000,150\n"  # fits after short, but past 7200 s on more than the 100 spare: waits
    )
    run = execute_run(_hall(tmp_path, trace))
    start = run.jobs.set_index("job_id")["start_s"]
    assert start["short"] == 120.0 and start["head"] >= 7200.0 and start["long"] >= start["head"]


def test_replay_starts_jobs_as_logged_on_their_logged_servers(tmp_path):
    trace = (
        "id,submit_time,start_time,wall_time,nodes,scheduled_nodes\n"
        "a,0,600,3600,2,[10 11]\n"
        "b,0,700,3600,2,[11 12]\n"  # server 11 is busy until a ends: b starts late
    )
    run = execute_run(_hall(tmp_path, trace, mode="replay"))
    jobs = run.jobs.set_index("job_id")
    assert jobs.loc["a", "start_s"] == 600.0 and jobs.loc["a", "first_node"] == 10
    assert jobs.loc["b", "start_s"] >= jobs.loc["a", "end_s"] and jobs.loc["b", "first_node"] == 11
    assert run.summary["jobs"]["jobs_started_late"] == 1


def test_the_bundled_public_cluster_trace_replays_as_logged():
    """Alibaba's GPU cluster trace (scenarios/alibaba-gpu-trace.yaml), its first three days."""
    from conftest import SCENARIOS

    from twin.scenario import load_scenario

    scenario = load_scenario(SCENARIOS / "alibaba-gpu-trace.yaml").model_copy(update={"duration": "3d"})
    run = execute_run(scenario)
    jobs = run.jobs
    logged = pd.read_csv(SCENARIOS / "data" / "alibaba-openb-2023-jobs.csv").set_index("id")
    assert len(jobs) == int((logged["submit_time"] < 3 * 86400).sum()) > 400
    started = jobs.set_index("job_id")["start_s"].dropna()
    on_time = np.isclose(started, logged.loc[started.index, "start_time"])
    assert on_time.mean() > 0.99, run.summary["jobs"]  # the hall holds the trace's busiest hour
    done = jobs[jobs["state"] == "completed"].set_index("job_id")
    assert np.allclose(done["end_s"] - done["start_s"], logged.loc[done.index, "wall_time"], rtol=1e-3, atol=61)


def test_a_replay_does_not_start_a_job_the_log_never_started(tmp_path):
    trace = "id,submit_time,start_time,wall_time,nodes\nran,0,60,3600,10\nnever,0,,3600,10\n"
    run = execute_run(_hall(tmp_path, trace, mode="replay"))
    state = run.jobs.set_index("job_id")["state"]
    assert state["ran"] == "completed" and state["never"] == "not started in log"
    assert run.summary["jobs"]["jobs_not_started_in_log"] == 1


def _raps_node_w(gpus_busy, cpu_busy):
    """A Frontier node at the wall as RAPS computes it (config/frontier.yaml, raps/power.py): DC parts, the SIVOC,
    the chassis switches' share and the rectifiers'."""
    dc = cpu_busy * 280 + (1 - cpu_busy) * 90 + gpus_busy * 560 + (4 - gpus_busy) * 88 + 74.26 + 4 * 20 + 30
    return ((dc + 13.0) / 0.98 + 1000.0 / 16 + 17.0 / 4) / 0.96


@pytest.mark.parametrize(("gpus_busy", "cpu_busy", "tolerance"), [(4.0, 1.0, 0.002), (0.0, 0.0, 0.02)])
def test_a_frontier_node_draws_what_raps_says(tmp_path, gpus_busy, cpu_busy, tolerance):
    """The catalog MI250X node and its conversion give RAPS's node power: at full load within 0.2 % (the GPUs at
    their 560 W limit), idle within 2 % (twin's GPUs leak more above the 32 C at which their idle power holds)."""
    from conftest import SCENARIOS

    from twin.scenario import load_scenario

    trace = _write(
        tmp_path,
        "id,nodes,submit_time,start_time,wall_time,time_limit,cpu_util,gpu_util,end_state\n"
        f"all,9472,0,0,7200,7200,{cpu_busy},{gpus_busy},COMPLETED\n",
    )
    scenario = load_scenario(SCENARIOS / "frontier.yaml")
    jobs = scenario.workload.jobs.model_copy(update={"file": trace})
    scenario = scenario.model_copy(
        update={"duration": "2h", "step": "60s", "workload": scenario.workload.model_copy(update={"jobs": jobs})}
    )
    frame = execute_run(scenario).frame
    twin_w = frame["it_power_w"].iloc[30:110].mean()
    raps_w = 9472 * _raps_node_w(gpus_busy, cpu_busy)
    assert abs(twin_w / raps_w - 1.0) < tolerance, (twin_w, raps_w)


def test_a_parquet_trace_with_a_gap_is_read_and_the_gap_reported(tmp_path):
    table = pd.DataFrame(
        {"id": ["a", "b"], "submit_time": [0.0, 36000.0], "wall_time": [3600.0, 3600.0], "nodes": [4, 4]}
    )
    table.to_parquet(tmp_path / "jobs.parquet")
    data = _hall(tmp_path, "unused\n").model_dump(exclude_none=True)
    data["workload"]["jobs"].update(file=str(tmp_path / "jobs.parquet"), format="parquet")
    run = execute_run(Scenario.model_validate(data))
    assert run.summary["jobs"]["jobs_completed"] == 2
    assert run.summary["jobs"]["longest_idle_gap_h"] == pytest.approx(13.0, abs=0.1)  # after b, to the day.s end


def test_carbon_aware_deferral_moves_a_deferrable_job_to_cleaner_hours(tmp_path):
    trace = "id,submit_time,wall_time,nodes,deferrable\nnow,0,7200,100,false\nlater,0,7200,100,true\n"
    run = execute_run(_hall(tmp_path, trace, policy="carbon_aware", deadline_hours=24, forecast_noise_cv=0.0))
    start = run.jobs.set_index("job_id")["start_s"]
    assert start["now"] == 0.0 and 0.0 < start["later"] <= 22 * 3600.0
    carbon = run.frame["grid_carbon_g_per_kwh"].to_numpy()
    window = lambda s: carbon[int(s // 60) : int(s // 60) + 120].mean()  # noqa: E731
    assert window(start["later"]) < window(0.0)
