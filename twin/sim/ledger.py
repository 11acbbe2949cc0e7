"""What was spent, per step: one preallocated array for the whole run (docs/architecture.md#the-flow-of-a-run)."""

import numpy as np
import pandas as pd

from twin.physics.columns import (
    COLUMNS,
    N_RACK,
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

    def rack_frame(self, layout, hall_names):
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
                "rack_id": pd.Categorical(np.tile(np.array(layout.rack_ids, dtype=object), periods)),
                "row": pd.Categorical(np.tile(np.array(layout.row_names, dtype=object)[layout.rack_row], periods)),
                "hall": pd.Categorical(np.tile(np.array(hall_names, dtype=object)[layout.rack_hall], periods)),
            }
        )
        for k, name in enumerate(RACK_COLUMNS):
            if name.endswith("_s"):
                values = self.rack_sums[:, k, :]
            elif name.endswith("_w"):
                values = means[:, k, :] * servers
            else:
                values = means[:, k, :]
            frame[name] = values.reshape(periods * racks)
        return frame
