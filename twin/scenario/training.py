"""Batch work on a hall's GPUs: synthetic training jobs (twin/sim/scheduler.py), or a job trace replayed on the
hall's servers (twin/sim/jobs.py): the file, how to read it, and how its jobs are scheduled."""

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from twin.io.job_trace import JOB_FIELDS
from twin.scenario.base import TRAINING_DEFAULTS, ScenarioModel, existing_file


class Training(ScenarioModel):
    """Training jobs on one hall's GPUs: Poisson arrivals, scheduled FIFO with backfill, or shifted to
    cleaner or cheaper hours within their deadline (twin/sim/scheduler.py)."""

    hall: str = Field(description="name of the facility hall whose GPUs run training")
    model_params_billion: float = Field(gt=0.0, le=1e5, description="parameters N: 6 N FLOPs per token processed")
    mfu: float = Field(TRAINING_DEFAULTS["mfu"], gt=0.0, le=1.0, description="model FLOPs utilisation")
    arrivals_per_day: float = Field(gt=0.0, le=1e5)
    job_gpus: list[int] = Field(min_length=1, description="job sizes in GPUs, drawn uniformly")
    job_hours_mean: float = Field(gt=0.0, le=24 * 365.0, description="mean run time at full speed (exponential)")
    deferrable_fraction: float = Field(0.0, ge=0.0, le=1.0, description="share of jobs that may wait for better hours")
    deadline_hours: float = Field(24.0, gt=0.0, le=24 * 365.0, description="from arrival to required completion")
    policy: Literal["fifo", "carbon_aware", "price_aware"] = "fifo"
    forecast_noise_cv: float = Field(0.1, ge=0.0, le=2.0, description="error of the grid forecast the scheduler uses")
    checkpoint_interval_min: float = Field(TRAINING_DEFAULTS["checkpoint_interval_min"], gt=0.0, le=1e5)
    restart_min: float = Field(TRAINING_DEFAULTS["restart_min"], ge=0.0, le=1e5)

    @field_validator("job_gpus")
    @classmethod
    def _positive_sizes(cls, value):
        if any(g < 1 for g in value):
            raise ValueError("job sizes must be 1 GPU or more")
        return value


class JobTrace(ScenarioModel):
    """Jobs from a log (Slurm accounting, a RAPS job list, a public cluster trace) placed on a hall's servers."""

    hall: str = Field(description="name of the facility hall whose servers (nodes) run the jobs")
    file: Path = Field(strict=False, description="CSV or Parquet job list, relative to the scenario file")
    format: Literal["raps", "csv", "parquet"] = Field(
        "csv",
        description="raps: the job list RAPS writes (gpu_util in GPUs per node, cpu_util in CPUs per node); "
        "csv / parquet: twin's columns (docs/model.md#job-traces), renamed by `columns`",
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="twin's field -> the file's column name, for other schemas"
    )
    cpus_per_node: int = Field(1, ge=1, le=64, description="raps: CPUs per node, the scale of its cpu_util")
    time_unit: Literal["s", "min", "h"] = Field("s", description="unit of numeric submit, start, wall and limit times")
    gpu_util_unit: Literal["fraction", "percent", "gpus_per_node"] = Field(
        "fraction", description="how gpu_util is given (raps: gpus_per_node)"
    )
    mode: Literal["replay", "schedule"] = Field(
        "schedule",
        description="replay: each job starts as logged (on its logged nodes where given), later only if its "
        "nodes are still busy; schedule: the scheduler starts them, first come first served with EASY backfill",
    )
    policy: Literal["fifo", "carbon_aware", "price_aware"] = Field(
        "fifo", description="schedule mode: deferrable jobs wait for the cleanest or cheapest forecast hours"
    )
    deadline_hours: float = Field(24.0, gt=0.0, le=24 * 365.0, description="a deferrable job's latest end")
    forecast_noise_cv: float = Field(0.1, ge=0.0, le=2.0, description="error of the grid forecast deferral uses")
    activity_at_full_util: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="GPU power-model activity of a GPU at utilisation 1: 1 is the card's peak power (as RAPS "
        f"models it); a training mix runs lower (catalog: {TRAINING_DEFAULTS['gpu_activity']})",
    )
    requeue_limit: int = Field(
        1, ge=0, le=100, description="times a job killed by a server trip is requeued before it counts as failed"
    )
    watch_s: int = Field(
        300, ge=1, le=86400, description="how often the scheduler looks for tripped servers and slowed jobs [s]"
    )
    model_params_billion: float | None = Field(
        None, gt=0.0, le=1e5, description="for AI jobs: parameters N, tokens processed at 6 N FLOPs each"
    )
    mfu: float = Field(TRAINING_DEFAULTS["mfu"], gt=0.0, le=1.0, description="model FLOPs utilisation")

    @field_validator("file", mode="before")
    @classmethod
    def _exists(cls, value, info: ValidationInfo):
        return existing_file(value, info, "job trace")

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value):
        unknown = sorted(set(value) - set(JOB_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(JOB_FIELDS)}")
        return value


def check_batch_halls(scenario) -> None:
    """The training hall and the job-trace hall are halls of the facility that can run them (a ValueError
    naming what is wrong otherwise)."""
    training, jobs = scenario.workload.training, scenario.workload.jobs
    halls = {h.name: h for h in scenario.facility.halls}
    for what, batch in (("training", training), ("jobs", jobs)):
        if batch is None:
            continue
        if batch.hall not in halls:
            raise ValueError(f"workload.{what}.hall '{batch.hall}' is not a facility hall (halls: {', '.join(halls)})")
        hall = halls[batch.hall]
        if any(g.installed is not None for g in hall.racks or []):
            raise ValueError(
                f"workload.{what}: hall '{hall.name}' has racks installed later (racks installed); a {what} "
                "hall's racks are all in service from the start"
            )
        if len(hall.gpu_models()) > 1:
            raise ValueError(
                f"workload.{what}: hall '{hall.name}' mixes GPU models ({', '.join(hall.gpu_models())}); a {what} "
                "hall holds one (rack groups' gpu is for inference halls)"
            )
        if (what == "training" or batch.model_params_billion is not None) and hall.gpu not in TRAINING_DEFAULTS[
            "bf16_dense_tflops"
        ]:
            raise ValueError(
                f"workload.{what}: hall '{hall.name}' GPU '{hall.gpu}' has no BF16 peak in the catalog "
                f"(known: {', '.join(TRAINING_DEFAULTS['bf16_dense_tflops'])})"
            )
    if training is None:
        return
    hall = halls[training.hall]
    gpus = hall.servers() * hall.server_spec()[0]
    if max(training.job_gpus) > gpus:
        raise ValueError(
            f"workload.training.job_gpus {max(training.job_gpus)} exceeds the {gpus} GPUs of hall '{hall.name}'"
        )
    if len(scenario.facility.halls) < 2:
        raise ValueError("workload.training needs its own hall besides the inference hall(s)")
    if jobs is not None and jobs.hall == training.hall:
        raise ValueError(f"workload.jobs and workload.training both use hall '{jobs.hall}'; give each its own hall")
