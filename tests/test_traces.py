"""GPU trace readers: nvidia-smi CSV in any shape, DCGM exporter text, canonical files; fuzzed input."""

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.io.gpu_trace import BOUNDS, CANONICAL, TraceError, read_trace

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
    text = "\n".join(
        [
            "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).",
            "# TYPE DCGM_FI_DEV_POWER_USAGE gauge",
            'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",modelName="NVIDIA H100 80GB HBM3"} 312.5 1700000000000',
            'DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a"} 55 1700000000000',
            'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 87 1700000000000',
            'DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-a"} 1755 1700000000000',
            'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} 330.0 1700000001000',
            'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b"} 90.0 1700000000000',
        ]
    )
    frame, _ = read_trace(_write(tmp_path, text, "dcgm.prom"))
    row = frame[(frame["gpu"] == "0")].iloc[0]
    assert row["power_w"] == 312.5 and row["temp_c"] == 55.0 and row["util"] == 0.87 and row["sm_clock_mhz"] == 1755.0
    assert row["time_utc"] == pd.Timestamp(1700000000000, unit="ms", tz="UTC")
    assert len(frame) == 3


def test_iso_stamps_with_their_own_offsets_are_converted_to_utc(tmp_path):
    text = "timestamp,power.draw [W]\n2024-01-01T08:00:00+08:00,56 W\n2024-01-01T01:00:01+01:00,57 W\n2024-01-01T00:00:02Z,58 W\n"
    frame, _ = read_trace(_write(tmp_path, text), timezone="America/New_York")  # the stamps' own offsets win
    assert frame["time_utc"].tolist() == list(pd.date_range("2024-01-01", periods=3, freq="s", tz="UTC"))


def test_dcgm_stamps_out_of_range_are_refused_and_repeats_with_other_values_reported(tmp_path):
    with pytest.raises(TraceError, match="line 2: timestamp 99999999999999999 is not milliseconds since 1970"):
        read_trace(
            _write(
                tmp_path,
                'DCGM_FI_DEV_GPU_TEMP{gpu="0"} 40 1700000000000\n'
                'DCGM_FI_DEV_POWER_USAGE{gpu="0"} 5 99999999999999999\n',
                "a.prom",
            )
        )
    text = "\n".join(f'DCGM_FI_DEV_POWER_USAGE{{gpu="0"}} {w} 1700000000000' for w in (100, 120, 120))
    frame, repairs = read_trace(_write(tmp_path, text, "b.prom"))
    assert frame["power_w"].tolist() == [120.0]
    assert "1 sample(s) repeating a field's timestamp with another value dropped (last kept)" in repairs


def test_the_canonical_form_reads_back_unchanged(tmp_path):
    frame, _ = read_trace(_write(tmp_path, SMI))
    frame.to_parquet(tmp_path / "c.parquet")
    again, repairs = read_trace(tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(again, frame)
    frame.to_csv(tmp_path / "c.csv", index=False)
    from_csv, _ = read_trace(tmp_path / "c.csv")
    pd.testing.assert_frame_equal(from_csv, frame, check_dtype=False)


@pytest.mark.parametrize(
    "text, message",
    [
        ("power.draw [W]\n56 W\n", "no 'timestamp' column"),
        ("timestamp,fan.speed [%]\n2024-01-01 00:00:00,50 %\n", "neither power"),
        ("timestamp,power.draw [W]\n2024-01-01 00:00:00,56150 W\n", "power_w = 56150 outside 0..5000"),
        ("timestamp,temperature.gpu\n2024-01-01 00:00:00,160\n", "temp_c = 160 outside"),
        (
            "timestamp,power.draw [W]\n2024-01-01 00:00:00,fifty W\n",
            "line 2: power.draw \\[W\\] = .fifty W. is not a number with a unit",
        ),
        (
            "timestamp,power.draw [W]\n2024-01-01 00:00:00,56 V\n",
            "unit 'v' is not one of power_w's \\(allowed: w, mw, kw\\)",
        ),
        (
            "timestamp,power.draw [W]\n2024-01-01 00:00:00,345 MHz\n",
            "line 2: power.draw \\[W\\] = '345 MHz': unit 'mhz' is not one of power_w's",
        ),
        (
            "timestamp,clocks.sm\n2024-01-01 00:00:00,345 W\n",
            "unit 'w' is not one of sm_clock_mhz's \\(allowed: mhz, ghz, khz\\)",
        ),
        ("timestamp,temperature.gpu\n2024-01-01 00:00:00,95 F\n", "unit 'f' is not one of temp_c's \\(allowed: c\\)"),
        (
            "timestamp,power.draw [W]\n2024-01-01T00:00:00+08:00,56 W\n2024-01-01 00:00:01,57 W\n",
            "line 3: timestamp '2024-01-01 00:00:01': some stamps carry a UTC offset and some do not",
        ),
        ("timestamp,power.draw [W]\n", "no data rows"),
        ("timestamp,power.draw [W]\nyesterday,56 W\n", "no readable timestamp"),
        ("timestamp,power.draw [W]\nnow,56 W\ntoday,57 W\n", "no readable timestamp"),
        ("timestamp,power.draw [W],power.draw [W]\n2024-01-01 00:00:00,56 W,57 W\n", "appear more than once"),
        ("timestamp,power.draw [W]\n2024-01-01 00:00:00," + "5" * 200_000 + "\n", "not CSV text"),
    ],
)
def test_what_cannot_be_repaired_is_refused_with_what_and_where(tmp_path, text, message):
    """Each is refused with a TraceError naming the file and what is wrong, never a csv or pandas traceback."""
    with pytest.raises(TraceError, match=message):
        read_trace(_write(tmp_path, text))


COLUMNS = {
    "timestamp": lambda i, rng: (
        f"2024/03/0{1 + i // 86400} {i % 86400 // 3600:02d}:{i % 3600 // 60:02d}:{i % 60:02d}.{rng.integers(0, 999):03d}"
    ),
    "index": lambda i, rng: str(rng.integers(0, 3)),
    "uuid": lambda i, rng: f"GPU-{rng.integers(0, 3)}",
    "power.draw [W]": lambda i, rng: f"{rng.uniform(50, 700):.2f} W",
    "power.draw.instant [W]": lambda i, rng: f"{rng.uniform(50, 700):.2f}",
    "temperature.gpu": lambda i, rng: str(rng.integers(25, 90)),
    "temperature.memory": lambda i, rng: str(rng.integers(25, 95)),
    "utilization.gpu [%]": lambda i, rng: f"{rng.integers(0, 101)} %",
    "clocks.current.sm [MHz]": lambda i, rng: f"{rng.integers(200, 2000)} MHz",
    "power.limit [W]": lambda i, rng: f"{rng.choice([350, 700])}.00 W",
    "clocks_event_reasons.active": lambda i, rng: f"0x{rng.integers(0, 2**12):016x}",
    "pstate": lambda i, rng: "P0",
}
# Cells a damaged or foreign log may hold: missing markers, numbers with any unit (right, wrong, none,
# doubled), non-numbers, stamps with and without UTC offsets, control characters, an over-long field.
JUNK = [
    "[N/A]",
    "",
    "N/A",
    "nan",
    "-",
    "12 W W",
    "inf",
    "-inf",
    "[Not Supported]",
    "0x1g",
    "999999 W",
    '"',
    "1e400",
    "345 MHz",
    "56.15 W",
    "40 C",
    "3 %",
    "1.9 GHz",
    "56150 mW",
    "0.3 kW",
    "12 °C",
    "7 V",
    "12 F",
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00+08:00",
    "2024/03/01 00:00:00",
    "\r",
    "\x00",
    "\ufffd",
    "é",
    "5" * 200_000,
]


def _fuzz_path(folder, name, text_or_bytes):
    path = Path(folder) / name
    (path.write_bytes if isinstance(text_or_bytes, bytes) else path.write_text)(text_or_bytes)
    return path


def _read_or_clear_error(path):
    """The reader's result, or None where it refused with a TraceError that starts with the file name."""
    try:
        frame, repairs = read_trace(path)
    except TraceError as exc:
        assert str(exc).startswith(str(path)), exc
        return None
    assert list(frame.columns) == list(CANONICAL) and len(frame) > 0
    assert frame["time_utc"].notna().all() and str(frame["time_utc"].dt.tz) == "UTC"
    for column, (lo, hi) in BOUNDS.items():
        assert frame[column].dropna().between(lo, hi).all(), column
    assert not frame.duplicated(["gpu", "time_utc"]).any()
    assert all(isinstance(r, str) for r in repairs)
    return frame


# Strategies weighted so that a good share of examples reads (where the frame's invariants are checked),
# the rest exercising refusals: a clean log half the time, junk and raw bytes the other half.
CLEAN_OR_DAMAGED = st.sampled_from([0.0, 0.0, 0.0, 0.01, 0.05, 0.3])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=9),
    st.integers(1, 40),
    st.integers(0, 2**32 - 1),
    CLEAN_OR_DAMAGED,
    st.booleans(),
    st.booleans(),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.one_of(st.just([]), st.lists(st.binary(min_size=1, max_size=4), max_size=3)),
    st.booleans(),
)
def test_fuzzed_nvidia_smi_logs_never_crash_with_anything_but_a_clear_error(
    columns, n_rows, seed, junk_share, shuffle, truncate, newline, garbage, led
):
    """Random column subsets (repeats allowed), junk cells and units, shuffled rows, a truncated end, any line
    ending, and raw bytes spliced in anywhere (binary noise, NUL, invalid UTF-8)."""
    import tempfile

    rng = np.random.default_rng(seed)
    if led:  # the columns every usable log has, first, as nvidia-smi writes them
        columns = ["timestamp", "power.draw [W]"] + [c for c in columns if c not in ("timestamp", "power.draw [W]")]
    rows = []
    for i in range(n_rows):
        cells = [COLUMNS[c](i, rng) for c in columns]
        cells = [str(rng.choice(JUNK)) if rng.random() < junk_share else cell for cell in cells]
        rows.append(", ".join(cells))
    if shuffle:
        rng.shuffle(rows)
    raw = (", ".join(columns) + newline + newline.join(rows) + newline).encode()
    if truncate and len(raw) > 10:
        raw = raw[: int(rng.integers(1, len(raw)))]
    for chunk in garbage:
        at = int(rng.integers(0, len(raw) + 1))
        raw = raw[:at] + chunk + raw[at:]
    with tempfile.TemporaryDirectory() as folder:
        _read_or_clear_error(_fuzz_path(folder, "fuzz.csv", raw))


PLAUSIBLE = st.floats(0.0, 1.0)  # inside every canonical column's bounds
CANONICAL_VALUES = st.one_of(
    PLAUSIBLE,
    PLAUSIBLE,
    PLAUSIBLE,
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["", "x", "1.5", "[N/A]", "2024-01-01", "0x1"]),
)
RECENT = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(str)
STAMPS = st.one_of(
    RECENT,
    RECENT,
    RECENT,
    st.none(),
    st.sampled_from(
        [
            "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:01",
            "2024-01-01T08:00:02+08:00",
            "yesterday",
            "",
            "99999999999999",
            "1700000000000",
        ]
    ),
    st.datetimes(timezones=st.none()).map(str),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(list(CANONICAL) + ["extra"]), max_size=8, unique=True),
    st.one_of(
        st.lists(
            st.tuples(RECENT, st.sampled_from(["0", "1"]), st.lists(PLAUSIBLE, min_size=9, max_size=9)),
            min_size=1,
            max_size=12,
        ),  # a clean file
        st.lists(
            st.tuples(
                STAMPS, st.sampled_from(["0", "1", "GPU-a", ""]), st.lists(CANONICAL_VALUES, min_size=9, max_size=9)
            ),
            min_size=1,
            max_size=12,
        ),
    ),
    st.booleans(),
    st.booleans(),
)
def test_fuzzed_canonical_csv_and_parquet_never_crash_with_anything_but_a_clear_error(columns, rows, as_parquet, keyed):
    """twin's own form with missing columns, values of any type, out-of-range and non-finite numbers."""
    import tempfile

    if keyed or "time_utc" in columns or "gpu" in columns:
        columns = ["time_utc", "gpu"] + [c for c in columns if c not in ("time_utc", "gpu")]
    data = {c: [] for c in columns}
    for stamp, gpu, values in rows:
        for k, c in enumerate(columns):
            data[c].append(stamp if c == "time_utc" else gpu if c == "gpu" else values[k % len(values)])
    frame = pd.DataFrame({c: pd.Series(v, dtype=object).astype(str) for c, v in data.items()})
    with tempfile.TemporaryDirectory() as folder:
        if as_parquet:
            path = Path(folder) / "fuzz.parquet"
            frame.to_parquet(path)
        else:
            path = _fuzz_path(folder, "fuzz.csv", frame.to_csv(index=False) if columns else "time_utc,gpu\n")
        _read_or_clear_error(path)


DCGM_NAMES = [
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_SM_CLOCK",
    "DCGM_FI_DEV_MEMORY_TEMP",
    "DCGM_FI_DEV_UNKNOWN_FIELD",
    "DCGM_FI_",
]
DCGM_LINE = st.tuples(
    st.sampled_from(DCGM_NAMES),
    st.sampled_from(['gpu="0"', 'gpu="1",UUID="GPU-b"', 'UUID="GPU-c"', "", 'gpu="0"', "gpu=0"]),
    st.one_of(
        *[st.floats(0.0, 1.0).map(str)] * 3,
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["x", "", "1e400"]),
    ),
    st.one_of(*[st.integers(1_700_000_000_000, 1_700_000_010_000)] * 3, st.none(), st.integers(0, 10**20)),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            DCGM_LINE.map(lambda t: f"{t[0]}{{{t[1]}}} {t[2]}" + ("" if t[3] is None else f" {t[3]}")),
            st.text(max_size=60),
            st.sampled_from(["# HELP DCGM_FI_DEV_POWER_USAGE W", "# TYPE x gauge"]),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_fuzzed_dcgm_text_never_crashes_with_anything_but_a_clear_error(lines, newline):
    """Exporter samples with wrong fields, labels, values and timestamps (absent, out of range, repeated)."""
    import tempfile

    text = "DCGM_FI_DEV_POWER_USAGE" + newline + newline.join(lines)
    with tempfile.TemporaryDirectory() as folder:
        _read_or_clear_error(_fuzz_path(folder, "fuzz.prom", text))


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/data not present")
@pytest.mark.parametrize(
    "folder",
    ["h800_sxm_700w_dvfs_gemm", "h100_pcie_350w_gemm", "a100_pcie_250w_burst", "h100_pcie_350w_burst", "h20_dvfs_gemm"],
)
def test_every_shared_trace_folder_reads(folder):
    path = sorted((SHARED / folder).glob("*.csv*"))[0]
    frame, _ = read_trace(path)
    assert len(frame) > 50 and frame["power_w"].notna().mean() > 0.95 and frame["temp_c"].notna().mean() > 0.95


def test_utf16_and_byte_order_marked_logs_read_and_oversized_bitmasks_are_missing(tmp_path):
    """Before: a BOM glued itself to 'timestamp', UTF-16 read as noise, a 300-digit bitmask raised OverflowError."""
    text = "timestamp,power.draw [W],clocks_event_reasons.active\n2024-01-01 00:00:00,56 W,0x" + "f" * 300 + "\n"
    for name, raw in (("bom.csv", text.encode("utf-8-sig")), ("utf16.csv", text.encode("utf-16"))):
        frame, _ = read_trace(_fuzz_path(tmp_path, name, raw))
        assert frame["power_w"].tolist() == [56.0] and frame["throttle_reasons"].isna().all()


def test_a_canonical_time_utc_of_numbers_is_refused(tmp_path):
    pd.DataFrame({"time_utc": np.arange(30.0), "gpu": "0", "power_w": 60.0}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(TraceError, match="t.parquet: time_utc holds numbers, not times"):
        read_trace(tmp_path / "t.parquet")


def test_a_file_compressed_twice_is_refused_as_binary(tmp_path):
    import gzip

    path = tmp_path / "twice.csv.gz"
    path.write_bytes(gzip.compress(gzip.compress(b"timestamp,power.draw [W]\n2024-01-01 00:00:00,56 W\n")))
    with pytest.raises(TraceError, match="twice.csv.gz: binary content, not a text log"):
        read_trace(path)


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
