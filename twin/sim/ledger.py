"""What was spent, per step: one preallocated array for the whole run (docs/architecture.md#the-flow-of-a-run)."""

import numpy as np
import pandas as pd

from twin.physics.columns import (
    COLUMNS,
    N_RACK,
    R_CLOCK,
    R_IT,
    R_LIQ,
    RACK_COLUMNS,
    RACK_RUN_COLUMNS,
    ROW_RUN_COLUMNS,
    RUN_MAX_DIE,
    RUN_MAX_INLET,
)


class Ledger:
    """Per-step facility series: rows are steps, columns are twin.physics.columns.COLUMNS."""

    def __init__(self, step_times_utc, n_halls=0, period_steps=0, n_rows=0):
        """n_halls: units (racks); period_steps: steps per period of the per-rack series (0: none kept)."""
        self.step_times_utc = step_times_utc
        self.period_steps = period_steps
        periods = -(-step_times_utc.shape[0] // period_steps) if period_steps else 0
        self.rack_sums = np.zeros((periods, N_RACK, n_halls))
        self.rack_steps = np.zeros(periods)
        self.rack_run = np.zeros((len(RACK_RUN_COLUMNS), n_halls))
        self.row_run = np.zeros((n_rows, len(ROW_RUN_COLUMNS)))
        self.rack_run[[RUN_MAX_INLET, RUN_MAX_DIE], :] = -273.15  # as reset_run, without zeroing zeros again
        # Not filled: the facility kernel writes every column of every step it advances (a year at 60 s of a
        # 53-column ledger is 223 MB whose first touch is the kernel's, not a fill's). Column-major: each
        # series is contiguous, so the summaries' column sums read 4 MB each, not the whole 223 MB through
        # the cache (two sweep variants side by side no longer slow each other: 0.55 s each, alone or not)
        self.values = np.empty((step_times_utc.shape[0], len(COLUMNS)), order="F")

    def reset_run(self):
        """Start the per-rack sums and the run's peaks afresh (a second run of the same simulation)."""
        self.rack_sums[:] = 0.0
        self.rack_steps[:] = 0.0
        self.rack_run[:] = 0.0
        self.rack_run[[RUN_MAX_INLET, RUN_MAX_DIE], :] = -273.15
        self.row_run[:] = 0.0

    def to_frame(self):
        # copy=False: the frame shares the ledger's memory (a year at 60 s is 223 MB not copied); twin never
        # writes into the frame in place, it adds columns
        frame = pd.DataFrame(self.values, columns=list(COLUMNS), copy=False)
        frame.insert(0, "timestamp", pd.to_datetime(self.step_times_utc).tz_localize("UTC"))
        return frame

    def rack_frame(self, layout, hall_names, liquid_share):
        """Each rack per period: one row per (period, rack), racks in layout order (twin/sim/topology.py).
        Power columns are the rack's (its servers summed), temperatures and shares the means of its
        servers over the period, throttled_s and tripped_s the seconds within it."""
        if self.rack_sums.shape[0] == 0:
            return pd.DataFrame()
        periods, _, racks = self.rack_sums.shape
        means = self.rack_sums / self.rack_steps[:, None, None]
        servers = layout.rack_servers
        frame = pd.DataFrame(
            {
                "period_start_utc": np.repeat(
                    pd.to_datetime(self.step_times_utc[:: self.period_steps]).tz_localize("UTC"), racks
                ),
                # categories in layout order, from codes: no factorising of 500,000 strings (0.3 s a year)
                "rack_id": _tiled(np.arange(racks), layout.rack_ids, periods),
                "row": _tiled(layout.rack_row, layout.row_names, periods),
                "hall": _tiled(layout.rack_hall, hall_names, periods),
            }
        )
        for k, name in enumerate(RACK_COLUMNS):
            if name.endswith("_s"):
                values = self.rack_sums[:, k, :]
            elif k == R_LIQ:  # not summed by the kernel: the rack's IT power times its liquid share
                values = means[:, R_IT, :] * servers * liquid_share
            elif name.endswith("_w"):
                values = means[:, k, :] * servers
            elif k == R_CLOCK:  # summed as its deficit (physics/record.py _record_period)
                values = 1.0 - means[:, k, :]
            else:
                values = means[:, k, :]
            frame[name] = values.reshape(periods * racks)
        return frame


def _tiled(codes, names, periods):
    """A categorical column of each rack's name (names[codes[rack]]) repeated for every period."""
    return pd.Categorical.from_codes(np.tile(np.asarray(codes, dtype=np.int64), periods), categories=list(names))
