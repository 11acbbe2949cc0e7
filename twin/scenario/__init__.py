"""Scenario: the validated, frozen description of one run, loaded from YAML.

Every numeric field carries its unit in its name and a validated range; defaults come from
twin/catalog/*.yaml where each value names its source. Loading never raises anything but
ScenarioError, which lists every problem with file, line, field path, value and what is allowed.
"""

from pathlib import Path

import yaml
from pydantic import ValidationError

from twin import yaml_input
from twin.errors import InputError
from twin.scenario.base import DURATION_UNITS_S, parse_duration_s
from twin.scenario.facility import COOLING_TYPES, AirPath, Facility, Hall, Site
from twin.scenario.locate import drop_misspelt_missing, format_error, path_at
from twin.scenario.schema import Scenario

__all__ = [
    "AirPath",
    "COOLING_TYPES",
    "DURATION_UNITS_S",
    "Facility",
    "Hall",
    "Scenario",
    "ScenarioError",
    "Site",
    "load_scenario",
    "load_scenario_text",
    "parse_duration_s",
]


class ScenarioError(InputError):
    """Every problem found in a scenario file, each naming file, line, field and what is allowed."""


def load_scenario_text(text: str, source: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Parse and validate scenario YAML text; raises ScenarioError listing every problem."""
    root = None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml_input.load(text)
    except yaml.MarkedYAMLError as exc:
        line, _, problem = yaml_input.problem_line(exc).partition(": ")
        path = path_at(root, exc.problem_mark) if root is not None and exc.problem_mark else None
        raise ScenarioError([f"{source}:{line}: {path + ': ' if path else ''}{problem}"]) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise ScenarioError([f"{source}: not readable as YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                f"{source}:1: a scenario is a YAML mapping of keys (name, start, site, ...), "
                f"not {'an empty file' if data is None else 'a list' if isinstance(data, list) else 'a single value'}"
            ]
        )
    if {"base", "axes"} <= set(data):
        raise ScenarioError([f"{source}:1: this is a sweep file (base, axes): run it with python -m twin sweep"])
    context = {"base_dir": Path(base_dir) if base_dir is not None else Path(".")}
    try:
        return Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError([format_error(e, source, root) for e in drop_misspelt_missing(exc.errors())]) from None
    except RecursionError:
        raise ScenarioError([f"{source}: the scenario is nested too deeply"]) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file; relative paths inside it resolve against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: scenario file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: cannot read scenario file ({exc})"]) from None
    return load_scenario_text(text, source=str(path), base_dir=path.parent)
