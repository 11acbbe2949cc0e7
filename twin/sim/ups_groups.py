"""UPS groups: the rows of the facility shared among independent UPS systems (power_chain.ups.groups), each
sized on its own rows' design IT with the chain's redundancy, so that modules lost in one group limit the
racks of its rows only (docs/model.md#power-chain).

A group's limit is applied at its racks' wall: what the group's UPS carries (its racks plus their share of
the PDU losses) over 1 + the PDU's full-load loss fraction, the most a PDU loses (a limit on the safe side;
the racks' PDUs are not modelled one by one).
"""

import numpy as np

from twin.physics import power


def row_groups(row_design_w: np.ndarray, groups: int) -> np.ndarray:
    """The UPS group of each row (int64): the rows in order, cut into `groups` runs of about equal design IT."""
    if groups <= 1 or row_design_w.shape[0] == 0:
        return np.zeros(row_design_w.shape[0], dtype=np.int64)
    total = row_design_w.sum()
    middle = np.cumsum(row_design_w) - 0.5 * row_design_w  # each row's place along the facility's design IT
    return np.minimum((middle / total * groups).astype(np.int64), groups - 1)


def group_ratings_w(row_group: np.ndarray, row_design_w: np.ndarray, groups: int, ups) -> np.ndarray:
    """Each group's installed UPS capacity [W]: power.installed_rating_w of its rows' design IT times the
    sizing factor, in modules of ups.module_kw with ups.redundancy."""
    design_w = np.bincount(row_group, weights=row_design_w, minlength=groups)
    return np.array(
        [power.installed_rating_w(ups.sizing_factor * d, ups.module_kw * 1e3, ups.redundancy) for d in design_w]
    )


def group_wall_caps_w(scenario, ratings_w: np.ndarray, inside_window) -> np.ndarray:
    """(steps, groups): the most each group's racks may draw at the wall in each step, inf where no module of
    the group is out; (steps, 0) for a facility of one UPS (its outages cap the site's UPS, engine.ups_cap_w).
    inside_window(outage): the steps an outage covers (bool per step)."""
    pc = scenario.facility.power_chain
    outages = scenario.faults.power_outages
    steps = scenario.n_steps
    if pc.ups.groups <= 1:
        return np.full((steps, 0), np.inf)
    caps = np.full((steps, pc.ups.groups), np.inf)
    module_w = pc.ups.module_kw * 1e3
    for outage in outages:
        g = outage.group - 1
        left_w = max(ratings_w[g] - outage.modules_lost * module_w, 0.0)
        inside = inside_window(outage)
        caps[inside, g] = np.minimum(caps[inside, g], left_w / (1.0 + pc.pdu_full_load_loss_fraction))
    return caps
