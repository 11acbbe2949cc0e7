"""Site library: hourly weather, grid carbon, grid water and price for one typical year.

A site is 8,760 hourly rows on a UTC hour-of-year axis (hour 0 = 1 January 00:00 UTC).
Bundled sites live in index.yaml + data/<name>.parquet, built from public data by
`python tools/build_sites.py`; a scenario may instead point at the user's own EPW and
grid CSV (twin.io.weather, twin.io.grid_csv).
"""

from twin.sites.index import bundled_site_names, site_entry

__all__ = ["bundled_site_names", "site_entry"]
