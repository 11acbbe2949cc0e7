"""twin record: duration parsing, refusal without a driver, and the parquet writer read back by read_trace."""

import json
import math
import sys
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from twin.calibrate.record import (
    METADATA_KEY,
    RecordError,
    parse_duration,
    record,
    write_samples,
)
from twin.io.gpu_trace import CANONICAL, read_trace


@pytest.mark.parametrize(
    "text, seconds",
    [("10m", 600.0), ("90s", 90.0), ("1h", 3600.0), ("2.5m", 150.0), ("600", 600.0), (" 0.5 s ", 0.5), ("2H", 7200.0)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10 min", "1d", "-5s", "0", "1e3", "m", "nan"])
def test_parse_duration_refuses_other_forms_and_names_the_allowed_ones(text):
    with pytest.raises(ValueError, match=r"'10m'.*'1h'"):
        parse_duration(text)


def _nvml_works():
    try:
        import pynvml
    except ImportError:
        return False
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


@pytest.mark.skipif(_nvml_works(), reason="this machine has an NVIDIA driver and GPU")
def test_record_without_a_driver_says_so_and_writes_nothing(tmp_path):
    pytest.importorskip("pynvml")
    with pytest.raises(
        RecordError,
        match=r"no NVIDIA driver/GPU found \(NVML: .+\); twin record needs a machine "
        r"with NVIDIA GPUs",
    ):
        record(tmp_path / "trace.parquet", duration_s=1.0)
    assert list(tmp_path.iterdir()) == []


def test_record_without_nvidia_ml_py_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    with pytest.raises(RecordError, match=r"pip install .twin\[nvml\]."):
        record(tmp_path / "trace.parquet")


def test_record_refuses_a_path_it_could_not_write_before_sampling(tmp_path):
    with pytest.raises(RecordError, match="parquet"):
        record(tmp_path / "trace.csv")
    with pytest.raises(RecordError, match="no such folder"):
        record(tmp_path / "missing" / "trace.parquet")


def _rows():
    t0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    rows = []
    for k in range(3):
        for gpu in ("0", "1"):
            rows.append(
                {
                    "time_utc": t0 + timedelta(seconds=0.1 * k),
                    "gpu": gpu,
                    "power_w": 101.5 + k + int(gpu),
                    "power_instant_w": 99.0 + 2 * k,
                    "temp_c": 40.0 + k,
                    "mem_temp_c": math.nan if gpu == "1" else 50.0 + k,
                    "util": 0.25 * k,
                    "sm_clock_mhz": 1980.0,
                    "power_limit_w": 700.0,
                    "throttle_reasons": float(4 * k),
                    "mem_util": 0.1 * k,
                }
            )
    return rows


def test_written_samples_are_read_back_by_read_trace_unchanged(tmp_path):
    rows = _rows()
    path = write_samples(rows, tmp_path / "trace.parquet", {"recorded_by": "twin record", "interval_s": 0.1})
    frame, repairs = read_trace(path)
    assert repairs == []
    assert [p.name for p in tmp_path.iterdir()] == ["trace.parquet"]  # no temporary file left behind
    expected = pd.DataFrame(rows).sort_values(["gpu", "time_utc"], kind="stable").reset_index(drop=True)
    expected["time_utc"] = pd.to_datetime(expected["time_utc"], utc=True)
    assert str(frame["time_utc"].dtype) == str(expected["time_utc"].dtype)
    assert frame["time_utc"].tolist() == expected["time_utc"].tolist()  # UTC, to the microsecond
    assert frame["gpu"].tolist() == ["0", "0", "0", "1", "1", "1"]
    assert list(frame.columns) == list(CANONICAL)
    values = list(CANONICAL[2:])
    np.testing.assert_array_equal(frame[values].to_numpy(), expected[values].to_numpy())  # NaN where NaN
    assert json.loads(pq.read_schema(path).metadata[METADATA_KEY])["recorded_by"] == "twin record"


def test_absent_readings_are_stored_as_missing(tmp_path):
    row = {"time_utc": datetime(2024, 5, 1, tzinfo=timezone.utc), "gpu": 0, "power_w": 80.0}
    frame, _ = read_trace(write_samples([row], tmp_path / "t.parquet", {}))
    assert frame["gpu"].tolist() == ["0"] and frame["power_w"].tolist() == [80.0]
    assert frame[list(CANONICAL[3:])].isna().all(axis=None)


def test_rewriting_replaces_the_trace_whole(tmp_path):
    path = tmp_path / "trace.parquet"
    write_samples(_rows(), path, {})
    write_samples(_rows()[:2], path, {})
    assert len(read_trace(path)[0]) == 2


def _gpu(index, mem_temp_c, sm_clock_mhz):
    """One fake GPU's readings; None stands for NVML_ERROR_NOT_SUPPORTED."""
    return SimpleNamespace(index=index, mem_temp_c=mem_temp_c, sm_clock_mhz=sm_clock_mhz)


def _fake_nvml(monkeypatch, pynvml, gpus):
    """The real bindings' constants, errors and structs, with NVML's calls answered by gpus."""

    def supported(value):
        if value is None:
            raise pynvml.NVMLError_NotSupported()
        return value

    def field_values(gpu, ids):
        values = (pynvml.c_nvmlFieldValue_t * len(ids))()
        for k, field_id in enumerate(ids):
            values[k].fieldId = field_id
            if field_id == pynvml.NVML_FI_DEV_POWER_INSTANT:  # mW, as NVML gives it
                values[k].valueType, values[k].value.uiVal = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT, 350500
            elif gpu.mem_temp_c is None:
                values[k].nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
            else:
                values[k].valueType, values[k].value.uiVal = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT, gpu.mem_temp_c
        return values

    def events(gpu):  # a driver before 535 lacks the clocks-event call
        raise pynvml.NVMLError_FunctionNotFound()

    answers = {
        "nvmlInit": lambda: None,
        "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": lambda: len(gpus),
        "nvmlDeviceGetHandleByIndex": lambda i: gpus[i],
        "nvmlDeviceGetName": lambda g: b"NVIDIA H100 80GB HBM3",
        "nvmlDeviceGetUUID": lambda g: f"GPU-{g.index:08d}",
        "nvmlSystemGetDriverVersion": lambda: "535.104.05",
        "nvmlSystemGetNVMLVersion": lambda: "12.535.104.05",
        "nvmlDeviceGetFieldValues": field_values,
        "nvmlDeviceGetPowerUsage": lambda g: 350_000 + 1000 * g.index,
        "nvmlDeviceGetTemperature": lambda g, sensor: 61,
        "nvmlDeviceGetUtilizationRates": lambda g: pynvml.c_nvmlUtilization_t(gpu=87, memory=40),
        "nvmlDeviceGetClockInfo": lambda g, clock: supported(g.sm_clock_mhz),
        "nvmlDeviceGetEnforcedPowerLimit": lambda g: 700_000,
        "nvmlDeviceGetCurrentClocksEventReasons": events,
        "nvmlDeviceGetCurrentClocksThrottleReasons": lambda g: 0x4,
    }
    for name, answer in answers.items():
        monkeypatch.setattr(pynvml, name, answer)


def test_record_samples_every_gpu_in_canonical_units_and_keeps_what_it_has_on_ctrl_c(tmp_path, monkeypatch):
    pynvml = pytest.importorskip("pynvml")
    _fake_nvml(monkeypatch, pynvml, [_gpu(0, 72, 1980), _gpu(1, None, None)])
    rounds = []

    def progress(elapsed_s, duration_s):
        rounds.append(elapsed_s)
        if len(rounds) == 3:
            raise KeyboardInterrupt

    summary = record(tmp_path / "trace.parquet", interval_s=0.001, duration_s=60.0, progress=progress)
    assert summary["interrupted"] and summary["rounds"] == 3 and summary["samples"] == 6
    assert summary["gpu_names"] == ["NVIDIA H100 80GB HBM3"] * 2 and summary["gpu_uuids"][1] == "GPU-00000001"
    frame, repairs = read_trace(tmp_path / "trace.parquet")
    assert repairs == [] and frame["gpu"].tolist() == ["0"] * 3 + ["1"] * 3
    gpu0, gpu1 = frame.iloc[0], frame.iloc[3]
    assert (gpu0["power_w"], gpu1["power_w"], gpu0["temp_c"], gpu0["power_limit_w"]) == (350.0, 351.0, 61.0, 700.0)
    assert (gpu0["util"], gpu0["mem_util"], gpu0["throttle_reasons"]) == (0.87, 0.4, 4.0)
    assert (gpu0["mem_temp_c"], gpu0["sm_clock_mhz"], gpu0["power_instant_w"]) == (72.0, 1980.0, 350.5)
    assert np.isnan(gpu1["mem_temp_c"]) and np.isnan(gpu1["sm_clock_mhz"])  # not supported -> NaN
    metadata = json.loads(pq.read_schema(tmp_path / "trace.parquet").metadata[METADATA_KEY])
    assert metadata["driver_version"] == "535.104.05" and metadata["gpus"][1]["uuid"] == "GPU-00000001"


def test_record_keeps_to_its_schedule(tmp_path, monkeypatch):
    pynvml = pytest.importorskip("pynvml")
    _fake_nvml(monkeypatch, pynvml, [_gpu(0, 70, 1410)])
    summary = record(tmp_path / "trace.parquet", interval_s=0.01, duration_s=0.045)
    assert summary["rounds"] + summary["missed_rounds"] == 5 and not summary["interrupted"]
    stamps = read_trace(tmp_path / "trace.parquet")[0]["time_utc"]
    assert stamps.is_monotonic_increasing and stamps.dt.tz is not None


def test_the_record_command_writes_the_trace_and_says_so(tmp_path, monkeypatch, capsys):
    from twin.cli import main

    pynvml = pytest.importorskip("pynvml")
    _fake_nvml(monkeypatch, pynvml, [_gpu(0, 70, 1410), _gpu(1, 71, 1410)])
    assert main(["record", "--out", str(tmp_path / "t.parquet"), "--interval", "0.01", "--duration", "0.05s"]) == 0
    assert "samples of 2 GPU(s)" in capsys.readouterr().out
    assert set(read_trace(tmp_path / "t.parquet")[0]["gpu"]) == {"0", "1"}


def test_the_record_command_exits_2_without_a_driver(tmp_path, capsys):
    from twin.cli import main

    code = main(["record", "--out", str(tmp_path / "t.parquet"), "--duration", "1s"])
    err = capsys.readouterr().err
    try:
        import pynvml

        pynvml.nvmlInit()
        pytest.skip("this machine has an NVIDIA driver")
    except Exception:
        pass
    assert code == 2 and ("no NVIDIA driver" in err or "nvidia-ml-py" in err)
    assert not list(tmp_path.iterdir())
