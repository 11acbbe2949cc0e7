"""What the commands share: exit codes, the progress bar, bad-input lines, loading a scenario, the results folder
and the memory check."""

import os
import sys
import time

from twin import files

EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class LazyProgress:
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


def bad_input(lines):
    from twin.errors import clip_line

    for line in dict.fromkeys(lines):  # each problem once, in order
        print(f"error: {clip_line(line)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def load(path):
    """(scenario, None), or (None, the exit code) after printing every problem of the file."""
    from twin.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path), None
    except ScenarioError as exc:
        return None, bad_input(exc.problems)


def guarded(path, progress, work):
    """(work(), None), or (None, exit code 2) when the work meets bad input (the SAIQ reference
    scenario, site files); the progress bar is closed either way."""
    from twin.io.hours import SiteDataError
    from twin.scenario import ScenarioError

    try:
        return work(), None
    except ScenarioError as exc:
        return None, bad_input(exc.problems)
    except SiteDataError as exc:
        return None, bad_input([f"{path}: site: {problem}" for problem in exc.problems])
    finally:
        progress.close()


def results_folder(args, command, default, inputs):
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


def publish(args, out_dir, stem, table, document, html, show):
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


def check_memory(scenario, source, parallel=1):
    """InputError when the run's estimated peak memory does not fit this machine (twin.memory)."""
    from twin.memory import check_fits

    check_fits(scenario, source, parallel)


def crash_log(*excs):
    """Write the tracebacks of unexpected exceptions to a log file; its path."""
    import tempfile
    import traceback

    text = "\n".join("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) for exc in excs)
    handle, path = tempfile.mkstemp(prefix=f"twin-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as fh:
        fh.write(f"twin {' '.join(map(str, sys.argv[1:]))}\n{text}")
    return path
