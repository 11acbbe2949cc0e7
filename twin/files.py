"""Files written whole or not at all, and JSON that stays valid: the writers every command shares.

A results folder is written to a temporary sibling and renamed into place, so a crash or an interrupt
never leaves a half-written result; a single file likewise (written beside, then renamed).
"""

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from twin.outputs import MARKER, marker_text


def _json_safe(obj):
    """Non-finite floats become null: summary.json stays valid JSON."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def to_json(obj: object) -> str:
    """One JSON document; non-finite floats become null."""
    return json.dumps(_json_safe(obj), indent=2, sort_keys=False)


def write_folder(out_dir: str | Path, writers: dict[str, Callable[[Path], object]], command: str) -> Path:
    """Write a results folder of `command` atomically: each writer(path) fills one file of a temporary
    sibling, which then replaces out_dir, so a crash or an interrupt never leaves a half-written folder
    and an earlier result stays whole until the new one is complete. The folder's marker names the
    command (outputs.check_results_folder reads it before a later run replaces the folder)."""
    out_dir = Path(out_dir)
    writers = {**writers, MARKER: lambda path: path.write_text(marker_text(command))}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a results folder is as readable as any other
    try:
        for name, writer in writers.items():
            writer(tmp / name)
        old = None
        if out_dir.exists():  # moved aside under a name no one else has, removed once the new one is in place
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
            os.replace(out_dir, old)  # a folder may replace an empty one
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def write_file(path: str | Path, text: str) -> None:
    """Write one text file atomically (a half-written file never replaces a good one)."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
