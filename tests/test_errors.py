"""Bad input through the real CLI: exit code 2, one clear message naming file, line and field, nothing written."""

import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "twin", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


CASES = {
    "negative_rack_count": (
        ("rack_count: 32", "rack_count: -4"),
        r"quickstart\.yaml:\d+: facility\.halls\[0\]\.rack_count = -4: .*greater than or equal to 1",
    ),
    "unknown_gpu": (
        ("gpu: H100-SXM ", "gpu: H900-SXM "),
        r"quickstart\.yaml:\d+: facility\.halls\[0\]\.gpu = 'H900-SXM': unknown GPU .*allowed: .*H100-SXM",
    ),
    "misspelt_key": (
        ("servers_per_rack: 4", "servers_per_rak: 4"),
        r"quickstart\.yaml:\d+: facility\.halls\[0\]\.servers_per_rak: unknown key .*did you mean 'servers_per_rack'",
    ),
    "bad_yaml_syntax": (("seed: 42", "seed: [42"), r"quickstart\.yaml:\d+: YAML syntax error"),
    "missing_weather_file": (
        ("  name: ashburn-va ", "  weather_file: nowhere/site.epw\n  name: ashburn-va "),
        r"quickstart\.yaml:\d+: site\.weather_file = 'nowhere/site\.epw': weather file .* not found",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_exits_2_with_one_clear_message_and_no_results(case, quickstart_copy):
    (old, new), pattern = CASES[case]
    text = quickstart_copy.read_text()
    assert old in text
    quickstart_copy.write_text(text.replace(old, new, 1))
    out = quickstart_copy.parent / "results_here"
    proc = _run(["run", str(quickstart_copy), "--out", str(out)], cwd=quickstart_copy.parent)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not list(quickstart_copy.parent.glob(".results_here*"))


def test_line_number_points_at_the_bad_key(quickstart_copy):
    text = quickstart_copy.read_text().replace("rack_count: 32", "rack_count: -4")
    quickstart_copy.write_text(text)
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "rack_count: -4" in line)
    proc = _run(["check", str(quickstart_copy)], cwd=quickstart_copy.parent)
    assert proc.returncode == 2
    assert f"quickstart.yaml:{line_no}:" in proc.stderr


def test_check_reports_every_problem_together(quickstart_copy):
    data = yaml.safe_load(quickstart_copy.read_text())
    data["facility"]["halls"][0]["rack_count"] = 0
    data["facility"]["halls"][0]["gpu"] = "X1"
    data["facility"]["cooling"]["type"] = "evaporative"
    quickstart_copy.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = _run(["check", str(quickstart_copy)], cwd=quickstart_copy.parent)
    assert proc.returncode == 2
    for field in ("rack_count", "gpu", "cooling.type"):
        assert field in proc.stderr
    assert "'air'" in proc.stderr  # the allowed value is named


def test_check_accepts_the_bundled_scenarios():
    proc = _run(["check", "scenarios/quickstart.yaml", "scenarios/reference-legacy.yaml"], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_bad_grid_file_is_refused_with_the_line(tmp_path, quickstart_copy):
    grid = tmp_path / "grid.csv"
    rows = ["timestamp_utc,carbon_g_per_kwh,price_usd_per_kwh,water_l_per_kwh"]
    rows += [f"2023-01-01T{h:02d}:00:00Z,400,0.05,2.0" for h in range(24)]
    rows.insert(5, rows[4])  # a duplicated hour
    grid.write_text("\n".join(rows) + "\n")
    text = quickstart_copy.read_text().replace("  name: ashburn-va ", "  grid_file: grid.csv\n  name: ashburn-va ", 1)
    quickstart_copy.write_text(text)
    proc = _run(["run", str(quickstart_copy), "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert proc.returncode == 2
    assert "grid.csv: line 6: duplicated hour" in proc.stderr
    assert not (tmp_path / "out").exists()
