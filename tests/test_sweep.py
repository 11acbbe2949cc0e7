"""`twin sweep`: axes expand to variants, bad sweeps are refused before anything runs, and a sweep on a
real Dask LocalCluster that is killed midway and restarted holds every variant once, with the numbers
of a serial run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from twin import sweep
from twin.cli import main

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def _sweep_file(folder, axes, **extra):
    doc = {"base": str(QUICKSTART), "name": "t", "set": {"duration": "1d"}, "axes": axes, **extra}
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_axes_expand_to_a_grid_or_zip_with_inclusive_ranges(tmp_path):
    grid = sweep.load_sweep(
        _sweep_file(tmp_path, {"seed": {"from": 1, "to": 3}, "workload.inference.peak_demand_fraction": [0.6, 0.8]})
    )
    assert len(grid.variants) == 6 and grid.axes["seed"] == [1, 2, 3]
    assert [v.scenario.seed for v in grid.variants] == [1, 1, 2, 2, 3, 3]
    assert len({v.variant_id for v in grid.variants}) == 6
    ranged = sweep.load_sweep(
        _sweep_file(tmp_path, {"workload.inference.peak_demand_fraction": {"from": 0.5, "to": 0.9, "step": 0.2}})
    )
    assert ranged.axes["workload.inference.peak_demand_fraction"] == [0.5, 0.7, 0.9]
    zipped = sweep.load_sweep(
        _sweep_file(tmp_path, {"seed": [1, 2], "facility.halls.0.rack_count": [8, 16]}, mode="zip")
    )
    assert [(v.scenario.seed, v.scenario.facility.halls[0].rack_count) for v in zipped.variants] == [(1, 8), (2, 16)]
    # the same file gives the same ids: what a restart relies on
    assert [v.variant_id for v in sweep.load_sweep(tmp_path / "sweep.yaml").variants] == [
        v.variant_id for v in zipped.variants
    ]


@pytest.mark.parametrize(
    "axes, extra, says",
    [
        ({"facility.halls.0.rack_count": [8, -1]}, {}, "variant 1 (facility.halls.0.rack_count=-1)"),
        ({"facility.halls.3.rack_count": [8]}, {}, "'3' is not an item of a list of 1"),
        ({"seed": {"from": 3, "to": 1}}, {}, "from <= to"),
        ({"seed": [1, 2], "facility.halls.0.rack_count": [8]}, {"mode": "zip"}, "the same number of values"),
        ({"seed": [1]}, {"mode": "diagonal"}, "allowed: grid, zip"),
        ({"seed": [1]}, {"axis": 1}, "unknown key(s) axis"),
    ],
)
def test_a_bad_sweep_exits_2_naming_the_field_and_runs_nothing(tmp_path, capsys, axes, extra, says):
    path = _sweep_file(tmp_path, axes, **extra)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _numbers(frame):
    return frame.drop(columns=["wall_s"]).sort_values("variant_id").reset_index(drop=True)


@pytest.mark.slow
def test_a_killed_dask_sweep_restarts_and_every_variant_appears_once_with_the_serial_numbers(tmp_path):
    pytest.importorskip("distributed")
    path = _sweep_file(tmp_path, {"seed": {"from": 1, "to": 8}, "workload.inference.peak_demand_fraction": [0.6, 0.9]})
    spec = sweep.load_sweep(path)
    serial = sweep.run(spec, tmp_path / "serial", workers=1)
    out = tmp_path / "dask"
    command = [sys.executable, "-m", "twin", "sweep", str(path), "--out", str(out), "--no-progress"]
    with sweep.local_cluster(2) as cluster:
        killed = subprocess.Popen(
            [*command, "--cluster", cluster.scheduler_address],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120.0
        while len(sweep.done_ids(out)) < 3 and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.05)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        after_kill = sweep.done_ids(out)
        assert 3 <= len(after_kill) < len(spec.variants), "the kill must land midway"
        restarted = subprocess.run(
            [*command, "--cluster", cluster.scheduler_address],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert restarted.returncode == 0, restarted.stderr
    result = sweep.read_results(out)
    assert sorted(result["variant_id"]) == sorted(v.variant_id for v in spec.variants)  # each once
    pd.testing.assert_frame_equal(_numbers(result), _numbers(serial), check_exact=True)
    assert not list((out / "variants").glob(".tmp-*"))


def test_a_variant_is_rerun_when_anything_it_runs_changes_and_other_sweeps_stay_out(tmp_path):
    first = sweep.load_sweep(_sweep_file(tmp_path, {"seed": [1, 2]}))
    second = sweep.load_sweep(_sweep_file(tmp_path, {"seed": [1, 2]}, set={"duration": "2d"}))
    assert not {v.variant_id for v in first.variants} & {v.variant_id for v in second.variants}
    out = tmp_path / "out"
    sweep.run(first, out, workers=1)
    narrowed = sweep.load_sweep(_sweep_file(tmp_path, {"seed": [1]}))
    result = sweep.run(narrowed, out, workers=1)  # runs nothing: seed 1 is done
    assert list(result["variant_id"]) == [narrowed.variants[0].variant_id]
    assert len(sweep.done_ids(out)) == 2


def test_a_process_pool_gives_the_serial_numbers(tmp_path):
    spec = sweep.load_sweep(_sweep_file(tmp_path, {"seed": [1, 2, 3]}))
    serial = sweep.run(spec, tmp_path / "serial", workers=1)
    pool = sweep.run(spec, tmp_path / "pool", workers=2)
    pd.testing.assert_frame_equal(_numbers(serial), _numbers(pool), check_exact=True)


@pytest.mark.parametrize(
    "axes, says",
    [
        ({"seed": [3, 3]}, "an axis repeats a value"),
        ({"workload.inference.peak_demand_fraction": {"from": 0.5, "to": float("nan")}}, "from <= to and step > 0"),
    ],
)
def test_repeated_or_non_finite_values_are_refused(tmp_path, axes, says):
    with pytest.raises(sweep.SweepError, match=says):
        sweep.load_sweep(_sweep_file(tmp_path, axes))


@pytest.mark.slow
def test_a_mixed_number_axis_is_one_type_and_an_unreachable_cluster_writes_nothing(tmp_path, capsys):
    spec = sweep.load_sweep(_sweep_file(tmp_path, {"workload.inference.peak_demand_fraction": [1, 0.5]}))
    assert spec.axes["workload.inference.peak_demand_fraction"] == [1.0, 0.5]
    path = _sweep_file(tmp_path, {"seed": [1]})
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--cluster", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
