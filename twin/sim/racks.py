"""What the racks and rows did over a run, for summary.json: the hottest rack, how long racks were
throttled or tripped, the power provisioned but never drawn (stranded), and how hard each row's
cooling units worked. Read from the kernel's run aggregates (Records.rack_run, row_run), so it holds
whatever results.rack_series keeps."""

import numpy as np

from twin.physics.columns import RUN_MAX_DIE, RUN_MAX_INLET, RUN_PEAK_IT, RUN_THROTTLED, RUN_TRIPPED


def rack_summary(plant, ledger, run_s):
    """The `racks` block of summary.json (docs/architecture.md#results-contract)."""
    layout, rows, run = plant.layout, plant.rows, ledger.rack_run
    peak_w = run[RUN_PEAK_IT] * layout.rack_servers  # each rack's peak (not coincident with the others')
    hottest = int(np.argmax(run[RUN_MAX_DIE]))
    provisioned_row = rows.design_it_w  # racks and empty positions

    racks = peak_w.shape[0]
    crah_capacity = rows.crah_units * rows.crah_unit_capacity_w
    cdu_capacity = rows.cdu_units * rows.cdu_unit_capacity_w
    return {
        "racks": racks,
        "rows": len(layout.row_names),
        "hottest_rack": {
            "rack_id": layout.rack_ids[hottest],
            "max_gpu_die_temp_c": float(run[RUN_MAX_DIE, hottest]),
            "max_inlet_temp_c": float(run[RUN_MAX_INLET, hottest]),
        },
        "max_inlet_temp_c": float(run[RUN_MAX_INLET].max()),
        "rack_hours_throttled_share": float(run[RUN_THROTTLED].sum() / (racks * run_s)),
        "rack_hours_tripped_share": float(run[RUN_TRIPPED].sum() / (racks * run_s)),
        "empty_positions": int(layout.row_empty.sum()),
        "stranded_power": {
            "provisioned_mw": float(provisioned_row.sum() / 1e6),
            "provisioned_to_racks_mw": float(plant.rack_design_it_w.sum() / 1e6),
            "sum_of_rack_peaks_mw": float(peak_w.sum() / 1e6),
            "stranded_at_racks_mw": float((plant.rack_design_it_w - peak_w).clip(min=0.0).sum() / 1e6),
            "sum_of_row_peaks_mw": float(ledger.row_run[:, 0].sum() / 1e6),
            "stranded_at_rows_mw": float((provisioned_row - ledger.row_run[:, 0]).clip(min=0.0).sum() / 1e6),
        },
        "ups_groups": [
            {
                "group": g + 1,
                "rows": [name for name, k in zip(layout.row_names, plant.ups_row_group, strict=True) if k == g],
                "installed_kw": float(rating_w / 1e3),
            }
            for g, rating_w in enumerate(plant.ups_group_rating_w)
        ],
        "row_units": [
            {
                "row": name,
                "provisioned_kw": float(provisioned_row[g] / 1e3),
                "peak_it_kw": float(ledger.row_run[g, 0] / 1e3),
                "crah_units": float(rows.crah_units[g]),
                "crah_peak_load_share": float(ledger.row_run[g, 1] / crah_capacity[g]) if crah_capacity[g] > 0 else 0.0,
                "cdu_units": float(rows.cdu_units[g]),
                "cdu_peak_load_share": float(ledger.row_run[g, 2] / cdu_capacity[g]) if cdu_capacity[g] > 0 else 0.0,
            }
            for g, name in enumerate(layout.row_names)
        ],
    }
