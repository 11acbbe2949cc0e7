"""Power-chain losses: utility transformer, UPS, PDU/distribution.

Loss models are expressed in the unit's rating: L = load / rating.
"""

from numba import njit


@njit(cache=True)
def transformer_loss_w(load_w, rating_w, no_load_fraction, load_loss_fraction):
    """Transformer loss [W]: P_NL + P_LL L^2.

    No-load (core) loss is constant while energised; load (copper) loss scales with the
    square of the load. eta(L) = L S / (L S + P_NL + L^2 P_LL) (IEEE C57.12.00 loss
    definitions; DOE 10 CFR 431 efficiency rated at 50 % load). REFERENCE.md sec. 4.
    """
    load = load_w / rating_w
    return rating_w * (no_load_fraction + load_loss_fraction * load * load)


@njit(cache=True)
def ups_loss_quadratic_w(output_w, rating_w, no_load_fraction, proportional_fraction, square_fraction):
    """UPS loss [W]: S (c0 + c1 L + c2 L^2).

    The three-term loss model of Rasmussen, "Electrical efficiency modeling of data
    centers", Schneider Electric white paper 108: no-load loss (fixed), proportional loss
    (switching) and square-law loss (conduction). REFERENCE.md sec. 4.
    """
    load = output_w / rating_w
    return rating_w * (no_load_fraction + proportional_fraction * load + square_fraction * load * load)


@njit(cache=True)
def pdu_loss_w(load_w, rating_w, full_load_loss_fraction):
    """PDU and distribution wiring loss [W]: f_FL S L^2 (resistive, I^2 R).

    Rasmussen, Schneider Electric WP108 (wiring and PDU losses are square-law);
    0-2 % at full load in large facilities (LBNL 2024, Shehabi et al.). REFERENCE.md sec. 4.
    """
    load = load_w / rating_w
    return rating_w * full_load_loss_fraction * load * load
