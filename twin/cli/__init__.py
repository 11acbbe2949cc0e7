"""Command line: python -m twin <command> ...

Exit codes: 0 success, 2 bad input (scenario, site files, traces, options, an output that would destroy a
file), 1 a bug (the traceback goes to a log file named on the one line printed), 130 interrupted (Ctrl-C).
"""

import sys

from twin.cli.common import EXIT_BAD_INPUT, EXIT_BUG, EXIT_INTERRUPTED, bad_input, crash_log
from twin.cli.measure import cmd_calibrate, cmd_record
from twin.cli.parser import build_parser
from twin.cli.simulate import cmd_check, cmd_compare, cmd_forecast, cmd_run, cmd_sites, cmd_sweep, cmd_validate
from twin.errors import clip


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
        return bad_input(exc.problems)
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
            where = f"the traceback is in {crash_log(exc)}"
        except OSError:
            where = "no log could be written"
        print(
            f"error: this is a bug in twin, not in your input ({type(exc).__name__}: {clip(exc)}); {where}. "
            f"Please report it with that file.",
            file=sys.stderr,
        )
        return EXIT_BUG
