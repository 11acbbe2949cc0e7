"""The command line's parser: every command, its options and their help."""

import argparse
from pathlib import Path

from twin.errors import clip, one_line

SEED_MAX = 2**63 - 1  # the scenario's seed field allows the same range (numpy's SeedSequence takes any)


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{clip(text)}' is not a whole number") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{clip(value)} is outside 0..2^63-1 ({SEED_MAX})")
    return value


def _force(parser, what):
    parser.add_argument(
        "--force", action="store_true", help=f"replace {what} even when it holds files twin did not write there"
    )


class _Parser(argparse.ArgumentParser):
    """argparse, with a refused value's line breaks escaped: its error stays one line."""

    def error(self, message):
        super().error(one_line(message))


def build_parser():
    parser = _Parser(
        prog="python -m twin",
        description="twin: a digital twin of AI data centers. Simulates GPU racks, cooling, power chain and "
        "grid for a scenario and reports PUE, WUE, CUE, REF, ERF and SAIQ per token.",
        epilog="Run 'python -m twin COMMAND --help' for the options of each command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="simulate a scenario and write its results",
        description="Simulate a scenario YAML and write timeseries.parquet (one row per step) and summary.json "
        "(totals, KPIs, SAIQ) into the output folder, then print a summary table. The folder is "
        "written atomically: an interrupted run leaves no partial results.",
    )
    run.add_argument("scenario", type=Path, help="scenario YAML file (see scenarios/quickstart.yaml)")
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="results folder (default: results/<scenario name>); an earlier result of run there is "
        "replaced once the new one is complete, a folder of other files is refused",
    )
    _force(run, "the --out folder")
    run.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="N",
        help="random seed overriding the scenario's 'seed' (demand noise); same seed, same results",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print summary.json to stdout instead of the table (exactly one JSON document)",
    )
    run.add_argument("--no-progress", action="store_true", help="never show the progress bar")

    check = sub.add_parser(
        "check",
        help="validate scenarios without running them",
        description="Validate scenario YAML files and explain every problem (file, line, field, value, what is "
        "allowed). Exit 0 when all are valid, 2 otherwise. Nothing is written.",
    )
    check.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML file(s)")

    sites = sub.add_parser(
        "sites",
        help="list the bundled sites, or show one in detail",
        description="Without NAME: one line per bundled site (region, climate, annual mean dry-bulb and wet-bulb, "
        "hours of full economiser cooling, grid carbon, grid water, price). With NAME: that site's "
        "coordinates, time zone, monthly figures and the source of every series.",
    )
    sites.add_argument("name", nargs="?", help="a site name from the listing")
    sites.add_argument("--json", action="store_true", help="print the listing (or the site) as one JSON document")

    compare = sub.add_parser(
        "compare",
        help="run one design at several sites and rank them by SAIQ",
        description="Run the scenario's design at each site (the scenario's 'sites:' list, or --sites) on all "
        "cores, print a ranking by SAIQ index (by SAIQ raw when the scenario has no reference) with its "
        "four components, PUE, WUE, CUE, energy, water, carbon and cost, and write comparison.parquet, "
        "comparison.json and report.html into the output folder, atomically.",
    )
    compare.add_argument("scenario", type=Path, help="scenario YAML file (see scenarios/siting.yaml)")
    compare.add_argument(
        "--sites", metavar="A,B,C", help="comma-separated bundled site names (overrides the scenario's sites:)"
    )
    compare.add_argument("--workers", type=int, default=None, metavar="N", help="parallel runs (default: all cores)")
    _results_options(
        compare, "results/<scenario name>-compare; an earlier comparison there is replaced", "comparison.json"
    )

    fc = sub.add_parser(
        "forecast",
        help="year-by-year SAIQ of a design under named storylines",
        description="Run the scenario once per year and storyline (catalog forecast.yaml: grid decarbonisation, "
        "warming, GPU efficiency, demand growth and rebound, each with its source), print SAIQ and its "
        "components per year, and write forecast.parquet, forecast.json and report.html.",
    )
    fc.add_argument("scenario", type=Path, help="scenario YAML file")
    fc.add_argument("--years", default="2026-2035", metavar="FIRST-LAST", help="years to forecast (default 2026-2035)")
    fc.add_argument("--storylines", metavar="A,B", help="storylines to run (default: all in the catalog)")
    _results_options(fc, "results/<scenario name>-forecast; an earlier forecast there is replaced", "forecast.json")

    validate = sub.add_parser(
        "validate",
        help="run the twin against published figures and real GPU traces",
        description="Run every case in validation/ and print, per case: source, published value or range, the "
        "twin's value, tolerance and pass/fail. Exit 0 when all pass, 1 when any fails, except a case "
        "marked as a known gap, which prints FAIL with its reason and fails only beyond its own limit.",
    )
    validate.add_argument("--only", metavar="TEXT", help="run only the validation modules whose name contains TEXT")
    validate.add_argument("--json", action="store_true", help="print the cases as one JSON document")

    cal = sub.add_parser(
        "calibrate",
        help="fit the twin's GPU (or rack) kernels to your own measurements",
        description="Fit the simulator's GPU power and thermal kernels to nvidia-smi / DCGM / canonical traces "
        "(the first 60 % of each trace fits, the rest is held out), print the fit report, write the "
        "calibration YAML (reference it from a scenario: gpu: {model: NAME, calibration: FILE}) and an "
        "HTML page of measured vs simulated power and temperature. --check evaluates an existing "
        "calibration on other traces without refitting; --rack fits server overhead, fan law and heat "
        "capture to a rack PDU CSV.",
    )
    cal.add_argument("traces", type=Path, nargs="*", metavar="TRACE", help="trace files (or one rack CSV with --rack)")
    cal.add_argument("--gpu", metavar="MODEL", help="catalog GPU the traces are of (python -m twin check lists them)")
    cal.add_argument("--out", type=Path, metavar="FILE", help="calibration YAML to write (an HTML page goes beside it)")
    cal.add_argument("--cooling", choices=("air", "liquid"), default="air", help="how the traced card was cooled")
    cal.add_argument("--timezone", default="UTC", help="time zone of nvidia-smi's local timestamps (default UTC)")
    cal.add_argument("--check", type=Path, metavar="CALIB", help="evaluate this calibration on the traces, no refit")
    cal.add_argument(
        "--rack", action="store_true", help="the trace is a rack measurement CSV (README: rack calibration)"
    )
    cal.add_argument("--servers-per-rack", type=int, metavar="N", help="servers in the measured rack (with --rack)")
    cal.add_argument("--json", action="store_true", help="print the result as one JSON document")
    _force(cal, "--out and its page")

    sw = sub.add_parser(
        "sweep",
        help="run every variant of a sweep file, on this machine or a Dask cluster",
        description="Run a base scenario over the axes of a sweep file (any scenario field by dotted path; lists or "
        "{from, to, step} ranges; grid or zip). Each finished variant is written atomically as its own "
        "parquet partition; run the same command again after a kill and it skips what is done. Prints the "
        "variants ranked by SAIQ and writes sweep.json and report.html.",
    )
    sw.add_argument("sweep", type=Path, help="sweep YAML file (see scenarios/sweep-cooling.yaml)")
    where = sw.add_mutually_exclusive_group()
    where.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="a Dask scheduler, e.g. tcp://host:8786 (its workers need "
        "twin installed and the scenario's own files at the same paths)",
    )
    where.add_argument("--workers", type=int, metavar="N", help="local processes (default: all cores)")
    _results_options(sw, "results/<sweep name>-sweep; finished variants in it are kept", "sweep.json")

    rec = sub.add_parser(
        "record",
        help="record a live NVML trace of this machine's GPUs",
        description="Sample every NVIDIA GPU through NVML (nvidia-ml-py): power, temperatures, SM clock, "
        "utilisation, power limit and clock-event reasons, into twin's canonical parquet trace. "
        "Exit 2 where there is no NVIDIA driver or GPU.",
    )
    rec.add_argument("--out", type=Path, required=True, metavar="FILE.parquet", help="trace to write")
    rec.add_argument("--interval", type=float, default=0.1, metavar="S", help="seconds between samples (default 0.1)")
    rec.add_argument("--duration", default="10m", metavar="D", help="how long: 90s, 10m, 1h (default 10m)")
    _force(rec, "an existing --out trace")
    return parser


def _results_options(parser, default_out, document):
    """--out, --json and --no-progress of a command that writes a results folder and one JSON document."""
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help=f"results folder (default: {default_out})"
    )
    parser.add_argument("--json", action="store_true", help=f"print {document} to stdout instead of the table")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    _force(parser, "the --out folder")
