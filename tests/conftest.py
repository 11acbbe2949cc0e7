"""Shared helpers: the bundled scenarios as dicts, and writing variants of them to disk."""

import copy
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

# Every run replays the same examples (derandomized), so the suite passes or fails the same way
# on every machine; TWIN_HYPOTHESIS_EXPLORE=1 lets hypothesis search afresh while developing.
settings.register_profile("replay", derandomize=True, print_blob=True)
if not os.environ.get("TWIN_HYPOTHESIS_EXPLORE"):
    settings.load_profile("replay")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHARED_DATA = ROOT.parent / "shared" / "data"  # the public data beside a checkout; a user's install has none
needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "gpu_traces").is_dir(),
    reason="../shared/data (the public GPU traces) is not beside this checkout",
)


def quickstart_dict():
    with open(SCENARIOS / "quickstart.yaml") as fh:
        return yaml.safe_load(fh)


def short_scenario(**overrides):
    """The quickstart made short (1 day at 5 min) with no SAIQ reference, for fast tests."""
    data = copy.deepcopy(quickstart_dict())
    data.update(duration="1d", step="300s")
    data["saiq"].pop("reference", None)
    data.update(overrides)
    return data


def write_yaml(path, data):
    path = Path(path)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def quickstart_copy(tmp_path):
    """The quickstart and its reference copied into tmp_path (so relative paths resolve)."""
    for name in ("quickstart.yaml", "reference-legacy.yaml"):
        (tmp_path / name).write_text((SCENARIOS / name).read_text())
    return tmp_path / "quickstart.yaml"
