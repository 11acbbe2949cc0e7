"""The commands that simulate: run, check, sites, compare, forecast, sweep, validate."""

import os
import sys
from pathlib import Path

from twin import files
from twin.cli.common import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    LazyProgress,
    bad_input,
    check_memory,
    crash_log,
    guarded,
    load,
    publish,
    results_folder,
)
from twin.errors import clip


def cmd_run(args):
    scenario, code = load(args.scenario)
    if code is not None:
        return code
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    out_dir = results_folder(args, "run", Path("results") / scenario.name, [args.scenario, *scenario.input_files()])
    check_memory(scenario, args.scenario)

    from twin import report
    from twin.pipeline import execute_run

    progress = LazyProgress(f"simulating {scenario.name}", enabled=not args.no_progress and sys.stderr.isatty())
    result, code = guarded(args.scenario, progress, lambda: execute_run(scenario, progress))
    if code is not None:
        return code
    report.write_results(out_dir, result.frame, result.summary, result.racks, result.jobs)
    summary = result.summary
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

        gpus = sum(h.servers() * h.server_spec()[0] for h in scenario.facility.halls)
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
            from twin.io.hours import SiteDataError
            from twin.sites.library import load_site

            try:
                load_site(scenario.site.name, scenario.site.weather_file, scenario.site.grid_file)
            except SiteDataError as exc:
                problems.extend(f"{path}: site: {problem}" for problem in exc.problems)
    if problems:
        return bad_input(problems)
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
        return bad_input([f"unknown site '{args.name}'{did_you_mean(args.name, names)}; allowed: {', '.join(names)}"])
    row, months = site_row(args.name), monthly_means(args.name)
    if args.json:
        print(files.to_json({**row, "monthly": months}))
    else:
        report.print_site(row, months)
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
    scenario, code = load(args.scenario)
    if code is not None:
        return code
    if args.sites is not None:
        sites, problems = _parse_sites(args.sites)
        if problems:
            return bad_input(problems)
    elif scenario.sites:
        sites = scenario.sites
    else:
        return bad_input(
            [
                f"{args.scenario}: no sites to compare: add a 'sites:' list to the scenario or give "
                f"--sites a,b,c (python -m twin sites lists them)"
            ]
        )
    if args.workers is not None and args.workers < 1:
        return bad_input([f"--workers {args.workers}: give 1 or more"])
    out_dir = results_folder(
        args, "compare", Path("results") / f"{scenario.name}-compare", [args.scenario, *scenario.input_files()]
    )
    check_memory(scenario, args.scenario, min(args.workers or os.cpu_count() or 1, len(sites)))

    from twin import html_report, report
    from twin.compare import compare

    progress = LazyProgress(f"{len(sites)} sites", enabled=not args.no_progress and sys.stderr.isatty(), delay_s=0.0)
    result, code = guarded(args.scenario, progress, lambda: compare(scenario, sites, args.workers, on_done=progress))
    if code is not None:
        return code
    table, monthly_pue, meta, summaries = result
    document = report.comparison_document(table, monthly_pue, meta, summaries)
    return publish(
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

    scenario, code = load(args.scenario)
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
        return bad_input(problems)
    out_dir = results_folder(
        args, "forecast", Path("results") / f"{scenario.name}-forecast", [args.scenario, *scenario.input_files()]
    )
    check_memory(scenario, args.scenario)

    from twin import html_report, report
    from twin.forecast import forecast

    progress = LazyProgress("forecast", enabled=not args.no_progress and sys.stderr.isatty(), delay_s=0.0)
    result, code = guarded(args.scenario, progress, lambda: forecast(scenario, *years, names, on_done=progress))
    if code is not None:
        return code
    table, meta = result
    document = {**meta, "rows": table.to_dict(orient="records")}
    return publish(
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
        return bad_input([f"validation cases not found at {validate.VALIDATION_DIR} (they ship with the repository)"])
    results = validate.run(validate.VALIDATION_DIR, only=args.only)
    if not any(cases for _, cases in results):
        return bad_input([f"no validation module matches --only '{args.only}'"])
    failed = len(validate.unexpected_failures(results))
    if args.json:
        print(validate.as_json(results))
    else:
        validate.print_table(results)
    return 1 if failed else 0


def cmd_sweep(args):
    from twin import html_report, report, sweep
    from twin.metrics import rank_by_saiq
    from twin.scenario import ScenarioError

    if args.workers is not None and args.workers < 1:
        return bad_input([f"--workers {args.workers}: give 1 or more"])
    if args.cluster is not None and "://" not in args.cluster:
        return bad_input([f"--cluster {args.cluster}: give a scheduler address such as tcp://host:8786"])
    try:
        spec = sweep.load_sweep(args.sweep)
    except (sweep.SweepError, ScenarioError) as exc:
        return bad_input(exc.problems)
    inputs = {args.sweep, spec.base, *(f for v in spec.variants for f in v.scenario.input_files())}
    out_dir = results_folder(args, "sweep", Path("results") / f"{spec.name}-sweep", inputs)
    if args.cluster is None:  # a cluster's workers have their own memory
        from twin.memory import estimate_peak_bytes

        largest = max(spec.variants, key=lambda v: estimate_peak_bytes(v.scenario)).scenario
        check_memory(largest, args.sweep, min(args.workers or os.cpu_count() or 1, len(spec.variants)))
    progress = LazyProgress(
        f"{len(spec.variants)} variants", enabled=not args.no_progress and sys.stderr.isatty(), delay_s=0.0
    )
    try:
        frame = sweep.run(spec, out_dir, workers=args.workers, cluster=args.cluster, on_done=progress)
    except sweep.SweepError as exc:
        return bad_input(exc.problems)
    except sweep.SweepFailed as exc:  # a bug met by some variants: one line, their tracebacks in a log
        variant, first = exc.failures[0]
        try:
            where = f"tracebacks in {crash_log(*(error for _, error in exc.failures))}"
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
        return bad_input(
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
    table, key = rank_by_saiq(frame, "index")
    document = sweep.summary_document(spec, table, key)
    files.write_file(out_dir / "sweep.json", files.to_json(document) + "\n")
    files.write_file(out_dir / "report.html", html_report.sweep_report_html(table, key, document))
    if args.json:
        print(files.to_json(document))
    else:
        report.print_sweep(table, key, document, out_dir)
    return 0
