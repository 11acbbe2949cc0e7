"""GPU board power from the twin's GPU model against real nvidia-smi traces in ../shared/data/gpu_traces
(yqg9651/cuda_test: H800 SXM, H100 PCIe, A100 PCIe GEMM runs). The model is driven with each
window's measured die temperature; idle windows and power-limited full-load plateaus are compared.

Idle anchors in catalog/gpus.yaml come from these same traces (H800 idle_w, H100-PCIe idle_w), so
the idle cases check the leakage law across temperatures more than the anchor itself; issue 6
fits and holds out whole traces.
"""

from pathlib import Path

from twin import catalog
from twin.calibrate.sensor import catalog_power_w
from twin.io import gpu_trace
from twin.validate import within

TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpu_traces" / "yqg9651_cuda_test"
SOURCE = "yqg9651/cuda_test nvidia-smi traces (shared/data/gpu_traces)"


def read_trace(path):
    """power_w, temp_c, util, sm_clock_mhz of a trace, read by twin's own trace reader."""
    return gpu_trace.read_trace(path)[0][["power_w", "temp_c", "util", "sm_clock_mhz"]].dropna()


def _model_w(gpu, util, temp_c):
    """The catalog law at full clock, held to the board's power limit."""
    return min(float(catalog_power_w(gpu, util, temp_c)), catalog.load("gpus")[gpu]["tdp_w"])


def _idle_case(gpu, path, label, rel):
    f = read_trace(path)
    idle = f[(f.util == 0.0) & (f.sm_clock_mhz <= f.sm_clock_mhz.min() * 1.5)]
    temp = float(idle.temp_c.median())
    return within(
        f"{gpu} idle power at {temp:.0f} C die ({label})",
        SOURCE,
        round(float(idle.power_w.median()), 1),
        _model_w(gpu, 0.0, temp),
        rel=rel,
        unit="W",
    )


def _load_case(gpu, path, label, rel):
    """Full load: the power-limited plateau (GEMM at util >= 95 % within 10 % of the highest power).
    The model at full activity is held to the board power limit by lowering the clock, as the trace is."""
    f = read_trace(path)
    busy = f[f.util >= 0.95]
    top = busy[busy.power_w >= 0.9 * busy.power_w.max()]
    return within(
        f"{gpu} full-load power ({label})",
        SOURCE,
        round(float(top.power_w.median()), 1),
        _model_w(gpu, 1.0, float(top.temp_c.median())),
        rel=rel,
        unit="W",
    )


def cases():
    if not TRACES.is_dir():
        return []
    h800, h100, a100 = (
        TRACES / "h800_sxm_700w_dvfs_gemm",
        TRACES / "h100_pcie_350w_gemm",
        TRACES / "a100_pcie_250w_burst",
    )
    return [
        _idle_case("H800-SXM", h800 / "random_gemm_fp16_half.csv.gz", "random GEMM run", 0.10),
        _load_case("H800-SXM", h800 / "random_gemm_fp16_half.csv.gz", "random GEMM, power-limited plateau", 0.05),
        _idle_case("H100-PCIe", h100 / "fp16_half_maxpower.csv.gz", "warm die before max-power GEMM", 0.10),
        _load_case("H100-PCIe", h100 / "fp16_half_maxpower.csv.gz", "max-power GEMM at the 350 W cap", 0.05),
        _idle_case("A100-PCIe", a100 / "burst_fp16_half_allzero.csv", "burst run", 0.15),
        _load_case("A100-PCIe", a100 / "burst_fp16_half_maxpower.csv", "max-power bursts at the 250 W cap", 0.05),
    ]
