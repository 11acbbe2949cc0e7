"""Energy and heat balance every step, on random scenarios (hypothesis)."""

import numpy as np
from conftest import short_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.pipeline import simulate
from twin.scenario import Scenario

scenario_variants = st.fixed_dictionaries(
    {
        "rack_count": st.integers(1, 400),
        "servers_per_rack": st.integers(1, 8),
        "gpu": st.sampled_from(["H100-SXM", "H200-SXM", "A100-SXM", "H100-PCIe", "A100-PCIe"]),
        "start": st.dates(
            min_value=__import__("datetime").date(2020, 1, 1), max_value=__import__("datetime").date(2030, 12, 31)
        ),
        "peak": st.floats(0.0, 1.5),
        "trough_share": st.floats(0.0, 1.0),
        "ceiling": st.floats(0.05, 1.0),
        "chw": st.floats(5.0, 18.0),
        "economiser": st.booleans(),
        "ups_sizing": st.floats(0.8, 2.0),
        "seed": st.integers(0, 2**32),
        "cooling": st.sampled_from(["air", "direct_to_chip", "immersion-single", "immersion-two"]),
        "airside": st.booleans(),
        "distribution": st.sampled_from(["ac", "dc_48v_rack", "hvdc_800v"]),
        "ups_mode": st.sampled_from(["double_conversion", "eco"]),
        "redundancy": st.sampled_from(["N", "N+1", "2N"]),
        "outage": st.one_of(st.none(), st.tuples(st.integers(0, 23), st.floats(0.1, 1.0))),
        "solar_mw": st.sampled_from([0.0, 0.5, 5.0]),
        "battery_mwh": st.sampled_from([0.0, 2.0]),
    }
)


def _scenario(v):
    data = short_scenario(seed=v["seed"], start=v["start"].isoformat())
    hall = data["facility"]["halls"][0]
    hall.update(rack_count=v["rack_count"], servers_per_rack=v["servers_per_rack"], gpu=v["gpu"])
    air = dict(
        chw_supply_temp_c=v["chw"],
        supply_air_temp_c=v["chw"] + 9.0,
        economiser=v["economiser"],
        airside_economiser=v["airside"],
    )
    kind = v["cooling"].split("-")
    if kind[0] == "air":
        data["facility"]["cooling"] = dict(type="air", **air)
    elif kind[0] == "direct_to_chip":
        data["facility"]["cooling"] = dict(type="direct_to_chip", air_path=air)
    else:
        data["facility"]["cooling"] = dict(type="immersion", phase=kind[1], air_path=air)
    data["facility"]["onsite"] = {
        "solar_mw_dc": v["solar_mw"],
        "battery_mwh": v["battery_mwh"],
        "battery_mw": v["battery_mwh"] / 2.0,
    }
    chain = data["facility"]["power_chain"]
    chain["distribution"] = v["distribution"]
    chain["ups"].update(sizing_factor=v["ups_sizing"], mode=v["ups_mode"], redundancy=v["redundancy"])
    if v["outage"] is not None:
        hour, fraction = v["outage"]
        unit = "chiller" if kind[0] == "air" else "cdu"
        data["faults"] = {
            "cooling_outages": [
                {
                    "unit": unit,
                    "start": f"{v['start'].isoformat()}T{hour:02d}:00",
                    "duration": "2h",
                    "fraction": fraction,
                }
            ]
        }
    inf = data["workload"]["inference"]
    inf.update(
        peak_demand_fraction=v["peak"],
        trough_demand_fraction=v["peak"] * v["trough_share"],
        utilization_ceiling=v["ceiling"],
        tokens_per_gpu_s=1500.0,
    )
    return Scenario.model_validate(data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_variants)
def test_facility_power_is_the_sum_of_its_parts_every_step(v):
    f = simulate(_scenario(v))
    parts = f["it_power_w"] + f["cooling_power_w"] + f["power_chain_loss_w"] + f["other_power_w"]
    np.testing.assert_allclose(f["facility_power_w"], parts, rtol=1e-9, atol=0.0)
    it_parts = f["gpu_power_w"] + f["host_power_w"] + f["server_fan_power_w"] + f["psu_loss_w"]
    np.testing.assert_allclose(f["it_power_w"], it_parts, rtol=1e-9)
    assert (f["facility_power_w"] >= f["it_power_w"]).all()
    assert (f["facility_power_w"] / f["it_power_w"] >= 1.0).all()  # PUE >= 1 every step
    # behind the meter: grid import = facility - solar used - battery discharge, never negative
    solar_used = np.minimum(f["solar_power_w"], f["facility_power_w"])
    discharge = f["battery_power_w"].clip(lower=0.0)
    np.testing.assert_allclose(f["grid_import_w"], f["facility_power_w"] - solar_used - discharge, rtol=1e-9, atol=1e-6)
    assert (f["grid_import_w"] >= -1e-6).all()
    charge = (-f["battery_power_w"]).clip(lower=0.0)
    assert (charge <= f["solar_power_w"] - solar_used + 1e-6).all()  # charged from PV surplus only


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_variants)
def test_all_electrical_power_ends_as_rejected_heat(v):
    f = simulate(_scenario(v))
    # Towers, outdoor air and dry coolers reject every watt drawn inside the building; tower and
    # dry-cooler fans and the yard transformer reject their own power straight to ambient. Heat
    # the plants cannot take is stored in the coolant loops (cooling_unmet_w, negative while a
    # loop recovers), so the balance holds every step.
    outdoors = f["heat_rejected_w"] + f["tower_fan_power_w"] + f["dry_cooler_fan_power_w"] + f["transformer_loss_w"]
    np.testing.assert_allclose(outdoors + f["cooling_unmet_w"], f["facility_power_w"], rtol=1e-9)


def test_water_and_carbon_scale_with_the_energy_they_come_from():
    f = simulate(
        _scenario(
            {
                "rack_count": 32,
                "servers_per_rack": 4,
                "gpu": "H100-SXM",
                "start": __import__("datetime").date(2023, 7, 1),
                "peak": 0.8,
                "trough_share": 0.4,
                "ceiling": 0.85,
                "chw": 15.0,
                "economiser": True,
                "ups_sizing": 1.0,
                "seed": 1,
                "cooling": "direct_to_chip",
                "airside": True,
                "distribution": "ac",
                "ups_mode": "double_conversion",
                "redundancy": "N",
                "outage": None,
                "solar_mw": 0.5,
                "battery_mwh": 2.0,
            }
        )
    )
    energy_kwh = f["grid_import_w"] * 300.0 / 3.6e6
    np.testing.assert_allclose(f["carbon_kg"], energy_kwh * f["grid_carbon_g_per_kwh"] / 1000.0, rtol=1e-12)
    np.testing.assert_allclose(f["water_indirect_m3"], energy_kwh * f["grid_water_l_per_kwh"] / 1000.0, rtol=1e-12)
    np.testing.assert_allclose(
        f["water_direct_m3"],
        f["water_evaporation_m3"] + f["water_drift_m3"] + f["water_blowdown_m3"] + f["water_adiabatic_m3"],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        f["cost_usd"], f["energy_cost_usd"] + f["water_cost_usd"] + f["fixed_cost_usd"], rtol=1e-12
    )
