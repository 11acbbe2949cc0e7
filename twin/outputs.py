"""Where results may be written: checks made before any work, so that no output destroys a user's file.

A results folder holds a marker naming the command that wrote it. A folder may be replaced only when
it is empty, is such a result of the same command (or holds nothing but that command's file names), or
the user said --force; never when it is the current folder or one above it, or holds an input of the
run. A single output file (a calibration, a recording) may be replaced only when it is twin's own
output of that kind, or with --force.
"""

import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from twin.errors import OutputError

MARKER = ".twin-result"  # JSON {"command": ...} written into every results folder

# The files each command writes into its folder: a folder holding only these is an earlier result
# (also one written before folders carried the marker).
RESULT_FILES = {
    "run": {"timeseries.parquet", "summary.json", "report.html", "racks.parquet"},
    "compare": {"comparison.parquet", "comparison.json", "report.html"},
    "forecast": {"forecast.parquet", "forecast.json", "report.html"},
    "sweep": {"variants", "sweep.json", "report.html", ".lock"},
}
_SHOWN = 5  # foreign names listed in a refusal


def marker_text(command: str) -> str:
    return json.dumps({"command": command, "written_by": "twin"}) + "\n"


def _marker_command(folder):
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")).get("command")
    except (OSError, ValueError, AttributeError):
        return None


def _nearest_existing(path):
    for folder in (path, *path.parents):
        if folder.exists():
            return folder
    return Path("/")


def _probe_writable(folder, what):
    """Create and remove a scratch entry in `folder`: the only test of writability that holds for root,
    read-only mounts and /proc alike."""
    try:
        Path(tempfile.mkdtemp(prefix=".twin-probe-", dir=folder)).rmdir()
    except OSError as exc:
        raise OutputError(f"{what}: cannot write in {folder} ({exc.strerror or exc})") from None


def _inside(path, folder):
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_results_folder(
    out: str | Path,
    command: str,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    option: str = "--out",
    create_parents: bool = False,
) -> None:
    """Raise OutputError unless `out` can take (or be replaced by) a results folder of `command`.

    inputs: the files the command reads; a folder holding one is never replaced, --force or not.
    create_parents: missing parent folders will be made (the default results/ folder); otherwise a
    missing parent is refused, as a mistyped path would otherwise scatter folders.
    """
    out = Path(out)
    what = f"{option} {out}"
    if out.is_symlink():
        raise OutputError(
            f"{what} is a symbolic link; name the folder itself (a results folder is replaced as a "
            f"whole, which would replace the link)"
        )
    try:
        resolved = out.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise OutputError(f"{what}: cannot be resolved ({exc})") from None
    here = Path.cwd().resolve()
    if out.name in ("", ".", "..") or resolved == here or _inside(here, resolved) or resolved == Path.home().resolve():
        raise OutputError(
            f"{what} is the current folder, one above it or your home folder; a results "
            f"folder is replaced as a whole: name a new one, e.g. {option} results/{command}"
        )
    if out.exists() and not out.is_dir():
        raise OutputError(f"{what} is a file, not a folder; move it, or give --out a folder for the results")
    if not resolved.parent.is_dir() and not create_parents:
        raise OutputError(f"{what}: the folder {resolved.parent} does not exist; create it or choose another {option}")
    _probe_writable(_nearest_existing(resolved.parent), what)
    if not out.is_dir():
        return
    held = [p.resolve() for p in map(Path, inputs) if _inside(p.resolve(), resolved)]
    if held:
        raise OutputError(
            f"{what}: holds {held[0]}, an input of this {command}; writing the results there would "
            f"replace it: choose another {option}"
        )
    names = sorted(p.name for p in out.iterdir())
    earlier = _marker_command(out)
    if not names or force:
        return
    foreign = [n for n in names if n != MARKER and n not in RESULT_FILES[command]]
    if not foreign and earlier in (command, None):
        return  # an earlier result of this command (one written before folders carried the marker too)
    shown = foreign or names
    listing = ", ".join(shown[:_SHOWN]) + (f" and {len(shown) - _SHOWN} more" if len(shown) > _SHOWN else "")
    whose = (
        f"is a twin {command} result to which other files were added"
        if earlier == command
        else f"is a twin {earlier} result"
        if earlier
        else f"is not a twin {command} result"
    )
    raise OutputError(
        f"{what}: the folder already holds files and {whose} ({listing}); choose an empty or new "
        f"folder, or add --force to replace it"
    )


def check_output_file(
    out: str | Path,
    kind: str,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    option: str = "--out",
    is_ours: Callable[[Path], bool] | None = None,
) -> None:
    """Raise OutputError unless the file `out` can be written: its folder exists and is writable, it is not
    a folder nor an input, and an existing file is replaced only when is_ours(path) says it is twin's own
    output of this kind, or with --force."""
    out = Path(out)
    what = f"{option} {out}"
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{what} is a broken or looping symbolic link")
    if out.is_dir():
        raise OutputError(f"{what} is a folder; {option} names the {kind} file to write")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"{what}: the folder {parent} does not exist; create it or choose another {option}")
    _probe_writable(parent, what)
    if not out.exists():
        return
    if out.resolve() in {Path(p).resolve() for p in inputs}:
        raise OutputError(f"{what} is one of the input files; writing it would replace the measurements")
    if force or (is_ours is not None and is_ours(out)):
        return
    raise OutputError(
        f"{what}: the file exists and is not a twin {kind}; choose another name, or add --force to replace it"
    )


def starts_with(prefix: str) -> Callable[[Path], bool]:
    """is_ours test: the file's first bytes are `prefix` (twin's own header)."""

    def test(path):
        try:
            with open(path, "rb") as fh:
                return fh.read(len(prefix)) == prefix.encode()
        except OSError:
            return False

    return test


def contains(marker: str, within: int = 4096) -> Callable[[Path], bool]:
    """is_ours test: `marker` appears in the file's first `within` bytes."""

    def test(path):
        try:
            with open(path, "rb") as fh:
                return marker.encode() in fh.read(within)
        except OSError:
            return False

    return test
