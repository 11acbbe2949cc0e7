"""Mixed GPU generations in one hall: rack groups with their own GPU model are each stepped with their own
GPU, server and serving curve; the same racks split into two single-model halls give the same totals."""

import numpy as np
import pytest
from conftest import short_scenario

from twin.pipeline import execute_with_racks
from twin.scenario import Scenario

H100_RACKS = {"count": 20, "servers_per_rack": 4}
B200_RACKS = {"count": 20, "servers_per_rack": 4, "gpu": "B200"}


def _scenario(halls):
    data = short_scenario(duration="2d", step="300s")
    data["facility"]["halls"] = halls
    data["facility"]["cooling"] = {"type": "direct_to_chip"}
    data["workload"]["inference"].update(model="llama-3.1-70b", tokens_per_gpu_s=None)
    data["results"] = {"rack_series": "hourly"}
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def mixed_and_split():
    mixed = _scenario(
        [
            {
                "name": "hall-a",
                "rack_count": 40,
                "row_count": 2,
                "servers_per_rack": 4,
                "gpu": "H100-SXM",
                "racks": [H100_RACKS, B200_RACKS],
            }
        ]
    )
    split = _scenario(
        [
            {"name": "hall-a", "rack_count": 20, "row_count": 1, "servers_per_rack": 4, "gpu": "H100-SXM"},
            {"name": "hall-b", "rack_count": 20, "row_count": 1, "servers_per_rack": 4, "gpu": "B200"},
        ]
    )
    return execute_with_racks(mixed), execute_with_racks(split)


def test_each_rack_runs_its_own_gpu(mixed_and_split):
    (_, _, racks), _ = mixed_and_split
    per_rack = racks.groupby("rack_id", observed=True)[["gpu_power_w", "it_power_w"]].mean()
    # the groups alternate along the rows: B200 racks (1,000 W boards) draw more than H100 racks (700 W)
    low, high = np.sort(per_rack["gpu_power_w"].to_numpy())[[19, 20]]
    assert high > 1.2 * low
    assert (per_rack["gpu_power_w"] > 0.5 * (low + high)).sum() == 20


def test_one_mixed_hall_and_two_single_model_halls_agree(mixed_and_split):
    (_, mixed, _), (_, split, _) = mixed_and_split
    for key in ("it_energy_mwh", "tokens"):
        assert mixed["totals"][key] == pytest.approx(split["totals"][key], rel=1e-3), key  # measured: 1.4e-5


def test_a_training_hall_takes_one_gpu_model():
    data = short_scenario()
    data["facility"]["halls"] = [
        {"name": "serve", "rack_count": 2, "servers_per_rack": 4, "gpu": "H100-SXM"},
        {
            "name": "train",
            "rack_count": 4,
            "servers_per_rack": 4,
            "gpu": "H100-SXM",
            "racks": [{"count": 2, "servers_per_rack": 4}, {"count": 2, "servers_per_rack": 4, "gpu": "B200"}],
        },
    ]
    data["workload"]["training"] = {
        "hall": "train",
        "job_gpus": [8, 16],
        "model_params_billion": 70,
        "arrivals_per_day": 4,
        "job_hours_mean": 2,
    }
    with pytest.raises(ValueError, match="mixes GPU models"):
        Scenario.model_validate(data)


def test_an_unknown_rack_group_gpu_is_named():
    data = short_scenario()
    data["facility"]["halls"][0]["racks"] = [
        {"count": data["facility"]["halls"][0]["rack_count"], "servers_per_rack": 4, "gpu": "H1000"}
    ]
    with pytest.raises(ValueError, match="unknown GPU 'H1000'"):
        Scenario.model_validate(data)
