"""Catalog: hardware, cooling, power-chain, model and economics data with their sources (data, not code)."""

from functools import cache
from pathlib import Path

import yaml

CATALOG_DIR = Path(__file__).parent


@cache
def load(name):
    """The parsed catalog file `<name>.yaml` (read once per process)."""
    with open(CATALOG_DIR / f"{name}.yaml") as fh:
        return yaml.safe_load(fh)


def gpu_names():
    return sorted(load("gpus"))
