"""Command line: python -m twin <command> ...

Exit codes: 0 success, 2 bad input (scenario, site files, traces, options, an output that would destroy a
file), 1 a bug (the traceback goes to a log file named on the one line printed), 130 interrupted (Ctrl-C).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from twin import files
from twin.errors import clip, one_line

EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


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


class _LazyProgress:
    """A progress bar that appears only when a run has taken longer than a couple of seconds."""

    def __init__(self, label, enabled, delay_s=1.5):
        self.label, self.enabled, self.delay_s = label, enabled, delay_s
        self.started = time.perf_counter()
        self.bar = None
        self.task = None

    def __call__(self, done, total):
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.started < self.delay_s:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self):
        if self.bar is not None:
            self.bar.stop()


def _bad_input(lines):
    from twin.errors import clip_line

    for line in dict.fromkeys(lines):  # each problem once, in order
        print(f"error: {clip_line(line)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(path):
    """(scenario, None), or (None, the exit code) after printing every problem of the file."""
    from twin.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path), None
    except ScenarioError as exc:
        return None, _bad_input(exc.problems)


def _guarded(path, progress, work):
    """(work(), None), or (None, exit code 2) when the work meets bad input (the SAIQ reference
    scenario, site files); the progress bar is closed either way."""
    from twin.scenario import ScenarioError
    from twin.sites.readers import SiteDataError

    try:
        return work(), None
    except ScenarioError as exc:
        return None, _bad_input(exc.problems)
    except SiteDataError as exc:
        return None, _bad_input([f"{path}: site: {problem}" for problem in exc.problems])
    finally:
        progress.close()


def cmd_run(args):
    scenario, code = _load(args.scenario)
    if code is not None:
        return code
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    out_dir = _results_folder(args, "run", Path("results") / scenario.name, [args.scenario, *scenario.input_files()])
    check_memory(scenario, args.scenario)

    from twin import report
    from twin.pipeline import execute_with_racks

    progress = _LazyProgress(f"simulating {scenario.name}", enabled=not args.no_progress and sys.stderr.isatty())
    result, code = _guarded(args.scenario, progress, lambda: execute_with_racks(scenario, progress))
    if code is not None:
        return code
    frame, summary, racks = result
    report.write_results(out_dir, frame, summary, racks)
    if args.json:
        print(files.to_json(summary))
    else:
        report.print_summary(summary, out_dir)
    return 0


def cmd_check(args):
    from twin.errors import InputError
    from twin.scenario import ScenarioError, load_scenario

    problems = []
    for path in args.scenarios:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        from twin.memory import available_bytes, estimate_peak_bytes, gib

        gpus = sum(h.rack_count * h.servers_per_rack * h.server_spec()[0] for h in scenario.facility.halls)
        need, have = estimate_peak_bytes(scenario), available_bytes()
        print(
            f"{path}: valid - '{scenario.name}', {scenario.n_steps:,} steps of {scenario.step}, "
            f"{gpus:,} GPUs, {scenario.facility.cooling.type} cooling, site {scenario.site.name or scenario.site.weather_file}; "
            f"estimated peak memory {gib(need)}" + (f" ({gib(have)} available now)" if have else "")
        )
        try:
            check_memory(scenario, path)
        except InputError as exc:
            problems.extend(exc.problems)
        if scenario.site.weather_file or scenario.site.grid_file:  # read as run reads them
            from twin.sites.library import load_site
            from twin.sites.readers import SiteDataError

            try:
                load_site(scenario.site.name, scenario.site.weather_file, scenario.site.grid_file)
            except SiteDataError as exc:
                problems.extend(f"{path}: site: {problem}" for problem in exc.problems)
    if problems:
        return _bad_input(problems)
    return 0


def cmd_sites(args):
    from twin import report
    from twin.sites.index import bundled_site_names
    from twin.sites.listing import monthly_means, site_row, site_rows

    if args.name is None:
        rows = site_rows()
        if args.json:
            print(files.to_json(rows))
        else:
            report.print_sites(rows)
        return 0
    if args.name not in bundled_site_names():
        from twin.errors import did_you_mean

        names = bundled_site_names()
        return _bad_input([f"unknown site '{args.name}'{did_you_mean(args.name, names)}; allowed: {', '.join(names)}"])
    row, months = site_row(args.name), monthly_means(args.name)
    if args.json:
        print(files.to_json({**row, "monthly": months}))
    else:
        report.print_site(row, months)
    return 0


def _results_folder(args, command, default, inputs):
    """The folder `command` writes to (--out or the default), checked before any work: OutputError when
    writing there would destroy something (outputs.check_results_folder)."""
    from twin.outputs import check_results_folder

    out_dir = args.out or default
    check_results_folder(
        out_dir,
        command,
        args.force,
        inputs,
        create_parents=args.out is None,
        option="--out" if args.out else "the default results folder",
    )
    return out_dir


def _publish(args, out_dir, stem, table, document, html, show):
    """Write <stem>.parquet, <stem>.json and report.html atomically, then print the JSON document
    (--json) or the tables."""
    files.write_folder(
        out_dir,
        {
            f"{stem}.parquet": lambda path: table.to_parquet(path, index=False),
            f"{stem}.json": lambda path: path.write_text(files.to_json(document) + "\n"),
            "report.html": lambda path: path.write_text(html),
        },
        stem if stem == "forecast" else "compare",
    )
    if args.json:
        print(files.to_json(document))
    else:
        show()
    return 0


def _parse_sites(text):
    from twin.errors import did_you_mean
    from twin.sites.index import bundled_site_names

    names = bundled_site_names()
    sites = [s.strip() for s in text.split(",") if s.strip()]
    problems = [
        f"--sites: unknown site '{s}'{did_you_mean(s, names)}; allowed: {', '.join(names)}"
        for s in sites
        if s not in names
    ]
    if not sites:
        problems.append("--sites: give at least one site name, e.g. --sites ashburn-va,stockholm-se")
    if len(set(sites)) != len(sites):
        problems.append("--sites: a site is listed twice")
    return sites, problems


def cmd_compare(args):
    scenario, code = _load(args.scenario)
    if code is not None:
        return code
    if args.sites is not None:
        sites, problems = _parse_sites(args.sites)
        if problems:
            return _bad_input(problems)
    elif scenario.sites:
        sites = scenario.sites
    else:
        return _bad_input(
            [
                f"{args.scenario}: no sites to compare: add a 'sites:' list to the scenario or give "
                f"--sites a,b,c (python -m twin sites lists them)"
            ]
        )
    if args.workers is not None and args.workers < 1:
        return _bad_input([f"--workers {args.workers}: give 1 or more"])
    out_dir = _results_folder(
        args, "compare", Path("results") / f"{scenario.name}-compare", [args.scenario, *scenario.input_files()]
    )
    check_memory(scenario, args.scenario, min(args.workers or os.cpu_count() or 1, len(sites)))

    from twin import html_report, report
    from twin.compare import compare

    progress = _LazyProgress(f"{len(sites)} sites", enabled=not args.no_progress and sys.stderr.isatty(), delay_s=0.0)
    result, code = _guarded(args.scenario, progress, lambda: compare(scenario, sites, args.workers, on_done=progress))
    if code is not None:
        return code
    table, monthly_pue, meta, summaries = result
    document = report.comparison_document(table, monthly_pue, meta, summaries)
    return _publish(
        args,
        out_dir,
        "comparison",
        table,
        document,
        html_report.compare_report_html(table, monthly_pue, meta),
        lambda: report.print_comparison(table, meta, out_dir),
    )


def _parse_years(text):
    try:
        first, last = (int(x) for x in text.split("-"))
    except ValueError:
        return None, f"--years '{text}': give FIRST-LAST, e.g. 2026-2035"
    if not 2000 <= first <= last <= 2100 or last - first > 50:
        return None, f"--years '{text}': years 2000-2100, first <= last, at most 51 years"
    return (first, last), None


def cmd_forecast(args):
    from twin import catalog
    from twin.errors import did_you_mean

    scenario, code = _load(args.scenario)
    if code is not None:
        return code
    years, problem = _parse_years(args.years)
    known = list(catalog.load("forecast")["storylines"])
    names = [n.strip() for n in args.storylines.split(",")] if args.storylines else None
    problems = [problem] if problem else []
    problems += [
        f"--storylines: unknown storyline '{n}'{did_you_mean(n, known)}; allowed: {', '.join(known)}"
        for n in names or ()
        if n not in known
    ]
    if problems:
        return _bad_input(problems)
    out_dir = _results_folder(
        args, "forecast", Path("results") / f"{scenario.name}-forecast", [args.scenario, *scenario.input_files()]
    )
    check_memory(scenario, args.scenario)

    from twin import html_report, report
    from twin.forecast import forecast

    progress = _LazyProgress("forecast", enabled=not args.no_progress and sys.stderr.isatty(), delay_s=0.0)
    result, code = _guarded(args.scenario, progress, lambda: forecast(scenario, *years, names, on_done=progress))
    if code is not None:
        return code
    table, meta = result
    document = {**meta, "rows": table.to_dict(orient="records")}
    return _publish(
        args,
        out_dir,
        "forecast",
        table,
        document,
        html_report.forecast_report_html(table, meta),
        lambda: report.print_forecast(table, meta, out_dir),
    )


def cmd_validate(args):
    from twin import validate

    if not validate.VALIDATION_DIR.is_dir():
        return _bad_input([f"validation cases not found at {validate.VALIDATION_DIR} (they ship with the repository)"])
    results = validate.run(validate.VALIDATION_DIR, only=args.only)
    if not any(cases for _, cases in results):
        return _bad_input([f"no validation module matches --only '{args.only}'"])
    failed = len(validate.unexpected_failures(results))
    if args.json:
        print(validate.as_json(results))
    else:
        validate.print_table(results)
    return 1 if failed else 0


def cmd_calibrate(args):
    from twin.calibrate import session
    from twin.calibrate.rack import RackDataError
    from twin.calibrate.traces import TraceError
    from twin.params.calibration import CalibrationError

    if not args.traces:
        return _bad_input(["calibrate: give at least one TRACE file"])
    try:
        if args.check is not None:
            result = session.check(args.check, args.traces, args.timezone)
            if "note" in result:
                print(f"note: {result['note']}", file=sys.stderr)
            print(files.to_json(result) if args.json else session.check_text(result))
            return 0
        if args.gpu is None or args.out is None:
            return _bad_input(["calibrate: --gpu MODEL and --out FILE are needed to fit (or --check CALIB)"])
        _check_calibration_outputs(args)
        if args.rack:
            return _calibrate_rack(args)
        doc, series = session.calibrate(args.traces, args.gpu, args.cooling, args.timezone)
    except (TraceError, RackDataError, CalibrationError) as exc:
        return _bad_input([str(exc)])
    except ValueError as exc:
        return _bad_input([f"calibrate: {exc}"])
    from twin.html_report import calibration_report_html

    return _write_calibration(args, doc, session.report_text(doc), calibration_report_html(doc, series))


def _check_calibration_outputs(args):
    """OutputError unless the calibration YAML at --out and its HTML page beside it can be written without
    replacing an input or a file twin did not write (--force allows the latter)."""
    from twin.errors import OutputError
    from twin.outputs import check_output_file, contains, starts_with

    if args.out.suffix.lower() in (".html", ".htm"):
        raise OutputError(
            f"--out {args.out}: name the calibration YAML (e.g. calib.yaml); its HTML page is "
            f"written beside it with the suffix .html"
        )
    check_output_file(args.out, "calibration", args.force, args.traces, is_ours=starts_with("# twin calibration"))
    check_output_file(
        args.out.with_suffix(".html"),
        "calibration page",
        args.force,
        args.traces,
        option="--out's page",
        is_ours=contains('<meta name="generator" content="twin">'),
    )


def _write_calibration(args, doc, text, page):
    """Write the calibration YAML and its HTML page, both or neither (a failed write puts back what was there),
    then print the report, or the document with --json; the exit code."""
    from twin.calibrate import calibration

    out, html = args.out, args.out.with_suffix(".html")
    before = out.read_bytes() if out.is_file() else None
    try:
        calibration.write(out, doc)
        files.write_file(html, page)
    except OSError as exc:
        try:  # a YAML without its page is a half-written result
            out.unlink(missing_ok=True) if before is None else files.write_file(out, before.decode("utf-8", "replace"))
        except OSError:
            pass
        return _bad_input([f"calibrate: cannot write {exc.filename or out}: {exc.strerror or exc}"])
    print(files.to_json(doc) if args.json else text)
    if not args.json:
        print(f"wrote {out} and {html}")
    return 0


def _calibrate_rack(args):
    from twin.calibrate import rack
    from twin.html_report import rack_calibration_html

    if args.servers_per_rack is None or len(args.traces) != 1:
        return _bad_input(["calibrate --rack: give one rack CSV and --servers-per-rack N"])
    fitted = rack.fit_rack(rack.read_rack_csv(args.traces[0]), args.gpu, args.servers_per_rack)
    doc, text = rack.to_calibration_dict(fitted), rack.rack_report(fitted)
    return _write_calibration(args, doc, text, rack_calibration_html(fitted, text))


def cmd_sweep(args):
    from twin import html_report, report, sweep
    from twin.scenario import ScenarioError

    if args.workers is not None and args.workers < 1:
        return _bad_input([f"--workers {args.workers}: give 1 or more"])
    if args.cluster is not None and "://" not in args.cluster:
        return _bad_input([f"--cluster {args.cluster}: give a scheduler address such as tcp://host:8786"])
    try:
        spec = sweep.load_sweep(args.sweep)
    except (sweep.SweepError, ScenarioError) as exc:
        return _bad_input(exc.problems)
    inputs = {args.sweep, spec.base, *(f for v in spec.variants for f in v.scenario.input_files())}
    out_dir = _results_folder(args, "sweep", Path("results") / f"{spec.name}-sweep", inputs)
    if args.cluster is None:  # a cluster's workers have their own memory
        from twin.memory import estimate_peak_bytes

        largest = max(spec.variants, key=lambda v: estimate_peak_bytes(v.scenario)).scenario
        check_memory(largest, args.sweep, min(args.workers or os.cpu_count() or 1, len(spec.variants)))
    progress = _LazyProgress(
        f"{len(spec.variants)} variants", enabled=not args.no_progress and sys.stderr.isatty(), delay_s=0.0
    )
    try:
        frame = sweep.run(spec, out_dir, workers=args.workers, cluster=args.cluster, on_done=progress)
    except sweep.SweepError as exc:
        return _bad_input(exc.problems)
    except sweep.SweepFailed as exc:  # a bug met by some variants: one line, their tracebacks in a log
        variant, first = exc.failures[0]
        try:
            where = f"tracebacks in {_crash_log(*(error for _, error in exc.failures))}"
        except OSError:
            where = "no log could be written"
        print(
            f"error: this is a bug in twin: {len(exc.failures)} of {len(spec.variants)} variants failed (first: "
            f"variant {variant.index}, {type(first).__name__}: {clip(first)}); the others are kept in "
            f"{out_dir}/variants; {where}. Please report it with that file.",
            file=sys.stderr,
        )
        return EXIT_BUG
    except (OSError, TimeoutError) as exc:
        return _bad_input(
            [f"--cluster {args.cluster}: cannot reach the Dask scheduler ({exc})"]
            if args.cluster
            else [f"{out_dir}: {exc}"]
        )
    except KeyboardInterrupt:
        progress.close()
        kept = len(sweep.done_ids(out_dir) & {v.variant_id for v in spec.variants})
        print(
            f"interrupted: {kept} of {len(spec.variants)} variants are finished and kept in {out_dir}/variants; "
            f"the other {len(spec.variants) - kept} were cancelled. Run the same command again to finish them.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        progress.close()
    table, key = sweep.ranked(frame)
    document = sweep.summary_document(spec, table, key)
    files.write_file(out_dir / "sweep.json", files.to_json(document) + "\n")
    files.write_file(out_dir / "report.html", html_report.sweep_report_html(table, key, document))
    if args.json:
        print(files.to_json(document))
    else:
        report.print_sweep(table, key, document, out_dir)
    return 0


def cmd_record(args):
    from twin.calibrate.record import RecordError, parse_duration, record
    from twin.outputs import check_output_file

    try:
        duration_s = parse_duration(args.duration)
        if not 0.001 <= args.interval <= 3600.0:
            raise ValueError(f"--interval {args.interval} s: allowed 0.001 to 3600")
        check_output_file(args.out, "trace (an earlier recording is measurements)", args.force)
        summary = record(args.out, args.interval, duration_s)
    except (RecordError, ValueError) as exc:
        return _bad_input([f"record: {exc}"])
    print(f"wrote {summary['samples']} samples of {summary['gpus']} GPU(s) to {args.out}")
    return 0


def check_memory(scenario, source, parallel=1):
    """InputError when the run's estimated peak memory does not fit this machine (twin.memory)."""
    from twin.memory import check_fits

    check_fits(scenario, source, parallel)


def _crash_log(*excs):
    """Write the tracebacks of unexpected exceptions to a log file; its path."""
    import tempfile
    import traceback

    text = "\n".join("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) for exc in excs)
    handle, path = tempfile.mkstemp(prefix=f"twin-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as fh:
        fh.write(f"twin {' '.join(map(str, sys.argv[1:]))}\n{text}")
    return path


def main(argv=None):
    """Run one command; bad input of any kind is one line per problem and exit 2, Ctrl-C exit 130,
    anything else a bug: one line naming the log that holds its traceback, exit 1."""
    from twin.errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    command = {
        "run": cmd_run,
        "check": cmd_check,
        "sites": cmd_sites,
        "compare": cmd_compare,
        "forecast": cmd_forecast,
        "validate": cmd_validate,
        "calibrate": cmd_calibrate,
        "record": cmd_record,
        "sweep": cmd_sweep,
    }[args.command]
    try:
        return command(args)
    except InputError as exc:
        return _bad_input(exc.problems)
    except KeyboardInterrupt:
        print("interrupted: stopped before any result was written; earlier results are as they were", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print(
            "error: out of memory (a limit of this process or its container is below what the run needs); "
            "nothing was written: use a coarser step, a shorter duration, results: {rack_series: none} or "
            "fewer --workers (python -m twin check prints the estimate)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except Exception as exc:
        try:
            where = f"the traceback is in {_crash_log(exc)}"
        except OSError:
            where = "no log could be written"
        print(
            f"error: this is a bug in twin, not in your input ({type(exc).__name__}: {clip(exc)}); {where}. "
            f"Please report it with that file.",
            file=sys.stderr,
        )
        return EXIT_BUG
