"""The load that ran while `python -m twin record` sampled the GPU for the traces in this folder.

Phases (seconds from the start): idle; a ramp of GEMM duty cycle 10 % to 100 % in 10 s steps; steady
bf16 GEMMs on random data; steady bf16 GEMMs on all-zero data (less switching: lower power at the same
clock); idle cool-down. Each phase's UTC start and end go to the CSV named on the command line, so a
trace can be cut by phase. Needs PyTorch and a CUDA GPU; run by hand on a GPU machine:

    python -m twin record --out trace.parquet --interval 0.1 --duration 400s &
    python validation/traces/load_phases.py phases.csv        # plan a (h200_sxm_phases)
    python validation/traces/load_phases.py phases.csv b      # plan b (h200_sxm_zero_first): idle 30 s,
                                                              # all-zero 60 s, random 60 s, random at 50 %
                                                              # duty 30 s, idle 60 s
    python validation/traces/load_phases.py phases.csv c      # plan c (h200_sxm_classes): idle 30 s, a
                                                              # decode-like bf16 GEMV (8192 x 16) 50 s, fp16
                                                              # GEMM 45 s, bf16 GEMM on half-zero data 45 s,
                                                              # bursts 2 s on / 3 s off 40 s, idle 50 s
"""

import csv
import datetime as dt
import sys
import time

import torch

N = 8192  # GEMM size: ~1.1 TFLOP per product, a few ms on an H100/H200
IDLE_S, RAMP_STEP_S, STEADY_RANDOM_S, STEADY_ZERO_S, COOL_S = 45.0, 10.0, 90.0, 60.0, 90.0


def gemm_for(seconds, a, b, duty=1.0, period_s=1.0):
    """Run back-to-back GEMMs for duty of every period, idle for the rest, for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        busy_until = time.monotonic() + duty * period_s
        while time.monotonic() < busy_until:
            a @ b
            torch.cuda.synchronize()
        rest = period_s - duty * period_s
        if rest > 0:
            time.sleep(min(rest, max(end - time.monotonic(), 0.0)))


def main(path, plan="a"):
    rows = []

    def phase(name, run):
        start = dt.datetime.now(dt.timezone.utc)
        run()
        rows.append((name, start.isoformat(), dt.datetime.now(dt.timezone.utc).isoformat()))
        print(name, rows[-1][1], rows[-1][2], flush=True)

    rand_a = torch.randn(N, N, device="cuda", dtype=torch.bfloat16)
    rand_b = torch.randn(N, N, device="cuda", dtype=torch.bfloat16)
    zero_a = torch.zeros(N, N, device="cuda", dtype=torch.bfloat16)
    zero_b = torch.zeros(N, N, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    if plan == "c":  # further workload classes: decode-like GEMV, fp16, half-zero data, bursts
        vec = torch.randn(N, 16, device="cuda", dtype=torch.bfloat16)
        half_a = rand_a * (torch.rand(N, N, device="cuda") < 0.5).to(torch.bfloat16)
        fp16_a, fp16_b = rand_a.to(torch.float16), rand_b.to(torch.float16)
        phase("idle", lambda: time.sleep(30.0))
        phase("decode_like_gemv_bf16", lambda: gemm_for(50.0, rand_a, vec))
        phase("steady_random_fp16", lambda: gemm_for(45.0, fp16_a, fp16_b))
        phase("steady_half_zero_bf16", lambda: gemm_for(45.0, half_a, rand_b))
        phase("bursts_2s_on_3s_off_bf16", lambda: gemm_for(40.0, rand_a, rand_b, duty=0.4, period_s=5.0))
        phase("cooldown_idle", lambda: time.sleep(50.0))
        return _write(path, rows)
    if plan == "b":  # the all-zero data first: a trace whose fit part holds both workload classes
        phase("idle", lambda: time.sleep(30.0))
        phase("steady_allzero_bf16", lambda: gemm_for(60.0, zero_a, zero_b))
        phase("steady_random_bf16", lambda: gemm_for(60.0, rand_a, rand_b))
        phase("random_bf16_duty_50pct", lambda: gemm_for(30.0, rand_a, rand_b, duty=0.5))
        phase("cooldown_idle", lambda: time.sleep(60.0))
        return _write(path, rows)
    phase("idle", lambda: time.sleep(IDLE_S))
    for k in range(1, 11):
        phase(f"ramp_duty_{k * 10}pct", lambda k=k: gemm_for(RAMP_STEP_S, rand_a, rand_b, duty=k / 10.0))
    phase("steady_random_bf16", lambda: gemm_for(STEADY_RANDOM_S, rand_a, rand_b))
    phase("steady_allzero_bf16", lambda: gemm_for(STEADY_ZERO_S, zero_a, zero_b))
    phase("cooldown_idle", lambda: time.sleep(COOL_S))
    _write(path, rows)


def _write(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phase", "start_utc", "end_utc"])
        writer.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
