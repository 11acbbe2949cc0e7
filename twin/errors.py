"""The one base class of every error a user can fix, and how its lines are kept readable.

Each input family has its own subclass (scenario, weather and grid files, traces, calibrations,
rack measurements, sweeps, recording, command-line outputs). The command line turns any of them
into one line per problem, exit code 2; anything else is a bug (exit 1, traceback to a log file).
"""

import difflib
import re
from collections.abc import Iterable

VALUE_CHARS = 80  # a value echoed back in a message is cut to this many characters (clip, where it is shown)
TOKEN_CHARS = 400  # the net under that: any unbroken run of characters longer than this is cut (no path is)
LINE_CHARS = 2000  # and no problem line is longer than this (long 'allowed:' lists fit)
_LONG_TOKEN = re.compile(rf"\S{{{TOKEN_CHARS + 1},}}")


def clip(text: object, limit: int = VALUE_CHARS) -> str:
    """text cut to `limit` characters, saying how long it was."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text):,} characters)"


def did_you_mean(value: object, options: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest of options to a mistyped value, or ''."""
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_line(text: object) -> str:
    """text with its line breaks and other control characters written as escapes: a value a user typed
    may hold them, and a problem is one line."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def clip_line(line: object) -> str:
    """A problem as one line, with any very long token (a value a message forgot to clip) cut, and at most
    LINE_CHARS."""
    line = _LONG_TOKEN.sub(lambda m: clip(m.group(0), VALUE_CHARS), one_line(line))
    return line if len(line) <= LINE_CHARS else clip(line, LINE_CHARS)


class InputError(Exception):
    """Input a user can fix: one or more problems, each a line naming the file (and line), the field,
    the value and what is allowed."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        problems = [problems] if isinstance(problems, str) else list(problems)
        self.problems = [clip_line(p) for p in problems] or ["bad input"]
        super().__init__("\n".join(self.problems))


class OutputError(InputError):
    """An output path that cannot be written, or whose writing would destroy something of the user's."""
