"""A public GPU cluster's job trace as a twin job list: scenarios/data/alibaba-openb-2023-jobs.csv.

    git --git-dir=MIRROR show 7a6c496e4f4b6ce6150be8f881cb051bf2abff42:cluster-trace-gpu-v2023/csv/openb_pod_list_default.csv > pods.csv
    python tools/build_job_trace.py pods.csv

Source: Alibaba cluster-trace-gpu-v2023 ("openb"), github.com/alibaba/clusterdata at commit
7a6c496e4f4b6ce6150be8f881cb051bf2abff42, file cluster-trace-gpu-v2023/csv/openb_pod_list_default.csv; Weng et al.,
"Beware of Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC 2023.
The repository asks that the traces be used for study or research and that publications be reported; the folder
states no licence of its own.

The file holds the tasks (Kubernetes pods) alive in the trace's last 34 days: every deletion falls in them. Kept: the
tasks that asked for at least one GPU and were scheduled (tasks never scheduled have no run to replay); times are
seconds from the earliest deletion (the window's start); a task created or scheduled before it starts at 0 with
the rest of its run. gpu_util is the share of each GPU the task requested (gpu_milli / 1000): the trace records no
utilisation, and a shared GPU's tenants are billed by that share. end_state: Succeeded completed, Failed failed,
Running killed (deleted while running), or running where it was still running at the trace's end.
"""

import csv
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "alibaba-openb-2023-jobs.csv"
STATE = {"Succeeded": "completed", "Failed": "failed", "Running": "killed"}


def main(source):
    with open(source, newline="") as fh:
        pods = list(csv.DictReader(fh))
    end = max(int(p["deletion_time"]) for p in pods)
    origin = min(int(p["deletion_time"]) for p in pods)
    rows = []
    for p in pods:
        if int(p["num_gpu"]) < 1 or not p["scheduled_time"]:
            continue
        start, deleted = max(int(p["scheduled_time"]), origin), int(p["deletion_time"])
        state = STATE[p["pod_phase"]]
        if p["pod_phase"] == "Running" and deleted == end:
            state = "running"
        rows.append(
            {
                "id": p["name"],
                "submit_time": max(int(p["creation_time"]), origin) - origin,
                "start_time": start - origin,
                "wall_time": deleted - start,
                "gpus": int(p["num_gpu"]),
                "gpu_util": int(p["gpu_milli"]) / 1000.0,
                "end_state": state,
            }
        )
    rows.sort(key=lambda r: (r["submit_time"], r["id"]))
    with open(OUT, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{OUT}: {len(rows)} jobs over {(end - origin) / 86400:.1f} days")


if __name__ == "__main__":
    main(sys.argv[1])
