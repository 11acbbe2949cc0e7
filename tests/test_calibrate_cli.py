"""`twin calibrate` end to end: a trace drawn by the kernels, written as an nvidia-smi log, is fitted
through the CLI; the calibration is checked on a second trace without refitting; a scenario that
references it runs with the calibrated GPU instead of the catalog's."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from twin import catalog
from twin.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from test_fit import _synthetic_trace  # noqa: E402

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"


def _write_smi(frame, path):
    """An nvidia-smi --format=csv log of a canonical frame (units in the cells, local stamps)."""
    lines = ["timestamp, power.draw [W], temperature.gpu, utilization.gpu [%], clocks.current.sm [MHz]"]
    for row in frame.itertuples():
        lines.append(
            f"{row.time_utc:%Y/%m/%d %H:%M:%S.%f}, {row.power_w:.2f} W, {row.temp_c:.0f}, "
            f"{row.util * 100:.0f} %, {row.sm_clock_mhz:.0f} MHz"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calib")
    traces = [_write_smi(_synthetic_trace(seed)[0], folder / f"trace{seed}.csv") for seed in (0, 1)]
    out = folder / "calib.yaml"
    assert main(["calibrate", str(traces[0]), "--gpu", "H100-SXM", "--out", str(out)]) == 0
    return folder, traces, out


def test_calibrate_writes_the_yaml_and_a_page_with_the_fit(calibrated, capsys):
    folder, _, out = calibrated
    doc = yaml.safe_load(out.read_text())
    truth_p, truth_t = _synthetic_trace(0)[1:]
    assert doc["gpu"] == "H100-SXM" and doc["power"]["idle_w"] == pytest.approx(truth_p["idle_w"], rel=0.05)
    assert doc["thermal"]["sink_r_k_per_w"] == pytest.approx(truth_t["sink_r_k_per_w"], rel=0.15)
    assert doc["held_out"][0]["power_mape_pct"] < 2.0 and doc["held_out"][0]["temp_rmse_k"] < 1.0
    page = (folder / "calib.html").read_text()
    assert "<svg" in page and "Held-out errors" in page


def test_check_evaluates_another_trace_without_refitting(calibrated, capsys):
    _, traces, out = calibrated
    capsys.readouterr()
    assert main(["calibrate", "--check", str(out), str(traces[1]), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (row,) = doc["traces"]
    assert row["trace"] == "trace1.csv" and row["power_mape_pct"] < 2.0 and row["temp_rmse_k"] < 1.5
    assert {"temp_max_error_k", "samples"} <= set(row)
    assert main(["calibrate", "--check", str(out), str(traces[1])]) == 0
    header, columns, line = capsys.readouterr().out.splitlines()
    assert "no refit" in header and "at load %" in columns and "at measured power" in columns
    assert line.split()[0] == "trace1.csv" and float(line.split()[1]) == pytest.approx(row["power_mape_pct"], abs=0.01)
    assert float(line.split()[2]) == pytest.approx(row["power_mape_load_pct"], abs=0.01)


def test_a_scenario_with_a_calibration_runs_the_calibrated_gpu(calibrated, tmp_path):
    from twin import pipeline
    from twin.scenario import load_scenario

    _, _, out = calibrated
    base = yaml.safe_load(QUICKSTART.read_text())
    base["duration"] = "1d"
    base["saiq"]["reference"]["scenario"] = str(QUICKSTART.parent / base["saiq"]["reference"]["scenario"])
    runs = {}
    for name, gpu in (
        ("catalog", base["facility"]["halls"][0]["gpu"]),
        ("calibrated", {"model": "H100-SXM", "calibration": str(out)}),
    ):
        base["facility"]["halls"][0]["gpu"] = gpu
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(base))
        runs[name] = pipeline.simulate(load_scenario(tmp_path / f"{name}.yaml"))
    assert load_scenario(tmp_path / "calibrated.yaml").facility.halls[0].gpu_calibration == out
    a, b = runs["catalog"], runs["calibrated"]
    # the serving curve fixes the power at its measured load (the activity maps to it through the calibrated
    # law); the calibrated leakage and thermal path move it, and the die temperatures, away from the catalog's
    power_change = np.abs(b["gpu_power_w"] / a["gpu_power_w"] - 1.0)
    temp_change = np.abs(b["gpu_die_temp_c"] - a["gpu_die_temp_c"])
    assert power_change.max() > 0.003 and temp_change.max() > 2.0, (power_change.max(), temp_change.max())
    # Each run's die rises over its inlet by its own thermal path: over a day the RC stores next to nothing, so
    # mean rise / mean GPU power is the series resistance, die + heat sink from the calibration, the catalog's
    # rise at TDP / TDP without it.
    thermal = yaml.safe_load(out.read_text())["thermal"]
    spec = catalog.load("gpus")["H100-SXM"]
    gpus = (
        base["facility"]["halls"][0]["rack_count"]
        * base["facility"]["halls"][0]["servers_per_rack"]
        * spec["server"]["gpus_per_server"]
    )
    for run, resistance_k_per_w in (
        (a, catalog.load("cooling")["air"]["gpu_die_rise_at_tdp_k"] / spec["tdp_w"]),
        (b, thermal["r_k_per_w"] + thermal["sink_r_k_per_w"]),
    ):
        rise_k = (run["gpu_die_temp_c"] - run["server_inlet_temp_c"]).mean()
        assert rise_k / (run["gpu_power_w"].mean() / gpus) == pytest.approx(resistance_k_per_w, rel=0.01)


@pytest.mark.parametrize(
    "argv, says",
    [
        (["calibrate", "missing.csv", "--gpu", "H100-SXM", "--out", "x.yaml"], "not found"),
        (["calibrate", "{trace}", "--gpu", "H999", "--out", "x.yaml"], "unknown GPU"),
        (["calibrate", "--check", "missing.yaml", "{trace}"], "calibration file not found"),
    ],
)
def test_bad_calibrate_input_exits_2_and_writes_nothing(calibrated, tmp_path, monkeypatch, capsys, argv, says):
    _, traces, _ = calibrated
    monkeypatch.chdir(tmp_path)
    assert main([a.replace("{trace}", str(traces[0])) for a in argv]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()


def test_the_readers_repairs_are_shown_in_the_report_the_page_and_check(calibrated, tmp_path, capsys):
    _, traces, _ = calibrated
    lines = traces[0].read_text().splitlines()
    damaged = tmp_path / "damaged.csv"
    damaged.write_text("\n".join(lines[:100] + lines[95:100] + lines[100:] + ["2024/01/01 00:0"]) + "\n")
    out = tmp_path / "d.yaml"
    capsys.readouterr()
    assert main(["calibrate", str(damaged), "--gpu", "H100-SXM", "--out", str(out)]) == 0
    said = (
        "damaged.csv: 1 truncated or malformed line(s) skipped",
        "damaged.csv: rows out of time order: sorted",
        "damaged.csv: 5 exact duplicate row(s) dropped",
    )
    report = capsys.readouterr().out
    assert "repairs made in reading the traces:" in report and all(s in report for s in said)
    page = (tmp_path / "d.html").read_text()
    assert all(f"<li>{s}</li>" in page for s in said)
    assert main(["calibrate", "--check", str(out), str(damaged)]) == 0
    checked = capsys.readouterr().out
    assert all(s in checked for s in said)
    assert main(["calibrate", "--check", str(out), str(damaged), str(traces[1]), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["traces"]
    assert [len(r["repairs"]) for r in rows] == [3, 0]
    assert "<p>None: every line was read as written.</p>" in (traces[0].parent / "calib.html").read_text()


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("clock_w", 10**400, "power.clock_w = 1000000000000000000000000000000000000000 is not a finite number"),
        ("idle_w", float("inf"), "power.idle_w = inf is not a finite number"),
        ("max_clock_mhz", 0, "power.max_clock_mhz = 0 is out of its physical range (> 0 and <= 5000)"),
        ("power_limit_w", -100, "power.power_limit_w = -100 is out of its physical range (> 0 and <= 5000)"),
        ("coolant_c", 1e6, "thermal.coolant_c = 1e+06 is out of its physical range (>= -40 and <= 150)"),
        ("r_k_per_w", 1000.0, "thermal.r_k_per_w = 1000 is out of its physical range (> 0 and <= 1)"),
        ("dynamic_w", 1e6, "power.dynamic_w = 1e+06 is out of its physical range (> 0 and <= 5000)"),
    ],
)
def test_a_calibration_with_an_impossible_value_is_refused_naming_field_and_range(
    calibrated, tmp_path, capsys, field, value, says
):
    """Before: a 400-digit integer crashed with OverflowError, infinities and a 0 clock were accepted."""
    _, traces, out = calibrated
    doc = yaml.safe_load(out.read_text())
    doc["thermal" if field in ("coolant_c", "r_k_per_w") else "power"][field] = value
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    assert main(["calibrate", "--check", str(bad), str(traces[1])]) == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize(
    "out, says",
    [
        ("folder", "is a folder; --out names the calibration file"),
        ("page_folder/calib.yaml", "calib.html is a folder"),
        ("{trace}", "is one of the input files; writing it would replace the measurements"),
    ],
)
def test_an_out_path_that_cannot_be_written_is_refused_before_fitting(calibrated, tmp_path, capsys, out, says):
    _, traces, _ = calibrated
    trace = tmp_path / "trace.csv"
    trace.write_bytes(traces[0].read_bytes())
    (tmp_path / "folder").mkdir()
    (tmp_path / "page_folder" / "calib.html").mkdir(parents=True)
    target = str(trace) if out == "{trace}" else str(tmp_path / out)
    assert main(["calibrate", str(trace), "--gpu", "H100-SXM", "--out", target]) == 2
    assert says in capsys.readouterr().err
    assert trace.read_bytes() == traces[0].read_bytes() and not (tmp_path / "page_folder" / "calib.yaml").exists()


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("heat_side", "oil", "rack.heat_side = 'oil'; allowed: air, liquid"),
        ("fan_speed_at_ref", 50.0, "rack.fan_speed_at_ref = 50 is a fraction (allowed 0..1)"),
        ("host_idle_w", 1e9, "rack.host_idle_w = 1e+09 exceeds host_max_w"),
    ],
)
def test_a_rack_calibration_with_an_impossible_value_is_refused(tmp_path, field, value, says):
    from twin.params import calibration

    out = tmp_path / "rack.yaml"
    assert (
        main(
            [
                "calibrate",
                "--rack",
                str(Path(__file__).parent / "data" / "rack_pdu_example.csv"),
                "--gpu",
                "H100-SXM",
                "--servers-per-rack",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    doc = yaml.safe_load(out.read_text())
    doc["rack"][field] = value
    out.write_text(yaml.safe_dump(doc))
    with pytest.raises(calibration.CalibrationError, match=re.escape(says)):
        calibration.read_rack(out, "H100-SXM")


def _unfittable(frame, case):
    """The synthetic trace made unusable for a fit in one way."""
    frame = frame.copy()
    if case == "idle":
        frame["util"], frame["power_w"], frame["sm_clock_mhz"] = 0.0, 70.0, 345.0
    elif case == "clock_0":
        frame["sm_clock_mhz"] = 0.0
    elif case == "no_util":
        frame["util"] = np.nan
    elif case == "util_as_fraction":
        frame["util"] = frame["util"] / 100.0
    elif case == "milliwatts_as_watts":
        frame["power_w"] = frame["power_w"] / 1000.0
    return frame


@pytest.mark.parametrize(
    "case, says",
    [
        ("idle", "trace.csv: 0 sample(s) at load (utilisation >= 50%) in the fitted first 60%; at least 20 are needed"),
        ("clock_0", "trace.csv: sm_clock_mhz (clocks.current.sm) is 0 in every sample"),
        ("no_util", "trace.csv: no value of util (utilization.gpu): the fit needs power, temperature, utilisation"),
        ("milliwatts_as_watts", "trace.csv: power_w (power.draw) is 0.0"),
        ("util_as_fraction", "(utilisation peaks at 1%: a column logged as a 0-1 fraction?"),
    ],
)
def test_a_trace_the_kernels_cannot_be_fitted_to_is_refused_naming_it_and_what_it_lacks(tmp_path, capsys, case, says):
    """Before: an idle trace wrote a calibration with NaN uncertainties; a 0 clock said 'Residuals are not
    finite'; no utilisation 'only 0 samples have ...' without the file."""
    trace = tmp_path / "trace.csv"
    frame = _unfittable(_synthetic_trace(0)[0], case)
    if case == "no_util":
        _write_smi(frame.fillna(0.0), trace)
        lines = trace.read_text().splitlines()
        trace.write_text("\n".join(line.rsplit(",", 2)[0] + "," + line.rsplit(",", 1)[1] for line in lines) + "\n")
    else:
        _write_smi(frame, trace)
    assert main(["calibrate", str(trace), "--gpu", "H100-SXM", "--out", str(tmp_path / "x.yaml")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists() and not (tmp_path / "x.html").exists()


def test_a_rack_calibration_sets_the_halls_host_power(tmp_path):
    from twin import pipeline
    from twin.scenario import load_scenario

    rack_csv = Path(__file__).parent / "data" / "rack_pdu_example.csv"
    out = tmp_path / "rack_calib.yaml"
    assert (
        main(["calibrate", "--rack", str(rack_csv), "--gpu", "H100-SXM", "--servers-per-rack", "4", "--out", str(out)])
        == 0
    )
    fitted = yaml.safe_load(out.read_text())["rack"]
    base = yaml.safe_load(QUICKSTART.read_text())
    base["duration"] = "1d"
    base["saiq"]["reference"]["scenario"] = str(QUICKSTART.parent / base["saiq"]["reference"]["scenario"])
    frames = {}
    for name, extra in (("catalog", {}), ("rack", {"rack_calibration": str(out)})):
        base["facility"]["halls"][0] = {**base["facility"]["halls"][0], **extra}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(base))
        frames[name] = pipeline.simulate(load_scenario(tmp_path / f"{name}.yaml"))
    hall = base["facility"]["halls"][0]
    servers = hall["rack_count"] * hall["servers_per_rack"]
    util = frames["rack"]["gpu_utilization"]
    expected = servers * (fitted["host_idle_w"] + (fitted["host_max_w"] - fitted["host_idle_w"]) * util)
    np.testing.assert_allclose(frames["rack"]["host_power_w"], expected, rtol=1e-9)
    assert not np.allclose(frames["catalog"]["host_power_w"], frames["rack"]["host_power_w"], rtol=0.01)


def test_a_rack_calibration_writes_a_page_of_measured_and_modelled_power_and_shows_its_repairs(tmp_path, capsys):
    lines = (Path(__file__).parent / "data" / "rack_pdu_example.csv").read_text().splitlines()
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], *lines[1:][::-1]]) + "\n")
    out = tmp_path / "rack.yaml"
    assert (
        main(["calibrate", "--rack", str(shuffled), "--gpu", "H100-SXM", "--servers-per-rack", "4", "--out", str(out)])
        == 0
    )
    said = capsys.readouterr().out
    assert "repaired in reading shuffled.csv: lines out of time order: sorted" in said and "rack.html" in said
    assert yaml.safe_load(out.read_text())["rack"]["repairs"] == ["lines out of time order: sorted"]
    page = (tmp_path / "rack.html").read_text()
    assert page.count("<svg") == 1 and "Rack r07: PDU power" in page and "heat captured" in page
    assert "<li>lines out of time order: sorted</li>" in page and "held out: PDU power MAPE" in page


@pytest.mark.parametrize(
    "hall, says",
    [
        (
            {"gpu": {"model": "A100-SXM", "calibration": "{calib}"}},
            "calibrates H100-SXM, but the hall's gpu model is A100-SXM",
        ),
        (
            {"gpu": {"model": "H100-SXM", "calibration": "nowhere.yaml"}},
            "gpu calibration file 'nowhere.yaml' not found",
        ),
        ({"gpu": {"model": "H100-SXM", "calibrate": "{calib}"}}, "takes 'model' and optionally 'calibration'"),
        ({"rack_calibration": "{calib}"}, "no 'rack' section"),
        ({"gpu": {"model": "H100-SXM", "calibration": "{calib}"}, "gpu_calibration": "{calib}"}, "calibration once"),
    ],
)
def test_a_scenario_with_an_unusable_calibration_is_refused_naming_the_field(calibrated, tmp_path, capsys, hall, says):
    _, _, out = calibrated
    base = yaml.safe_load(QUICKSTART.read_text())
    base["saiq"]["reference"]["scenario"] = str(QUICKSTART.parent / base["saiq"]["reference"]["scenario"])
    text = yaml.safe_dump(hall).replace("{calib}", str(out))
    base["facility"]["halls"][0].update(yaml.safe_load(text))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(base))
    assert main(["check", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err
    assert "facility.halls[0]" in err and says in err, err


def test_a_calibration_traced_in_air_is_refused_under_liquid_cooling(calibrated, tmp_path, capsys):
    _, _, out = calibrated
    base = yaml.safe_load(QUICKSTART.read_text())
    base["saiq"]["reference"]["scenario"] = str(QUICKSTART.parent / base["saiq"]["reference"]["scenario"])
    base["facility"]["halls"][0]["gpu"] = {"model": "H100-SXM", "calibration": str(out)}
    base["facility"]["cooling"] = {"type": "direct_to_chip", "liquid_class": "W32"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(base))
    assert main(["check", str(tmp_path / "s.yaml")]) == 2
    assert "traced on a air-cooled card" in capsys.readouterr().err


def test_a_calibration_written_before_the_utilisation_lag_still_checks(calibrated, tmp_path, capsys):
    """util_lag_s (a sensor property, fitted since) reads as 0 where a file lacks it; out of 0-1 s it is refused."""
    _, traces, out = calibrated
    doc = yaml.safe_load(out.read_text())
    assert doc["power"]["util_lag_s"] == 0.0  # the synthetic trace is sampled every ~1.1 s: no lag resolved
    del doc["power"]["util_lag_s"]
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(doc))
    assert main(["calibrate", "--check", str(old), str(traces[1]), "--json"]) == 0
    captured = capsys.readouterr()
    assert "refit it" in json.loads(captured.out)["note"] and "refit it" in captured.err
    doc["power"]["util_lag_s"] = 5.0
    old.write_text(yaml.safe_dump(doc))
    assert main(["calibrate", "--check", str(old), str(traces[1])]) == 2
    assert (
        "power.util_lag_s = " in (err := capsys.readouterr().err)
        and "is out of its physical range (>= 0 and <= " in err
    )
