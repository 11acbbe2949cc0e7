"""The bundled site index (index.yaml): names, coordinates and sources, without loading series."""

from functools import lru_cache
from pathlib import Path

import yaml

SITES_DIR = Path(__file__).parent


@lru_cache(maxsize=1)
def _index():
    with open(SITES_DIR / "index.yaml") as fh:
        return yaml.safe_load(fh)


def bundled_site_names():
    return sorted(_index())


def site_entry(name):
    return _index()[name]
