"""On-site solar from the site's weather file: AC output per W of PV (DC) for every hour of the year.

NREL PVWatts v5 chain (Dobos 2014, NREL/TP-6A20-62641) via pvlib: solar position (SPA),
isotropic-sky plane-of-array irradiance, SAPM cell temperature (open rack, glass/glass),
PVWatts DC model (gamma -0.35 %/K), PVWatts inverter (96 % nominal, DC/AC ratio 1.2) and
PVWatts' default 14 % system losses (soiling, wiring, mismatch, availability...).
"""

import numpy as np
import pandas as pd

from twin.io.hours import HOURS_PER_YEAR

DC_AC_RATIO = 1.2  # PVWatts default
INVERTER_EFFICIENCY = 0.96  # PVWatts default nominal inverter efficiency
SYSTEM_LOSSES = 0.14  # PVWatts default
GAMMA_PDC_PER_K = -0.0035  # PVWatts "standard" module


def pv_ac_w_per_w_dc(site, tilt_deg=None, azimuth_deg=None):
    """Hourly AC output [W per W_dc] on the site's UTC hour-of-year axis (same convention as its
    irradiance: the value at index h is the mean over the hour ending at h). Tilt defaults to the
    latitude, azimuth to the equator."""
    import pvlib  # here, not at the top: it (and scipy behind it) takes 0.3 s to import, and only solar needs it

    tilt = abs(site.latitude) if tilt_deg is None else tilt_deg
    azimuth = (180.0 if site.latitude >= 0.0 else 0.0) if azimuth_deg is None else azimuth_deg
    mid = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(np.arange(HOURS_PER_YEAR) - 0.5, unit="h")
    sun = pvlib.solarposition.get_solarposition(
        mid, site.latitude, site.longitude, altitude=np.nan_to_num(site.elevation_m)
    )
    poa = pvlib.irradiance.get_total_irradiance(
        tilt,
        azimuth,
        sun["apparent_zenith"],
        sun["azimuth"],
        site.dni_w_m2,
        site.ghi_w_m2,
        site.dhi_w_m2,
        model="isotropic",
    )
    poa_w = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float))
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    cell_c = pvlib.temperature.sapm_cell(poa_w, site.drybulb_c, 1.0, **params)
    dc = pvlib.pvsystem.pvwatts_dc(poa_w, cell_c, 1.0, GAMMA_PDC_PER_K)
    ac = pvlib.inverter.pvwatts(dc, 1.0 / DC_AC_RATIO, eta_inv_nom=INVERTER_EFFICIENCY)
    return np.clip(np.asarray(ac, dtype=float), 0.0, None) * (1.0 - SYSTEM_LOSSES)
