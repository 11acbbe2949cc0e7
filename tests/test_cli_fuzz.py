"""The CLI never answers with a traceback: generated scenarios, weather files and command lines, run
in-process through main(), exit 0 or 2, and a 2 is one 'error:' line per problem with no output left.

Scenarios are mutations of every bundled scenario (values of the wrong type, extreme numbers, unicode,
huge strings, keys dropped, added or repeated, text cut or spliced), made short (one day at one hour,
the SAIQ reference alike) so that the valid ones run to the end. Weather files are a synthetic EPW with
cells, header fields and lines damaged. Command lines draw commands, options and values from what a
user types. CI replays a derandomised set (TWIN_FUZZ_EXAMPLES, default below); to explore:
TWIN_HYPOTHESIS_EXPLORE=1 TWIN_FUZZ_EXAMPLES=2000 python -m pytest tests/test_cli_fuzz.py
"""

import contextlib
import copy
import io
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import SCENARIOS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from twin.cli import main

EXAMPLES = int(os.environ.get("TWIN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
SHORT = {"duration": "1d", "step": "1h"}
BUNDLED = {p.name: yaml.safe_load(p.read_text()) for p in sorted(SCENARIOS.glob("*.yaml"))}
BUNDLED = {name: doc for name, doc in BUNDLED.items() if "axes" not in doc}  # sweep files are not scenarios
REFERENCE = {**BUNDLED["reference-legacy.yaml"], **SHORT}


def _short(doc):
    doc = {**copy.deepcopy(doc), **SHORT}
    for outage in (doc.get("faults") or {}).get("cooling_outages", []) + (doc.get("faults") or {}).get(
        "power_outages", []
    ):
        outage["start"] = f"{doc['start']}T06:00:00"
    if "demand_response" in doc.get("facility", {}):
        for window in doc["facility"]["demand_response"]:
            window["start"] = f"{doc['start']}T06:00:00"
    return doc


SHORTENED = {name: _short(doc) for name, doc in BUNDLED.items()}

# ---------------------------------------------------------------- values a user (or a mishap) puts in

NUMBERS = st.sampled_from(
    [
        0,
        -1,
        1,
        2,
        2**31,
        2**63 - 1,
        2**63,
        -(2**63) - 1,
        10**400,
        1e308,
        -1e308,
        1e-320,
        0.5,
        float("nan"),
        float("inf"),
        float("-inf"),
    ]
)
WORDS = st.sampled_from(
    [
        "7d",
        "1y",
        "10y",
        "1s",
        "0s",
        "-5m",
        "60s",
        "1h",
        "15m",
        "2023-02-30",
        "9999-12-30",
        "1066-10-14",
        "2023-04-27",
        "2023-07-20T14:00",
        "H100-SXM",
        "H900",
        "air",
        "immersion",
        "direct_to_chip",
        "ashburn-va",
        "phoenix-az",
        "nowhere",
        "../x.epw",
        "/dev/null",
        "",
        " ",
        "null",
        "true",
        "NaN",
        "1e999",
        "hall-a",
        "llama-3.1-70b",
        "W32",
        "N+1",
        "fifo",
    ]
)
HUGE = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\u202e", "0", " a"]), st.integers(1_000, 200_000))
SCALARS = st.one_of(st.booleans(), st.none(), NUMBERS, st.integers(), st.floats(), WORDS, st.text(max_size=30), HUGE)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=8), SCALARS, max_size=2))


def _paths(node, path=()):
    """Every path to a mapping value or list item of a document."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        out.append(path + (key,))
        out.extend(_paths(value, path + (key,)))
    return out


def _parent(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_scenario(draw):
    """(file name, YAML text) of a bundled scenario with one to three mutations."""
    name = draw(st.sampled_from(sorted(SHORTENED)))
    doc = copy.deepcopy(SHORTENED[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        op = draw(st.sampled_from(["set", "set", "set", "drop", "add"]))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        if op == "set":
            parent[path[-1]] = draw(VALUES)
        elif op == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=12), WORDS))] = draw(VALUES)
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10**9)
    except (yaml.YAMLError, ValueError, RecursionError):
        text = yaml.safe_dump(SHORTENED[name], sort_keys=False)
    lines = text.splitlines(keepends=True)
    edit = draw(st.sampled_from(["none", "none", "none", "repeat", "cut", "splice"]))
    if edit == "repeat" and lines:
        k = draw(st.integers(0, len(lines) - 1))
        lines.insert(k, lines[k])
    elif edit == "cut":
        text = "".join(lines)
        lines = [text[: draw(st.integers(0, len(text)))]]
    elif edit == "splice":
        text = "".join(lines)
        at = draw(st.integers(0, len(text)))
        lines = [
            text[:at],
            draw(
                st.sampled_from(
                    ["\t", ":", "- ", "{", "]", "'", "\0", "\ufeff", "&a", "*a", "!!python/object:os.system ", "\udcff"]
                )
            ),
            text[at:],
        ]
    return name, "".join(lines)


def _call(argv):
    """(exit code, stdout, stderr) of main(argv) in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse refuses its own options this way
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _assert_clean(argv, code, err, outputs, folder):
    event(f"{argv[0]} exit {code}")  # --hypothesis-show-statistics counts them
    assert code in (0, 2), (argv, code, err[-3000:])
    assert "Traceback" not in err, (argv, err[-3000:])
    if code == 2:
        lines = [line for line in err.split("\n") if line.strip()]  # argparse echoes a value's own \r
        assert lines, argv
        assert all(line.startswith(("error: ", "usage: ", "python -m twin", " ")) for line in lines), (argv, lines)
        assert all(len(line) <= 2100 for line in lines), argv
        for out in outputs:
            assert not Path(out).exists(), (argv, out)
        assert not (folder / "results").exists(), argv
        assert not [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith((".tmp", ".old"))], argv


@contextlib.contextmanager
def _workdir():
    """A fresh folder holding the short reference scenario, made the current folder."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "reference-legacy.yaml").write_text(yaml.safe_dump(REFERENCE, sort_keys=False))
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(here)


@FUZZ
@given(mutated_scenario(), st.sampled_from(["run", "check"]))
def test_mutated_scenarios_exit_0_or_2_with_one_line_per_problem(case, command):
    name, text = case
    with _workdir() as folder:
        path = folder / name
        try:
            path.write_text(text, encoding="utf-8", errors="surrogateescape")
        except UnicodeEncodeError:
            path.write_bytes(text.encode("utf-8", "replace"))
        argv = [command, path] + (["--out", folder / "out", "--no-progress"] if command == "run" else [])
        code, _, err = _call(argv)
        _assert_clean(argv, code, err, [folder / "out"], folder)


# ---------------------------------------------------------------- weather files


def _epw_lines():
    header = [
        "LOCATION,FUZZ,-,XXX,test,000000,40.0,-77.0,-5.0,100.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,fuzz",
        "COMMENTS 2,fuzz",
        "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
    ]
    rows = [
        f"2001,{day.month},{day.day},{hour},60,?,20.0,12.0,60,100000,0,0,300,200,100,50,"
        "0,0,0,0,180,2.0,5,5,16.0,77777,9,999999999,40,0.1,0,88,0.2,0.0,0.0"
        for day in pd.date_range("2001-01-01", periods=365, freq="D")
        for hour in range(1, 25)
    ]
    return header + rows


EPW = _epw_lines()
CELLS = st.one_of(
    st.sampled_from(
        [
            "abc",
            "",
            "99.9",
            "999",
            "9999",
            "-9900",
            "70",
            "65",
            "-80",
            "1e9",
            "nan",
            "inf",
            "12,5",
            " ",
            "0x10",
            "25",
            "31",
            "35",
            "101",
            "-1",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def damaged_epw(draw):
    lines = list(EPW)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cell", "cell", "header", "drop", "repeat", "cut", "hot"]))
        if not lines:
            break
        if op in ("cell", "header"):
            k = 0 if op == "header" else draw(st.integers(8, len(lines) - 1)) if len(lines) > 8 else 0
            parts = lines[k].split(",")
            parts[draw(st.integers(0, len(parts) - 1))] = draw(CELLS)
            lines[k] = ",".join(parts)
        elif op == "drop" and lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
        elif op == "repeat" and lines:
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
        elif op == "cut":
            lines = lines[: draw(st.integers(0, len(lines)))]
        elif op == "hot" and len(lines) > 8:  # a heat wave beyond any record: dry-bulb and dew point raised
            k = draw(st.integers(8, len(lines) - 1))
            parts = lines[k].split(",") + [""] * 8  # a damaged row may be short
            parts[6], parts[7] = str(draw(st.floats(30, 75))), str(draw(st.floats(20, 70)))
            lines[k] = ",".join(parts).rstrip(",")
    return "\n".join(lines) + "\n"


GRID = pd.DataFrame(
    {
        "timestamp_utc": pd.date_range("2023-01-01", periods=8760, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "carbon_g_per_kwh": 400.0,
        "price_usd_per_kwh": 0.08,
        "water_l_per_kwh": 2.0,
    }
).to_csv(index=False)


@pytest.mark.slow
@FUZZ
@given(damaged_epw())
def test_damaged_weather_files_exit_0_or_2(epw_text):
    with _workdir() as folder:
        (folder / "w.epw").write_text(epw_text)
        (folder / "g.csv").write_text(GRID)
        doc = {k: v for k, v in SHORTENED["quickstart.yaml"].items() if k != "saiq"}
        doc.update(start="2023-06-15", site={"weather_file": "w.epw", "grid_file": "g.csv"})
        (folder / "s.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        argv = ["run", folder / "s.yaml", "--out", folder / "out", "--no-progress"]
        code, _, err = _call(argv)
        _assert_clean(argv, code, err, [folder / "out"], folder)


# ---------------------------------------------------------------- command lines

OPTION_VALUES = st.one_of(
    st.sampled_from(
        [
            "0",
            "1",
            "-1",
            "2",
            "9223372036854775807",
            "9223372036854775808",
            "1e3",
            "abc",
            "",
            "2026-2027",
            "2027-2026",
            "1900-2300",
            "ashburn-va",
            "ashburn-va,phoenix-az",
            "nowhere",
            "ashburn-va,ashburn-va",
            "central",
            "low,nowhere",
            "out",
            ".",
            "..",
            "/proc/x",
            "s.yaml",
            "x.parquet",
            "tcp:/nowhere",
            "H100-SXM",
            "H900",
            "0.1",
            "10m",
            "-5s",
        ]
    ),
    st.text(max_size=10),
)
OPTIONS = [
    "--out",
    "--seed",
    "--sites",
    "--workers",
    "--years",
    "--storylines",
    "--json",
    "--no-progress",
    "--force",
    "--gpu",
    "--interval",
    "--duration",
    "--cluster",
    "--check",
    "--rack",
    "--servers-per-rack",
    "--bogus",
]
FLAGS = {"--json", "--no-progress", "--force", "--rack"}


@st.composite
def command_line(draw):
    command = draw(
        st.sampled_from(
            ["run", "check", "sites", "compare", "forecast", "sweep", "record", "calibrate", "nonsense", "--help-me"]
        )
    )
    argv = [command]
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(["s.yaml", "sweep.yaml", "missing.yaml", "w.epw", "", "ashburn-va", "."])))
    for option in draw(st.lists(st.sampled_from(OPTIONS), max_size=4)):
        argv.append(option)
        if option not in FLAGS:
            argv.append(draw(OPTION_VALUES))
    return argv


@FUZZ
@given(command_line())
def test_generated_command_lines_exit_0_or_2(argv):
    with _workdir() as folder:
        doc = {**SHORTENED["siting.yaml"], "sites": ["ashburn-va", "stockholm-se"]}
        (folder / "s.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        (folder / "sweep.yaml").write_text(yaml.safe_dump({"base": "s.yaml", "axes": {"seed": [1, 2]}}))
        if "--workers" not in argv and argv[0] in ("compare", "sweep"):
            argv = argv + ["--workers", "1"]
        outs = [folder / argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--out"]
        outs = [o for o in outs if not o.exists()]  # what a refused command must not have created
        code, _, err = _call(argv)
        _assert_clean(argv, code, err, outs, folder)
