"""What was spent, per step: one preallocated array for the whole run (docs/architecture.md#the-flow-of-a-run)."""

import numpy as np
import pandas as pd

from twin.physics.columns import COLUMNS, N_RACK, RACK_COLUMNS


class Ledger:
    """Per-step facility series: rows are steps, columns are twin.physics.columns.COLUMNS."""

    def __init__(self, step_times_utc, n_halls=0, period_steps=0):
        """period_steps: steps per period of the per-rack series (0: none kept)."""
        self.step_times_utc = step_times_utc
        self.period_steps = period_steps
        periods = -(-step_times_utc.shape[0] // period_steps) if period_steps else 0
        self.rack_sums = np.zeros((periods, n_halls, N_RACK))
        self.rack_steps = np.zeros(periods)
        # Not filled: the facility kernel writes every column of every step it advances (a year at 60 s of a
        # 53-column ledger is 223 MB whose first touch is the kernel's, not a fill's). Column-major: each
        # series is contiguous, so the summaries' column sums read 4 MB each, not the whole 223 MB through
        # the cache (two sweep variants side by side no longer slow each other: 0.55 s each, alone or not)
        self.values = np.empty((step_times_utc.shape[0], len(COLUMNS)), order="F")

    def to_frame(self):
        # copy=False: the frame shares the ledger's memory (a year at 60 s is 223 MB not copied); twin never
        # writes into the frame in place, it adds columns
        frame = pd.DataFrame(self.values, columns=list(COLUMNS), copy=False)
        frame.insert(0, "timestamp", pd.to_datetime(self.step_times_utc).tz_localize("UTC"))
        return frame

    def rack_frame(self, halls):
        """Per-rack means per period: one row per (period, hall); halls: (name, rack_count, servers_per_rack)
        of each hall. Power columns are one rack's (the hall's racks are alike), the rest its servers'."""
        if self.rack_sums.shape[0] == 0:
            return pd.DataFrame()
        means = self.rack_sums / self.rack_steps[:, None, None]
        starts = pd.to_datetime(self.step_times_utc[:: self.period_steps]).tz_localize("UTC")
        parts = []
        for h, (name, racks, servers_per_rack) in enumerate(halls):
            part = pd.DataFrame(means[:, h, :], columns=list(RACK_COLUMNS))
            power = [c for c in RACK_COLUMNS if c.endswith("_w")]
            part[power] *= servers_per_rack
            part.insert(0, "racks", racks)
            part.insert(0, "hall", name)
            part.insert(0, "period_start_utc", starts)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)
