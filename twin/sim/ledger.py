"""What was spent, per step: one preallocated array for the whole run (DESIGN.md)."""

import numpy as np
import pandas as pd

from twin.physics.facility import COLUMNS


class Ledger:
    """Per-step facility series: rows are steps, columns are twin.physics.facility.COLUMNS."""

    def __init__(self, step_times_utc):
        self.step_times_utc = step_times_utc
        self.values = np.full((step_times_utc.shape[0], len(COLUMNS)), np.nan)

    def to_frame(self):
        frame = pd.DataFrame(self.values, columns=list(COLUMNS))
        frame.insert(0, "timestamp", pd.to_datetime(self.step_times_utc).tz_localize("UTC"))
        return frame
