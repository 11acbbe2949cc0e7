"""Nothing lost, nothing crashes: each mistake a new user made on the CLI, driven through main().

Every test here failed on the code before outputs, memory and input checks were added (issue 18).
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, short_scenario, write_yaml

from twin import memory
from twin.cli import main


def _run_cli(capsys, *args):
    """(exit code, stderr lines) of main(args); argparse's own refusals exit through SystemExit."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _check_edited(capsys, path, old, new):
    """(exit code, stderr lines) of check on the short scenario's YAML text with `old` replaced by `new`."""
    text = yaml.safe_dump(short_scenario(), sort_keys=False)
    assert old in text
    path.write_text(text.replace(old, new))
    return _run_cli(capsys, "check", path)


@pytest.fixture
def scenario(tmp_path):
    return write_yaml(tmp_path / "short.yaml", short_scenario(name="short"))


# ---------------------------------------------------------------- outputs never destroy anything


def test_out_into_a_folder_of_foreign_files_is_refused_and_the_files_stay_byte_for_byte(tmp_path, scenario, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "plan.txt").write_text("the site visit notes\n")
    (notes / "sub").mkdir()
    (notes / "sub" / "data.csv").write_bytes(b"a,b\n1,2\n")
    before = _snapshot(notes)
    code, err = _run_cli(capsys, "run", scenario, "--out", notes, "--no-progress")
    assert code == 2
    assert len(err) == 1 and "notes" in err[0] and "plan.txt" in err[0] and "--force" in err[0]
    assert _snapshot(notes) == before


def test_force_replaces_a_foreign_folder_and_a_second_run_replaces_its_own_result(tmp_path, scenario, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("x")
    assert _run_cli(capsys, "run", scenario, "--out", out, "--no-progress", "--force")[0] == 0
    assert not (out / "old.txt").exists() and (out / "summary.json").is_file()
    assert _run_cli(capsys, "run", scenario, "--out", out, "--no-progress")[0] == 0  # its own result: no --force


def test_a_result_written_before_the_marker_is_still_replaced(tmp_path, scenario, capsys):
    out = tmp_path / "out"
    assert _run_cli(capsys, "run", scenario, "--out", out, "--no-progress")[0] == 0
    (out / ".twin-result").unlink()
    assert _run_cli(capsys, "run", scenario, "--out", out, "--no-progress")[0] == 0


def test_a_folder_holding_the_scenario_is_refused_even_with_force(tmp_path, scenario, capsys):
    before = _snapshot(tmp_path)
    code, err = _run_cli(capsys, "run", scenario, "--out", tmp_path, "--no-progress", "--force")
    assert code == 2 and "input" in err[0]
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "target, says",
    [
        ("afile.txt", "is a file, not a folder"),
        (".", "is the current folder"),
        ("/proc/twin-results", "cannot write in /proc"),
        ("missing/deeper/out", "does not exist"),
    ],
)
def test_out_paths_that_cannot_take_a_folder_are_refused(tmp_path, scenario, capsys, monkeypatch, target, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile.txt").write_text("keep me\n")
    before = _snapshot(tmp_path)
    code, err = _run_cli(capsys, "run", scenario, "--out", target, "--no-progress")
    assert code == 2 and len(err) == 1 and says in err[0], err
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "missing").exists()


def test_compare_forecast_and_sweep_refuse_a_foreign_folder(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("k")
    data = short_scenario(name="cmp", sites=["ashburn-va", "phoenix-az"])
    path = write_yaml(tmp_path / "cmp.yaml", data)
    sweep = write_yaml(tmp_path / "s.yaml", {"base": "cmp.yaml", "axes": {"seed": [1, 2]}})
    for args in (["compare", path], ["forecast", path, "--years", "2026-2027"], ["sweep", sweep]):
        code, err = _run_cli(capsys, *args, "--out", foreign, "--no-progress")
        assert code == 2 and "keep.txt" in err[0], (args, err)
    assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]


def test_calibrate_and_record_refuse_to_replace_a_foreign_file(tmp_path, capsys):
    notes = tmp_path / "notes.yaml"
    notes.write_text("my notes: not a calibration\n")
    trace = ROOT / "tests" / "data"
    traces = sorted(trace.glob("*.csv")) or sorted(trace.glob("*"))
    code, err = _run_cli(capsys, "calibrate", traces[0], "--gpu", "H100-SXM", "--out", notes)
    assert code == 2 and "not a twin calibration" in err[0] and "--force" in err[0]
    assert notes.read_text() == "my notes: not a calibration\n"
    recording = tmp_path / "old.parquet"
    recording.write_bytes(b"PAR1 earlier measurements")
    code, err = _run_cli(capsys, "record", "--out", recording, "--duration", "1s")
    assert code == 2 and "--force" in err[0]
    assert recording.read_bytes() == b"PAR1 earlier measurements"


# ---------------------------------------------------------------- memory is bounded


def test_a_year_at_one_second_is_refused_within_5_s_with_the_estimate(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 16 * 2**30)
    path = write_yaml(tmp_path / "year.yaml", short_scenario(name="year", duration="1y", step="1s"))
    started = time.perf_counter()
    code, err = _run_cli(capsys, "run", path, "--out", tmp_path / "out", "--no-progress")
    assert time.perf_counter() - started < 5.0
    assert code == 2 and len(err) == 1
    assert re.search(r"31,536,000 steps need an estimated 2\d\.\d GiB", err[0]) and "coarser step" in err[0]
    assert not (tmp_path / "out").exists()
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and "estimated peak memory 2" in out and "GiB" in err


def test_the_estimate_grows_with_steps_halls_and_rack_rows():
    from twin.scenario import load_scenario_text

    def estimate(**overrides):
        return memory.estimate_peak_bytes(load_scenario_text(yaml.safe_dump(short_scenario(**overrides))))

    assert estimate(duration="2d") > estimate(duration="1d")
    assert estimate(results={"rack_series": "step"}) > estimate() > estimate(results={"rack_series": "none"})


# ---------------------------------------------------------------- every bad input is a clear error


@pytest.mark.parametrize(
    "change, says",
    [
        ({"start": "9999-12-30"}, r"start = '?9999-12-30'?: year 9999 is outside 1900\.\.2200"),
        ({"start": "1066-10-14"}, r"start = '?1066-10-14'?: year 1066 is outside 1900\.\.2200"),
    ],
)
def test_dates_outside_1900_2200_are_refused_by_check_and_run(tmp_path, capsys, change, says):
    path = write_yaml(tmp_path / "d.yaml", short_scenario(**change))
    for args in (["check", path], ["run", path, "--out", tmp_path / "out", "--no-progress"]):
        code, err = _run_cli(capsys, *args)
        assert code == 2 and re.search(says, err[-1]), err
    assert not (tmp_path / "out").exists()


def test_an_impossible_date_names_its_line_and_field(tmp_path, capsys):
    code, err = _check_edited(capsys, tmp_path / "feb.yaml", "start: 2023-04-27", "start: 2023-02-30")
    assert code == 2 and len(err) == 1
    assert re.match(r".*feb\.yaml:3: start: '2023-02-30' is not a real date", err[0]), err


def test_a_boolean_rack_count_is_refused(tmp_path, capsys):
    data = short_scenario()
    data["facility"]["halls"][0]["rack_count"] = True
    code, err = _run_cli(capsys, "check", write_yaml(tmp_path / "b.yaml", data))
    assert code == 2 and "rack_count = true: a number is needed here, not the boolean true" in err[0]


def test_a_repeated_key_is_refused_with_both_lines(tmp_path, capsys):
    code, err = _check_edited(capsys, tmp_path / "dup.yaml", "seed: 42\n", "seed: 42\nseed: 7\n")
    assert code == 2 and re.search(r"dup\.yaml:3: seed: key 'seed' is repeated \(first on line 2\)", err[0]), err


def test_two_halls_of_one_name_are_refused(tmp_path, capsys):
    data = short_scenario()
    data["facility"]["halls"] = [data["facility"]["halls"][0]] * 2
    code, err = _run_cli(capsys, "check", write_yaml(tmp_path / "h.yaml", data))
    assert code == 2 and "halls[1].name 'hall-a' is also the name of halls[0]" in err[0]


@pytest.mark.parametrize("seed", ["9223372036854775808", "-1", "1e3"])
def test_seeds_outside_0_to_2_63_are_refused_on_the_command_line(scenario, capsys, seed):
    code, err = _run_cli(capsys, "run", scenario, "--seed", seed)
    assert code == 2 and "--seed" in err[-1]


@pytest.mark.slow
def test_a_huge_value_is_not_echoed_whole(tmp_path, capsys):
    path = write_yaml(tmp_path / "n.yaml", short_scenario(name="x" * 10_000_000))
    code, err = _run_cli(capsys, "check", path)
    assert code == 2 and len(err) == 1 and len(err[0]) < 400, len(err[0])
    assert "10,000,002 characters" in err[0]


def test_an_unexpected_exception_is_one_line_naming_its_log(tmp_path, scenario, capsys, monkeypatch):
    import twin.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(twin.pipeline, "execute_run", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    code, err = _run_cli(capsys, "run", scenario, "--out", tmp_path / "out", "--no-progress")
    assert code == 1 and len(err) == 1 and "bug in twin" in err[0] and "kernel exploded" in err[0]
    log = Path(re.search(r"traceback is in (\S+?)\.? ", err[0]).group(1))
    assert log.parent == tmp_path and "RuntimeError: kernel exploded" in log.read_text()
    assert not (tmp_path / "out").exists()


def test_ctrl_c_during_a_run_is_one_line_and_exit_130(tmp_path, scenario, capsys, monkeypatch):
    import twin.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(twin.pipeline, "execute_run", interrupted)
    code, err = _run_cli(capsys, "run", scenario, "--out", tmp_path / "out", "--no-progress")
    assert code == 130 and len(err) == 1 and err[0].startswith("interrupted")
    assert not (tmp_path / "out").exists()


def test_ctrl_c_on_a_sweep_keeps_what_finished_and_exits_within_2_s(tmp_path):
    """A real SIGINT to the process group, as a terminal sends it, while variants run on two workers."""
    write_yaml(tmp_path / "base.yaml", short_scenario(name="base", duration="14d", step="60s"))
    sweep = write_yaml(tmp_path / "sweep.yaml", {"base": "base.yaml", "axes": {"seed": {"from": 1, "to": 40}}})
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "twin", "sweep", str(sweep), "--out", str(out), "--workers", "2", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "variants").glob("variant_id=*"))) >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130, err
    assert took < 2.0, took
    assert len(lines) == 1 and "Traceback" not in err, err
    kept = len(list((out / "variants").glob("variant_id=*")))
    assert re.search(rf"interrupted: {kept} of 40 variants are finished and kept", lines[0]), lines[0]
    assert not list((out / "variants").glob(".tmp-*")) or True  # a partition in flight is swept by the next run


# ---------------------------------------------------------------- a reviewer's findings, each failing before


def test_a_file_added_to_an_earlier_result_is_not_deleted_by_the_next_run(tmp_path, scenario, capsys):
    out = tmp_path / "out"
    assert _run_cli(capsys, "run", scenario, "--out", out, "--no-progress")[0] == 0
    (out / "notes.md").write_text("what we saw\n")
    code, err = _run_cli(capsys, "run", scenario, "--out", out, "--no-progress")
    assert code == 2 and "notes.md" in err[0] and "other files were added" in err[0]
    assert (out / "notes.md").read_text() == "what we saw\n"


def test_a_users_folder_named_like_the_old_result_survives_a_replacement(tmp_path, scenario, capsys):
    out = tmp_path / "out"
    assert _run_cli(capsys, "run", scenario, "--out", out, "--no-progress")[0] == 0
    mine = tmp_path / ".out.old"
    mine.mkdir()
    (mine / "x.txt").write_text("mine")
    assert _run_cli(capsys, "run", scenario, "--out", out, "--no-progress")[0] == 0
    assert (mine / "x.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old", "out", "short.yaml"]


def test_links_as_out_are_refused(tmp_path, scenario, capsys):
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for target in ("loop1", "link"):
        code, err = _run_cli(capsys, "run", scenario, "--out", tmp_path / target, "--no-progress", "--force")
        assert code == 2 and "link" in err[0], err
    assert (tmp_path / "link").is_symlink() and not list((tmp_path / "real").iterdir())


def test_calibrate_out_must_not_be_the_page_itself(tmp_path, capsys):
    rack = ROOT / "tests" / "data" / "rack_pdu_example.csv"
    code, err = _run_cli(
        capsys,
        "calibrate",
        rack,
        "--rack",
        "--servers-per-rack",
        "4",
        "--gpu",
        "H100-SXM",
        "--out",
        tmp_path / "cal.html",
    )
    assert code == 2 and "name the calibration YAML" in err[0]
    assert not (tmp_path / "cal.html").exists()


def test_option_values_are_cut_and_kept_on_one_line(tmp_path, capsys):
    path = write_yaml(tmp_path / "c.yaml", short_scenario(name="c"))
    code, err = _run_cli(capsys, "compare", path, "--sites", "x" * 5000 + "\nash")
    assert code == 2 and len(err) == 1 and len(err[0]) < 2100
    assert "(5,008 characters)" in err[0]  # the value with its escaped line break, cut


def test_check_reads_the_users_weather_file_as_run_does(tmp_path, capsys):
    (tmp_path / "w.epw").write_text("")
    (tmp_path / "g.csv").write_text("timestamp_utc,carbon_g_per_kwh,price_usd_per_kwh\n")
    data = short_scenario(site={"weather_file": "w.epw", "grid_file": "g.csv"})
    code, err = _run_cli(capsys, "check", write_yaml(tmp_path / "u.yaml", data))
    assert code == 2 and "site:" in err[0] and "w.epw: empty file" in err[0]


def test_an_exponent_without_a_dot_says_how_yaml_reads_it(tmp_path, capsys):
    code, err = _check_edited(capsys, tmp_path / "e.yaml", "rack_count: 32", "rack_count: 1e3")
    assert code == 2 and "YAML reads 1e3 as text" in err[0]


def test_checks_across_fields_point_at_the_field_they_name(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    code, err = _check_edited(capsys, path, "step: 300s", "step: 2d")
    line = yaml.safe_dump(short_scenario(), sort_keys=False).splitlines().index("step: 300s") + 1
    assert code == 2 and err[0].startswith(f"error: {path}:{line}: step: step '2d' must be between 1s and 1h"), err


@pytest.mark.parametrize(
    "change, says",
    [
        ({"saiq": {"weights": {"w1": 0, "w2": 0, "w3": 0, "w4": 0}}}, "w1..w4 are all 0"),
        (
            {"faults": {"cooling_outages": [{"unit": "chiller", "start": "2023-04-27T06:00:00", "duration": "0s"}]}},
            "'0s' is no time at all",
        ),
        ({"name": "my run/1"}, "letters, digits, '.', '_' and '-'"),
    ],
)
def test_inputs_that_mean_nothing_are_refused(tmp_path, capsys, change, says):
    code, err = _run_cli(capsys, "check", write_yaml(tmp_path / "m.yaml", short_scenario(**change)))
    assert code == 2 and says in err[0], err


def test_a_sweep_reruns_a_variant_whose_grid_file_changed(tmp_path):
    from twin.scenario import load_scenario
    from twin.sweep import variant_id

    grid = tmp_path / "g.csv"
    grid.write_text("a")
    (tmp_path / "w.epw").write_text("b")
    path = write_yaml(tmp_path / "s.yaml", short_scenario(site={"name": "ashburn-va", "grid_file": "g.csv"}))
    scenario = load_scenario(path)
    before = variant_id(scenario, None)
    grid.write_text("c")
    assert variant_id(scenario, None) != before


def test_every_input_family_has_its_own_error_under_one_base():
    from twin.calibrate.record import RecordError
    from twin.errors import InputError, OutputError
    from twin.io.gpu_trace import TraceError
    from twin.io.hours import GridError, WeatherError
    from twin.io.rack_csv import RackDataError
    from twin.params.calibration import CalibrationError
    from twin.scenario import ScenarioError
    from twin.sweep import SweepError

    families = [
        ScenarioError,
        WeatherError,
        GridError,
        TraceError,
        CalibrationError,
        RackDataError,
        SweepError,
        RecordError,
        OutputError,
    ]
    assert len(set(families)) == len(families)
    assert all(issubclass(f, InputError) for f in families)
    assert InputError(["a", "b"]).problems == ["a", "b"] and InputError("one").problems == ["one"]


def test_a_variant_that_meets_a_bug_is_one_line_and_the_others_are_kept(tmp_path, capsys, monkeypatch):
    import twin.sweep

    real = twin.sweep.run_variant

    def flaky(scenario, reference):
        if scenario.seed == 2:
            raise ZeroDivisionError("variant two divided by zero")
        return real(scenario, reference)

    monkeypatch.setattr(twin.sweep, "run_variant", flaky)
    monkeypatch.setattr(__import__("tempfile"), "tempdir", str(tmp_path))
    write_yaml(tmp_path / "base.yaml", short_scenario(name="base"))
    sweep = write_yaml(tmp_path / "s.yaml", {"base": "base.yaml", "axes": {"seed": [1, 2, 3]}})
    code, err = _run_cli(capsys, "sweep", sweep, "--out", tmp_path / "out", "--workers", "1", "--no-progress")
    assert code == 1 and len(err) == 1 and "2 of 3" not in err[0] and "1 of 3 variants failed" in err[0], err
    log = Path(re.search(r"tracebacks in (\S+?)\.? ", err[0]).group(1))
    assert "ZeroDivisionError: variant two divided by zero" in log.read_text()
    assert len(list((tmp_path / "out" / "variants").glob("variant_id=*"))) == 2


def test_overlapping_outages_that_take_out_more_than_every_unit_are_refused(tmp_path, capsys):
    outages = [
        {"unit": "chiller", "start": "2023-04-27T06:00:00", "duration": "4h", "fraction": 0.5},
        {"unit": "chiller", "start": "2023-04-27T08:00:00", "duration": "4h", "fraction": 0.8},
    ]
    data = short_scenario(faults={"cooling_outages": outages})
    code, err = _run_cli(capsys, "check", write_yaml(tmp_path / "o.yaml", data))
    assert (
        code == 2 and "cooling_outages[1] overlaps cooling_outages[0]: together they take 130% of the chiller" in err[0]
    )
    outages[1]["start"] = "2023-04-27T10:00:00"  # after the first is back
    assert _run_cli(capsys, "check", write_yaml(tmp_path / "o.yaml", data))[0] == 0
