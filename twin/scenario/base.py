"""What every part of the scenario schema shares: the strict pydantic base, durations, paths of input files,
plausible years, and a window of time within the run."""

import datetime as dt
import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from twin import catalog
from twin.errors import clip

AIR_DEFAULTS = catalog.load("cooling")["air"]
CHAIN_DEFAULTS = catalog.load("power_chain")
ECONOMICS_DEFAULTS = catalog.load("economics")
WORKLOAD_DEFAULTS = catalog.load("workload")
INFERENCE_DEFAULTS = WORKLOAD_DEFAULTS["inference"]
TRAINING_DEFAULTS = WORKLOAD_DEFAULTS["training"]

DURATION_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwy])\s*$")


def parse_duration_s(text):
    """'60s', '15m', '1h', '7d', '2w', '1y' (365 days) -> seconds (int)."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError("expected a duration string such as '60s', '15m', '7d' or '1y'")
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration; use a number and one of s, m, h, d, w, y (e.g. '7d')")
    seconds = float(match.group(1)) * DURATION_UNITS_S[match.group(2)]
    if seconds != int(seconds):
        raise ValueError(f"'{text}' is not a whole number of seconds")
    return int(seconds)


class ScenarioModel(BaseModel):
    # strict: a boolean is not a number (rack_count: true was 1 rack), a float is not a count (2.5 racks), a
    # string is not a number; paths and times keep pydantic's conversion from YAML strings (strict=False)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


def existing_file(value, info: ValidationInfo, what):
    if value is None:
        return None
    base = (info.context or {}).get("base_dir", Path("."))
    path = Path(value)
    path = path if path.is_absolute() else Path(base) / path
    if path.exists() and not path.is_file():
        raise ValueError(f"{what} '{clip(value)}' is not a regular file ({path.resolve()} is a folder or a device)")
    if not path.is_file():
        raise ValueError(f"{what} '{clip(value)}' not found (looked for {path.resolve()})")
    return path


YEARS = (1900, 2200)  # [M] a planning horizon: weather, grids and prices exist for no year outside it


def plausible_year(value):
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"year {value.year} is outside {YEARS[0]}..{YEARS[1]}")
    return value


class Window(ScenarioModel):
    """A stretch of the run: from start (UTC unless an offset is given) for duration."""

    start: dt.datetime = Field(
        strict=False, description="date and time it begins, UTC unless an offset is given, e.g. 2023-07-20T14:00"
    )
    duration: Annotated[str, Field(description="e.g. '1h'")]

    @field_validator("duration", mode="before")
    @classmethod
    def _duration_string(cls, value):
        if parse_duration_s(value) <= 0:
            raise ValueError(f"'{clip(value)}' is no time at all; a window lasts at least 1s")
        return value

    @field_validator("start")
    @classmethod
    def _plausible_time(cls, value):
        return plausible_year(value)

    @property
    def duration_s(self):
        return parse_duration_s(self.duration)
