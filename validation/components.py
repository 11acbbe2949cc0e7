"""Single plant components against the figures their makers and standards publish."""

import numpy as np

from twin import catalog
from twin.params.server import server_fans
from twin.physics import cooling, power, rack
from twin.physics.psychro import wetbulb_from_relhum_c
from twin.sim.plant import chiller_curve
from twin.validate import in_range, within


def _server_power_per_k(inlet_a_c, inlet_b_c, utilization=0.7):
    """Relative rise of an air-cooled DGX H100's wall power per K of inlet temperature [%/K]: fans + leakage."""
    from twin.calibrate.sensor import catalog_power_w

    spec, fans = catalog.load("gpus")["H100-SXM"], catalog.load("cooling")["server_fans"]
    law = server_fans(spec, 8, spec["server"]["host_idle_w"], spec["server"]["host_max_w"])
    r = catalog.load("cooling")["air"]["gpu_die_rise_at_tdp_k"] / spec["tdp_w"]
    host = rack.host_power_linear_w(utilization, law["host_idle_w"], law["host_max_w"])
    totals = []
    for inlet in (inlet_a_c, inlet_b_c):
        temp = inlet + 300.0 * r
        for _ in range(50):  # steady die temperature with leakage feedback
            p = float(catalog_power_w("H100-SXM", utilization, temp))
            temp = inlet + p * r
        load = (8 * p + host) / law["fan_design_dc_w"]
        speed = rack.fan_speed_fraction(
            inlet, load, fans["speed_at_ref"], fans["ref_temp_c"], fans["speed_per_k"], fans["min_speed"]
        )
        totals.append(8 * p + host + rack.fan_power_w(speed, law["fan_max_w"]))
    return 100.0 * (totals[1] / totals[0] - 1.0) / (inlet_b_c - inlet_a_c)


def cases():
    chain = catalog.load("power_chain")
    double, eco = chain["ups_modes"]["double_conversion"], chain["ups_modes"]["eco"]
    titanium = power.fit_loss_coefficients(*zip(*chain["server_conversion"]["titanium_230v"]["points"]))
    tr = chain["transformer"]
    curve = chiller_curve(catalog.load("cooling")["air"]["chiller_curve"])
    chiller_w = cooling.chiller_power_eir_w(2.124e6, 8.89, 23.89, 2.124e6, 1, curve)[0]
    evap, _, _ = cooling.tower_water_kg_s(1.0e6, 5.6, 27.0, 0.85, 5e-5, 5.0)
    tw = wetbulb_from_relhum_c(np.array([20.0]), np.array([0.5]), np.array([101325.0]))[0]
    return [
        within(
            "chiller COP at the AHRI rating point (McQuay PFH 2124 kW)",
            "EnergyPlus datasets/Chillers.idf reference COP 6.03 (curves normalised to +/-2 %)",
            6.03,
            2.124e6 / chiller_w,
            rel=0.02,
            evidence="check",  # the curve at its own rating point
        ),
        within(
            "cooling-tower latent share of the heat at CTI rating conditions (water 35/29.4 C, wet-bulb 25.6 C, "
            "dry-bulb 30 C)",
            "E = 0.00085 Range[F] Q[gpm] rule (85 % latent; 0.65 humid ... 1.0-1.2 dry), "
            "checalc / Cooling Towers: Principles and Practice",
            0.85,
            cooling.tower_evaporative_fraction(30.0, 25.6, 32.2),
            abs_=0.15,
        ),
        in_range(
            "tower evaporation per kWh rejected",
            "latent-heat bound Q/h_fg; E = 0.00085 Range Q rule (85 % latent), checalc / Cooling Towers P&P",
            1.0,
            1.48,
            evap * 3600.0 / 1000.0,
            unit="kg/kWh",
        ),
        in_range(
            "UPS double conversion efficiency at 50 % load",
            "Eaton 9395XR 97.5 %, Schneider Galaxy VS up to 97 %; double conversion 94-97 %",
            0.94,
            0.975,
            power.efficiency(0.5, *double),
            evidence="check",  # the loss coefficients are set to these points
        ),
        in_range(
            "UPS double conversion efficiency at 25 % load",
            "Schneider WP108 loss model; Riello: ~85 % possible at 20-25 % load on old units, modern 94-96 %",
            0.90,
            0.97,
            power.efficiency(0.25, *double),
            evidence="check",  # the loss coefficients are set to these points
        ),
        within(
            "UPS eco mode efficiency at 50 % load",
            "eco/ESS/eConversion ~99 % (Eaton ESS, Schneider eConversion)",
            0.99,
            power.efficiency(0.5, *eco),
            abs_=0.005,
            evidence="check",  # the loss coefficients are set to these points
        ),
        within(
            "server PSU efficiency at 50 % load",
            "80 PLUS Titanium 230 V internal redundant: 96 % at 50 %",
            0.96,
            power.efficiency(0.5, *titanium),
            abs_=0.005,
            evidence="check",  # the curve is fitted to these points
        ),
        within(
            "server PSU efficiency at 20 % load",
            "80 PLUS Titanium 230 V internal redundant: 94 % at 20 %",
            0.94,
            power.efficiency(0.2, *titanium),
            abs_=0.012,
            evidence="check",  # the curve is fitted to these points
        ),
        in_range(
            "MV dry-type transformer efficiency at 50 % load",
            "DOE 2016 efficiency standard (10 CFR 431.196), MV dry-type 1-2.5 MVA: 98.9-99.4 %",
            0.989,
            0.995,
            0.5 / (0.5 + power.transformer_loss_w(0.5, 1.0, tr["no_load_loss_fraction"], tr["load_loss_fraction"])),
            evidence="check",  # the losses are derived from this standard
        ),
        within(
            "fan power at half flow / design power",
            "fan affinity laws P ~ Q^3 (ASHRAE Handbook HVAC Systems and Equipment ch. 21)",
            0.125,
            cooling.affinity_power_w(0.5, 1.0, 0.2),
            abs_=1e-9,
            evidence="check",  # the affinity law itself
        ),
        in_range(
            "server power rise with inlet 23 -> 30 C, DGX H100 at 70 % load",
            "Coroama 2025 (arXiv:2509.26163): +0.35-0.5 %/K between 23 and 30 C",
            0.35,
            0.5,
            _server_power_per_k(23.0, 30.0),
            unit="%/K",
            evidence="check",  # the fan speed law was chosen with this band in view
        ),
        within(
            "wet-bulb at 20 C, 50 % RH, sea level",
            "Stull 2011, J. Appl. Meteor. Climatol. 50:2267 (13.7 C, +/-0.3 K)",
            13.7,
            tw,
            abs_=0.3,
            unit="C",
        ),
    ]
