"""Draw docs/floor-map.png, the floor map README shows: a 10 MW direct-to-chip hall in 4 rows on Houston's
hottest afternoon, row 2's only CDU lost for an hour (the case tests/test_rows.py checks).

    python tools/floor_map_example.py
"""

from pathlib import Path

import numpy as np

from twin.html_report.floor import _map
from twin.pipeline import execute_with_racks
from twin.scenario import load_scenario_text

SCENARIO = """
name: floor-map-example
start: 2023-08-01
duration: 1d
step: 60s
site: {name: houston-tx}
facility:
  halls:
    - {name: hall-a, rack_count: 300, row_count: 4, servers_per_rack: 4, gpu: H100-SXM}
  cooling: {type: direct_to_chip, cdu_redundancy: N, cdu_unit_kw: 2500}
workload:
  inference: {model: llama-3.1-70b, peak_demand_fraction: 0.9, trough_demand_fraction: 0.5, peak_hour_local: 15}
faults:
  cooling_outages:
    - {unit: cdu, hall: hall-a, row: 2, units: 1, start: 2023-08-01T20:00, duration: 1h}
"""


def main():
    _, summary, racks = execute_with_racks(load_scenario_text(SCENARIO))
    per_rack = racks.groupby("rack_id", observed=True, sort=False).agg(coolant=("coolant_temp_c", "max")).reset_index()
    fig = _map(per_rack, "coolant", "peak coolant supply (°C), hourly means", "inferno")
    fig.suptitle("hall-a: row 2's CDU out for an hour; rows 1, 3, 4 unaffected", fontsize=10)
    out = Path(__file__).resolve().parents[1] / "docs" / "floor-map.png"
    fig.savefig(out, dpi=80, bbox_inches="tight")
    print(
        f"wrote {out}; hottest rack {summary['racks']['hottest_rack']['rack_id']}, "
        f"peak coolant {np.nanmax(per_rack['coolant']):.1f} C"
    )


if __name__ == "__main__":
    main()
