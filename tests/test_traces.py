"""GPU trace readers: nvidia-smi CSV in any shape, DCGM exporter text, canonical files; fuzzed input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.calibrate.traces import CANONICAL, TraceError, read_trace

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpu_traces" / "yqg9651_cuda_test"

SMI = """timestamp, index, power.draw [W], temperature.gpu, utilization.gpu [%], clocks.current.sm [MHz], power.limit [W], clocks_event_reasons.active
2023/07/14 13:53:18.524, 1, 74.26 W, 35, 0 %, 885 MHz, 700.00 W, 0x0000000000000001
2023/07/14 13:53:16.412, 0, 73.88 W, 35, 0 %, 825 MHz, 700.00 W, 0x0000000000000001
2023/07/14 13:53:16.412, 1, 75.00 W, 36, 3 %, 825 MHz, 700.00 W, 0x0000000000000004
2023/07/14 13:53:18.524, 0, [N/A], 36, 100 %, 1.98 GHz, 700.00 W, 0x0000000000000000
2023/07/14 13:53:18.524, 0, [N/A], 36, 100 %, 1.98 GHz, 700.00 W, 0x0000000000000000
2023/07/14 13:53:20.1
"""


def _write(tmp_path, text, name="trace.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_nvidia_smi_with_units_in_cells_several_gpus_and_damage_is_repaired_and_reported(tmp_path):
    frame, repairs = read_trace(_write(tmp_path, SMI), timezone="Asia/Shanghai")
    assert list(frame.columns) == list(CANONICAL)
    assert list(frame["gpu"]) == ["0", "0", "1", "1"]  # per GPU, in time order
    gpu0 = frame[frame["gpu"] == "0"]
    assert gpu0["time_utc"].iloc[0] == pd.Timestamp("2023-07-14 05:53:16.412", tz="UTC")  # UTC+8 -> UTC
    assert np.isnan(gpu0["power_w"].iloc[1]) and gpu0["temp_c"].iloc[1] == 36.0  # [N/A] kept as missing
    assert gpu0["sm_clock_mhz"].iloc[1] == pytest.approx(1980.0)  # GHz -> MHz
    assert gpu0["util"].iloc[1] == 1.0 and gpu0["power_limit_w"].iloc[0] == 700.0
    assert frame["throttle_reasons"].tolist() == [1.0, 0.0, 4.0, 1.0]
    text = " | ".join(repairs)
    assert "1 truncated or malformed line(s) skipped" in text and "1 exact duplicate row(s) dropped" in text
    assert "out of time order: sorted" in text


def test_units_in_the_header_only_and_milliwatts(tmp_path):
    text = "timestamp,power.draw [mW],temperature.gpu\n2024-01-01 00:00:00,56150,40\n2024-01-01 00:00:01,56250,41\n"
    frame, _ = read_trace(_write(tmp_path, text))
    assert frame["power_w"].tolist() == [56.15, 56.25]


def test_dcgm_exporter_samples_become_the_canonical_frame(tmp_path):
    text = "\n".join([
        "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).", "# TYPE DCGM_FI_DEV_POWER_USAGE gauge",
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",modelName="NVIDIA H100 80GB HBM3"} 312.5 1700000000000',
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a"} 55 1700000000000',
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 87 1700000000000',
        'DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-a"} 1755 1700000000000',
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} 330.0 1700000001000',
        'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b"} 90.0 1700000000000',
    ])
    frame, _ = read_trace(_write(tmp_path, text, "dcgm.prom"))
    row = frame[(frame["gpu"] == "0")].iloc[0]
    assert row["power_w"] == 312.5 and row["temp_c"] == 55.0 and row["util"] == 0.87 and row["sm_clock_mhz"] == 1755.0
    assert row["time_utc"] == pd.Timestamp(1700000000000, unit="ms", tz="UTC")
    assert len(frame) == 3


def test_the_canonical_form_reads_back_unchanged(tmp_path):
    frame, _ = read_trace(_write(tmp_path, SMI))
    frame.to_parquet(tmp_path / "c.parquet")
    again, repairs = read_trace(tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(again, frame)
    frame.to_csv(tmp_path / "c.csv", index=False)
    from_csv, _ = read_trace(tmp_path / "c.csv")
    pd.testing.assert_frame_equal(from_csv, frame, check_dtype=False)


@pytest.mark.parametrize("text, message", [
    ("power.draw [W]\n56 W\n", "no 'timestamp' column"),
    ("timestamp,fan.speed [%]\n2024-01-01 00:00:00,50 %\n", "neither power"),
    ("timestamp,power.draw [W]\n2024-01-01 00:00:00,56150 W\n", "power_w = 56150 outside 0..5000"),
    ("timestamp,temperature.gpu\n2024-01-01 00:00:00,160\n", "temp_c = 160 outside"),
    ("timestamp,power.draw [W]\n2024-01-01 00:00:00,fifty W\n", "line 2: power.draw \\[W\\] = .fifty W. is not a number with a unit"),
    ("timestamp,power.draw [W]\n2024-01-01 00:00:00,56 V\n", "unknown unit 'v'"),
    ("timestamp,power.draw [W]\n", "no data rows"),
    ("timestamp,power.draw [W]\nyesterday,56 W\n", "no readable timestamp"),
    ("timestamp,power.draw [W],power.draw [W]\n2024-01-01 00:00:00,56 W,57 W\n", "appear more than once"),
    ("timestamp,power.draw [W]\n2024-01-01 00:00:00," + "5" * 200_000 + "\n", "not CSV text"),
])
def test_what_cannot_be_repaired_is_refused_with_what_and_where(tmp_path, text, message):
    """Each is refused with a TraceError naming the file and what is wrong, never a csv or pandas traceback."""
    with pytest.raises(TraceError, match=message):
        read_trace(_write(tmp_path, text))


COLUMNS = {
    "timestamp": lambda i, rng: f"2024/03/0{1 + i // 86400} {i % 86400 // 3600:02d}:{i % 3600 // 60:02d}:{i % 60:02d}.{rng.integers(0, 999):03d}",
    "index": lambda i, rng: str(rng.integers(0, 3)),
    "uuid": lambda i, rng: f"GPU-{rng.integers(0, 3)}",
    "power.draw [W]": lambda i, rng: f"{rng.uniform(50, 700):.2f} W",
    "power.draw.instant [W]": lambda i, rng: f"{rng.uniform(50, 700):.2f}",
    "temperature.gpu": lambda i, rng: str(rng.integers(25, 90)),
    "temperature.memory": lambda i, rng: str(rng.integers(25, 95)),
    "utilization.gpu [%]": lambda i, rng: f"{rng.integers(0, 101)} %",
    "clocks.current.sm [MHz]": lambda i, rng: f"{rng.integers(200, 2000)} MHz",
    "power.limit [W]": lambda i, rng: f"{rng.choice([350, 700])}.00 W",
    "pstate": lambda i, rng: "P0",
}
JUNK = ["[N/A]", "", "N/A", "nan", "-", "12 W W", "inf", "[Not Supported]", "0x1g", "999999 W", "\"", "1e400"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=8, unique=True), st.integers(0, 40),
       st.integers(0, 2**32 - 1), st.floats(0.0, 0.3), st.booleans(), st.booleans())
def test_fuzzed_traces_never_crash_with_anything_but_a_clear_error(columns, n_rows, seed, junk_share, shuffle, truncate):
    import tempfile

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_rows):
        cells = [COLUMNS[c](i, rng) for c in columns]
        cells = [str(rng.choice(JUNK)) if rng.random() < junk_share else cell for cell in cells]
        rows.append(", ".join(cells))
    if shuffle:
        rng.shuffle(rows)
    text = ", ".join(columns) + "\n" + "\n".join(rows) + "\n"
    if truncate and len(text) > 10:
        text = text[: int(rng.integers(1, len(text)))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_text(text)
        try:
            frame, repairs = read_trace(path)
        except TraceError as exc:
            assert str(exc).startswith(str(path)), exc
            return
    assert list(frame.columns) == list(CANONICAL) and len(frame) > 0
    assert frame["power_w"].dropna().between(0, 5000).all() and frame["util"].dropna().between(0, 1).all()
    assert isinstance(repairs, list)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/data not present")
@pytest.mark.parametrize("folder", ["h800_sxm_700w_dvfs_gemm", "h100_pcie_350w_gemm", "a100_pcie_250w_burst",
                                    "h100_pcie_350w_burst", "h20_dvfs_gemm"])
def test_every_shared_trace_folder_reads(folder):
    path = sorted((SHARED / folder).glob("*.csv*"))[0]
    frame, _ = read_trace(path)
    assert len(frame) > 50 and frame["power_w"].notna().mean() > 0.95 and frame["temp_c"].notna().mean() > 0.95


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list('DCGM_FI_DEVPOWERUSAGTMP{}="0gpu,.1234567890 e-+\n')),
                        max_size=80), max_size=30))
def test_fuzzed_dcgm_text_never_crashes_with_anything_but_a_clear_error(lines):
    import tempfile

    text = "DCGM_FI_DEV_POWER_USAGE\n" + "\n".join(lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.prom"
        path.write_text(text)
        try:
            frame, _ = read_trace(path)
        except TraceError:
            return
    assert list(frame.columns) == list(CANONICAL)


def test_a_damaged_gzip_body_is_refused(tmp_path):
    import gzip
    raw = bytearray(gzip.compress(b"timestamp,power.draw [W]\n" * 50))
    raw[20:30] = b"\xff" * 10
    path = tmp_path / "trace.csv.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(TraceError, match="damaged gzip"):
        read_trace(path)


def test_old_mac_line_endings_read_as_lines(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(b"timestamp,power.draw [W]\r2024-01-01 00:00:00,56 W\r2024-01-01 00:00:01,57 W\r")
    assert read_trace(path)[0]["power_w"].tolist() == [56.0, 57.0]
