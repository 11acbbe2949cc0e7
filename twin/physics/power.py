"""Power-chain losses: utility transformer, UPS (double conversion or eco) or HVDC rectifier,
PDU/busway wiring, and the server's own conversion (AC PSU, 48 V rack shelf or 800 V DC-DC).

Every converter uses one loss form in its rating S and load L = P_out / S (Rasmussen,
"Electrical efficiency modeling of data centers", Schneider Electric white paper 108):

    loss = S (c0 + c1 L + c2 L^2)     no-load (fixed) + proportional (switching) + square-law (I^2 R)

c0..c2 come from the catalog, or are least-squares fitted to published efficiency points
(80 PLUS Titanium, UPS datasheets) by fit_loss_coefficients. Losses are heat in the room where the
unit stands: transformer outdoors, UPS/rectifier in the electrical room, PDU and PSU in the white
space (inside the servers for PSUs, so PSU loss is part of IT power: ISO/IEC 30134-2 boundary).
"""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def converter_loss_w(output_w: float, rating_w: float, c0: float, c1: float, c2: float) -> float:
    """Three-term converter loss [W]: S (c0 + c1 L + c2 L^2), L = P_out / S (Schneider WP108)."""
    if rating_w <= 0.0:
        return 0.0
    load = output_w / rating_w
    return rating_w * (c0 + c1 * load + c2 * load * load)


@njit(cache=True)
def transformer_loss_w(load_w: float, rating_w: float, no_load_fraction: float, load_loss_fraction: float) -> float:
    """Transformer loss [W]: P_NL + P_LL L^2.

    No-load (core) loss is constant while energised; load (copper) loss scales with the
    square of the load. eta(L) = L S / (L S + P_NL + L^2 P_LL) (IEEE C57.12.00 loss
    definitions; DOE 10 CFR 431 efficiency rated at 50 % load). docs/model.md#power-chain.
    """
    return converter_loss_w(load_w, rating_w, no_load_fraction, 0.0, load_loss_fraction)


@njit(cache=True)
def pdu_loss_w(load_w: float, rating_w: float, full_load_loss_fraction: float) -> float:
    """PDU and distribution wiring loss [W]: f_FL S L^2 (resistive, I^2 R).

    Rasmussen, Schneider Electric WP108 (wiring and PDU losses are square-law);
    0-2 % at full load in large facilities (LBNL 2024, Shehabi et al.). docs/model.md#power-chain.
    """
    return converter_loss_w(load_w, rating_w, 0.0, 0.0, full_load_loss_fraction)


def fit_loss_coefficients(load_fractions: np.ndarray, efficiencies: np.ndarray) -> tuple[float, float, float]:
    """(c0, c1, c2) of the three-term loss, least-squares fitted to efficiency points.

    eta = L / (L + c0 + c1 L + c2 L^2)  =>  loss fraction l = L (1/eta - 1) = c0 + c1 L + c2 L^2,
    linear in c. The fitted terms are a curve fit, not a decomposition (c1 may come out negative
    for the 80 PLUS shape); the fitted loss must stay positive from no load to 120 % load.
    """
    load = np.asarray(load_fractions, dtype=float)
    eta = np.asarray(efficiencies, dtype=float)
    loss = load * (1.0 / eta - 1.0)
    basis = np.stack([np.ones_like(load), load, load * load], axis=1)
    coef = np.linalg.lstsq(basis, loss, rcond=None)[0]
    grid = np.linspace(0.0, 1.2, 121)
    if np.any(coef[0] + coef[1] * grid + coef[2] * grid**2 <= 0.0):
        raise ValueError(f"efficiency points {list(zip(load, eta))} give a loss curve that is not positive")
    return tuple(float(c) for c in coef)


def efficiency(load_fraction: float, c0: float, c1: float, c2: float) -> float:
    """Efficiency of a three-term converter at a load fraction (for reports and validation)."""
    return load_fraction / (load_fraction + c0 + c1 * load_fraction + c2 * load_fraction**2)


def installed_rating_w(design_w: float, module_w: float, redundancy: str) -> float:
    """Installed capacity [W] of modular units (UPS modules, PSUs, CDUs) for a design load.

    N: ceil(design / module) modules; N+1: one more; 2N: two full systems. All installed units
    share the load (Uptime Institute Tier topology; the load fraction each runs at is
    design / installed, which is why 2N runs UPSs at under 50 % load).
    """
    needed = max(1, math.ceil(design_w / module_w - 1e-9))
    modules = {"N": needed, "N+1": needed + 1, "2N": 2 * needed}[redundancy]
    return modules * module_w
