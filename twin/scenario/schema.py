"""The scenario: its site and facility (scenario/facility.py), faults, workload, economics, SAIQ and results,
and the checks across them."""

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from twin import catalog
from twin.errors import clip, did_you_mean
from twin.scenario.base import (
    ECONOMICS_DEFAULTS,
    INFERENCE_DEFAULTS,
    ScenarioModel,
    existing_file,
    parse_duration_s,
    plausible_year,
)
from twin.scenario.facility import Facility, Site
from twin.scenario.faults import Faults
from twin.scenario.training import JobTrace, Training, check_batch_halls
from twin.sites import bundled_site_names


class Inference(ScenarioModel):
    """LLM serving demand, as a share of the fleet's serving capacity."""

    model: str = Field(INFERENCE_DEFAULTS["model"], description="served model from twin/catalog/models.yaml")
    tokens_per_gpu_s: float | None = Field(
        None, gt=0.0, le=1e6, description="output tokens/s of one GPU at utilisation 1 (default: catalog)"
    )
    placement: Literal["spread", "pack", "coolest_first"] = Field(
        "spread",
        description="how the load balancer places a hall's load on its racks: spread (every rack alike), pack "
        "(fill racks in row order, the rest idle) or coolest_first (fill the coolest racks first)",
    )
    utilization_ceiling: float = Field(
        INFERENCE_DEFAULTS["utilization_ceiling"],
        gt=0.0,
        le=1.0,
        description="highest GPU utilisation the serving layer allows",
    )
    peak_demand_fraction: float = Field(
        INFERENCE_DEFAULTS["peak_demand_fraction"],
        ge=0.0,
        le=2.0,
        description="demand at the daily peak / fleet capacity",
    )
    trough_demand_fraction: float = Field(
        INFERENCE_DEFAULTS["trough_demand_fraction"],
        ge=0.0,
        le=2.0,
        description="demand at the daily trough / fleet capacity",
    )
    peak_hour_local: float = Field(INFERENCE_DEFAULTS["peak_hour_local"], ge=0.0, lt=24.0)
    weekend_factor: float = Field(
        INFERENCE_DEFAULTS["weekend_factor"], ge=0.0, le=2.0, description="weekend demand / weekday demand"
    )
    growth_per_year: float = Field(
        0.0,
        ge=-0.99,
        le=100.0,
        description="demand growth over the run, compounded continuously from its start (0.5: +50 %/yr)",
    )
    noise_cv: float = Field(
        INFERENCE_DEFAULTS["noise_cv"], ge=0.0, le=1.0, description="coefficient of variation of hourly demand noise"
    )
    throughput_scale: float = Field(
        1.0,
        gt=0.0,
        le=1e4,
        description="output tokens per GPU-second relative to the catalog at the same power (efficiency projections)",
    )
    input_tokens_per_output_token: float | None = Field(
        None,
        ge=0.0,
        le=1e4,
        description="prompt tokens served per output token (default: the trace's ratio); "
        "needed for saiq.token_basis input_and_output without a trace",
    )
    trace: str | None = Field(
        None,
        description="a request trace (catalog demand_traces.yaml: azure-conv, azure-code, "
        "mooncake-conv) whose per-minute output tokens, looped, shape demand "
        "within the hour",
    )

    @field_validator("trace")
    @classmethod
    def _known_trace(cls, value):
        names = sorted(catalog.load("demand_traces"))
        if value is not None and value not in names:
            raise ValueError(f"unknown trace '{value}'{did_you_mean(value, names)}; allowed: {', '.join(names)}")
        return value

    @field_validator("model")
    @classmethod
    def _known_model(cls, value):
        names = sorted(catalog.load("models"))
        if value not in names:
            raise ValueError(f"unknown model '{value}'{did_you_mean(value, names)}; allowed: {', '.join(names)}")
        return value

    @model_validator(mode="after")
    def _trough_below_peak(self):
        if self.trough_demand_fraction > self.peak_demand_fraction:
            raise ValueError(
                f"trough_demand_fraction ({self.trough_demand_fraction}) exceeds "
                f"peak_demand_fraction ({self.peak_demand_fraction})"
            )
        return self


class Workload(ScenarioModel):
    inference: Inference
    training: Training | None = None
    jobs: JobTrace | None = None

    def batch_halls(self) -> set[str]:
        """Halls that run batch work (synthetic training or a job trace) and serve no inference."""
        return {b.hall for b in (self.training, self.jobs) if b is not None}


class Economics(ScenarioModel):
    energy_tariff: Literal["site_hourly", "flat"] = "site_hourly"
    flat_price_usd_per_kwh: float | None = Field(None, ge=0.0, le=5.0)
    price_adder_usd_per_kwh: float = Field(
        0.0,
        ge=-1.0,
        le=5.0,
        description="added to every hour of a wholesale site price (network charges, "
        "taxes, supplier margin); not to a site whose price is a retail tariff",
    )
    demand_charge_usd_per_kw_month: float = Field(
        0.0, ge=0.0, le=500.0, description="charged on each month's highest grid draw (step mean)"
    )
    water_price_usd_per_m3: float | None = Field(
        None, ge=0.0, le=100.0, description="default: the bundled site's water price, else the catalog's"
    )
    facility_capex_usd_per_mw_it: float | None = Field(
        None, ge=0.0, le=1e9, description="default: the catalog's figure for the cooling type"
    )
    server_capex_usd: float | None = Field(None, ge=0.0, le=1e8, description="per server (default: catalog per GPU)")
    server_lifetime_years: float = Field(ECONOMICS_DEFAULTS["server_lifetime_years"], gt=0.0, le=30.0)
    facility_lifetime_years: float = Field(ECONOMICS_DEFAULTS["facility_lifetime_years"], gt=0.0, le=60.0)
    fixed_opex_fraction_of_capex_per_year: float = Field(
        ECONOMICS_DEFAULTS["fixed_opex_fraction_of_capex_per_year"], ge=0.0, le=1.0
    )

    @model_validator(mode="after")
    def _flat_needs_price(self):
        if self.energy_tariff == "flat" and self.flat_price_usd_per_kwh is None:
            raise ValueError("energy_tariff 'flat' needs flat_price_usd_per_kwh")
        return self


class SaiqWeights(ScenarioModel):
    w1: float = Field(1.0, ge=0.0, le=1e12, description="weight of USD/token")
    w2: float = Field(1.0, ge=0.0, le=1e12, description="weight of MWh/token")
    w3: float = Field(1.0, ge=0.0, le=1e12, description="weight of tCO2e/token")
    w4: float = Field(1.0, ge=0.0, le=1e12, description="weight of m3 water/token")

    @model_validator(mode="after")
    def _some_weight(self):
        if not (self.w1 or self.w2 or self.w3 or self.w4):
            raise ValueError("w1..w4 are all 0: SAIQ would be 0 for any design; give at least one a positive weight")
        return self


class SaiqComponents(ScenarioModel):
    usd_per_token: float = Field(gt=0.0)
    mwh_per_token: float = Field(gt=0.0)
    tco2e_per_token: float = Field(gt=0.0)
    m3_per_token: float = Field(gt=0.0)


class SaiqReference(ScenarioModel):
    """What the SAIQ index compares with: a reference scenario file, or its four components."""

    scenario: Path | None = Field(None, strict=False)
    components: SaiqComponents | None = None

    @field_validator("scenario")
    @classmethod
    def _scenario_exists(cls, value, info: ValidationInfo):
        return existing_file(value, info, "reference scenario")

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.scenario is None) == (self.components is None):
            raise ValueError("give exactly one of 'scenario' (a reference scenario file) or 'components'")
        return self


class Saiq(ScenarioModel):
    weights: SaiqWeights = SaiqWeights()
    token_basis: Literal["output", "input_and_output"] = Field(
        "output", description="tokens a SAIQ component is per: output tokens, or prompt and output tokens"
    )
    embodied_carbon: bool = Field(
        False,
        description="add servers' and facility's embodied carbon, amortised over their lives, to the carbon component",
    )
    reference: SaiqReference | None = None


class Results(ScenarioModel):
    """What a run keeps besides the facility's per-step series."""

    rack_series: Literal["hourly", "daily", "step", "none"] = Field(
        "hourly",
        description="each rack's means (power, utilisation, clock, die, inlet and coolant temperature) and "
        "throttled and tripped seconds: per hour (default), per day, per step, or none; written to racks.parquet",
    )


class Scenario(ScenarioModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="names the results folder")
    seed: int = Field(0, ge=0, le=2**63 - 1)
    start: dt.date = Field(description="ISO date, simulation starts at 00:00 UTC")
    duration: Annotated[str, Field(description="e.g. '7d', '1y' (365 d)")]
    step: Annotated[str, Field(description="e.g. '60s', '15m'; 1 s to 1 h")] = "60s"
    site: Site
    facility: Facility
    workload: Workload
    economics: Economics = Economics()
    saiq: Saiq = Saiq()
    faults: Faults = Faults()
    results: Results = Results()
    sites: list[str] | None = Field(
        None, min_length=1, max_length=200, description="bundled sites that `twin compare` runs this design at"
    )

    @field_validator("sites")
    @classmethod
    def _known_sites(cls, value):
        names = bundled_site_names()
        unknown = [v for v in (value or []) if v not in names]
        if unknown:
            raise ValueError(
                f"unknown site(s) {', '.join(repr(u) + did_you_mean(u, names) for u in unknown)}; "
                f"allowed: {', '.join(names)}"
            )
        if value and len(set(value)) != len(value):
            raise ValueError("a site is listed twice")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _iso_date(cls, value):
        if isinstance(value, dt.datetime):
            raise ValueError("start is a date (YYYY-MM-DD); the run starts at 00:00 UTC")
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"'{clip(value)}' is not an ISO date (YYYY-MM-DD)") from None
        return value

    @field_validator("start")
    @classmethod
    def _plausible_start(cls, value):
        return plausible_year(value)

    @field_validator("duration", "step", mode="before")
    @classmethod
    def _duration_string(cls, value):
        parse_duration_s(value)
        return value

    @model_validator(mode="after")
    def _steps_fit(self):
        step_s, duration_s = parse_duration_s(self.step), parse_duration_s(self.duration)
        if not 1 <= step_s <= 3600:
            raise ValueError(f"step '{self.step}' must be between 1s and 1h")
        if not step_s <= duration_s <= 10 * 365 * 86400:
            raise ValueError(f"duration '{self.duration}' must be at least one step and at most 10y")
        if duration_s % step_s:
            raise ValueError(f"duration '{self.duration}' is not a whole number of steps of '{self.step}'")
        if 3600 % step_s:
            raise ValueError(f"step '{self.step}' must divide one hour (hourly site series)")
        return self

    @model_validator(mode="after")
    def _model_runs_on_gpus(self):
        inference = self.workload.inference
        if inference.tokens_per_gpu_s is None:
            served_on = catalog.load("models")[inference.model]
            for k, hall in enumerate(self.facility.halls):
                if hall.name in self.workload.batch_halls():
                    continue
                for gpu in hall.gpu_models():
                    if gpu not in served_on:
                        field = "gpu" if gpu == hall.gpu else "racks gpu"
                        raise ValueError(
                            f"workload.inference.model '{inference.model}' has no measured throughput on "
                            f"facility.halls[{k}].{field} '{gpu}' (catalog has: {', '.join(served_on)}); "
                            f"set workload.inference.tokens_per_gpu_s"
                        )
        return self

    @model_validator(mode="after")
    def _batch_halls_fit(self):
        check_batch_halls(self)
        return self

    def _halls_in(self, table, what, then, prefix=""):
        """Every hall's GPU in a catalog table, or a ValueError naming the hall and what to do."""
        for k, hall in enumerate(self.facility.halls):
            for gpu in hall.gpu_models():
                field = "gpu" if gpu == hall.gpu else "racks gpu"
                if gpu not in table:
                    raise ValueError(
                        f"{prefix}facility.halls[{k}].{field} '{gpu}' has no {what} in the catalog "
                        f"(known: {', '.join(table)}); {then}"
                    )

    @model_validator(mode="after")
    def _gpus_have_prices(self):
        if self.economics.server_capex_usd is None:
            self._halls_in(
                catalog.load("economics")["server_capex_usd"], "server price", "set economics.server_capex_usd"
            )
        return self

    @model_validator(mode="after")
    def _embodied_carbon_known(self):
        if self.saiq.embodied_carbon:
            self._halls_in(
                catalog.load("embodied")["server_kgco2e"],
                "embodied carbon",
                "add it to catalog embodied.yaml or turn saiq.embodied_carbon off",
                "saiq.embodied_carbon: ",
            )
        return self

    @model_validator(mode="after")
    def _input_tokens_known(self):
        inference = self.workload.inference
        if (
            self.saiq.token_basis == "input_and_output"
            and inference.trace is None
            and inference.input_tokens_per_output_token is None
        ):
            raise ValueError(
                "saiq.token_basis 'input_and_output' needs workload.inference.trace or "
                "workload.inference.input_tokens_per_output_token"
            )
        return self

    @model_validator(mode="after")
    def _outages_fit(self):
        start = dt.datetime.combine(self.start, dt.time())
        end = start + dt.timedelta(seconds=parse_duration_s(self.duration))
        for kind, outages in (
            ("cooling_outages", self.faults.cooling_outages),
            ("power_outages", self.faults.power_outages),
        ):
            for k, outage in enumerate(outages):
                at = (
                    outage.start.replace(tzinfo=None)
                    if outage.start.tzinfo is None
                    else outage.start.astimezone(dt.timezone.utc).replace(tzinfo=None)
                )
                if not start <= at < end:
                    raise ValueError(
                        f"faults.{kind}[{k}].start {outage.start.isoformat()} is outside the run "
                        f"({start.isoformat()} to {end.isoformat()} UTC)"
                    )
        groups = self.facility.power_chain.ups.groups
        for k, outage in enumerate(self.faults.power_outages):
            if groups > 1 and (outage.group is None or outage.group > groups):
                raise ValueError(
                    f"faults.power_outages[{k}].group = {outage.group}: the facility has {groups} UPS groups "
                    f"(power_chain.ups.groups; allowed: 1..{groups})"
                )
            if groups == 1 and outage.group not in (None, 1):
                raise ValueError(
                    f"faults.power_outages[{k}].group = {outage.group}: the facility has one UPS "
                    "(power_chain.ups.groups = 1; allowed: 1 or none)"
                )
        for k, outage in enumerate(self.faults.cooling_outages):
            if outage.row is not None:
                self._row_exists(k, outage)
            if outage.unit in ("cdu", "dry_cooler") and self.facility.cooling.type == "air":
                raise ValueError(
                    f"faults.cooling_outages[{k}].unit '{outage.unit}' needs liquid cooling; "
                    f"an air-cooled facility has: chiller"
                )
        self._outages_within_units()
        return self

    def _row_exists(self, k, outage):
        halls = {h.name: h for h in self.facility.halls}
        if outage.hall not in halls:
            raise ValueError(
                f"faults.cooling_outages[{k}].hall '{outage.hall}' is not a hall; allowed: {', '.join(halls)}"
            )
        n = halls[outage.hall].rows()
        if outage.row > n:
            raise ValueError(f"faults.cooling_outages[{k}].row {outage.row}: hall '{outage.hall}' has rows 1..{n}")

    def _outages_within_units(self):
        """Cooling outages of one unit that overlap may together take out at most all of its units (the
        plant's available count would go negative)."""
        outages = self.faults.cooling_outages
        spans = [
            (
                o.start.timestamp() if o.start.tzinfo else o.start.replace(tzinfo=dt.timezone.utc).timestamp(),
                o.duration_s,
            )
            for o in outages
        ]
        for k, (at, _) in enumerate(spans):
            active = [
                j
                for j, (start_j, dur_j) in enumerate(spans)
                if outages[j].unit == outages[k].unit
                and (outages[j].hall, outages[j].row) == (outages[k].hall, outages[k].row)
                and outages[j].row is None
                and start_j <= at < start_j + dur_j
            ]
            share = sum(outages[j].fraction for j in active)
            if share > 1.0 + 1e-9:
                raise ValueError(
                    f"faults.cooling_outages[{k}] overlaps "
                    f"{', '.join(f'cooling_outages[{j}]' for j in active if j != k)}: together they take "
                    f"{share:.0%} of the {outages[k].unit} units out at {outages[k].start.isoformat()}; "
                    f"allowed: at most 100 % at any time"
                )

    def input_files(self):
        """The files this scenario reads besides itself: a results folder must never hold one."""
        files = [self.site.weather_file, self.site.grid_file, self.saiq.reference and self.saiq.reference.scenario]
        for hall in self.facility.halls:
            files += [hall.gpu_calibration, hall.rack_calibration]
        return [Path(f) for f in files if f]

    @property
    def step_s(self):
        return parse_duration_s(self.step)

    @property
    def n_steps(self):
        return parse_duration_s(self.duration) // self.step_s
