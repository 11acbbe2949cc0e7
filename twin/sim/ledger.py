"""What was spent, per step: one preallocated array for the whole run (DESIGN.md)."""

import numpy as np
import pandas as pd

from twin.physics.facility import COLUMNS


class Ledger:
    """Per-step facility series: rows are steps, columns are twin.physics.facility.COLUMNS."""

    def __init__(self, step_times_utc):
        self.step_times_utc = step_times_utc
        # not filled: the facility kernel writes every column of every step it advances (a year at 60 s of a
        # 54-column ledger is 227 MB whose first touch is the kernel's, not a fill's)
        self.values = np.empty((step_times_utc.shape[0], len(COLUMNS)))

    def to_frame(self):
        # the frame is a view of the ledger (no 227 MB copy); pandas copies on write, so the ledger stays as it was
        frame = pd.DataFrame(self.values, columns=list(COLUMNS), copy=False)
        frame.insert(0, "timestamp", pd.to_datetime(self.step_times_utc).tz_localize("UTC"))
        return frame
