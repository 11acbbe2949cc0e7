"""A run's results folder (the results contract: timeseries.parquet, summary.json, report.html,
racks.parquet) and the terminal tables of every command.
"""

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from twin.files import to_json, write_folder
from twin.metrics import METRICS


def write_results(out_dir, frame, summary, racks=None, jobs=None):
    """timeseries.parquet, summary.json, report.html and (when kept) racks.parquet, and jobs.parquet of a job
    trace's run, atomically."""
    from twin.html_report import run_report_html

    def parquet(table):
        return lambda path: pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path, compression="zstd")

    writers = {
        "timeseries.parquet": parquet(frame),
        "summary.json": lambda path: path.write_text(to_json(summary) + "\n"),
        "report.html": lambda path: path.write_text(run_report_html(frame, summary, racks)),
    }
    if racks is not None and len(racks):
        writers["racks.parquet"] = parquet(racks)
    if jobs is not None:
        writers["jobs.parquet"] = parquet(jobs)
    return write_folder(out_dir, writers, "run")


def comparison_document(table, monthly_pue, meta, summaries):
    """comparison.json: the ranking, monthly PUE per site, and each site's full summary."""
    return {
        **meta,
        "ranking": table.to_dict(orient="records"),
        "monthly_pue": {site: {int(m): v for m, v in monthly_pue[site].items()} for site in monthly_pue},
        "summaries": summaries,
    }


def _console():
    """A terminal console; when the output goes to a file or a pipe, wide enough that tables keep their columns."""
    import sys

    return Console() if sys.stdout.isatty() or "COLUMNS" in os.environ else Console(width=240)


def _fmt(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float) and (value == 0.0 or 1e-3 <= abs(value) < 1e6):
        return f"{value:,.{digits}g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:.4g}"


def print_summary(summary, out_dir=None, console=None):
    """The run summary as terminal tables: totals, KPIs with their units, SAIQ with components."""
    console = console or _console()
    t, k, s = summary["totals"], summary["kpi"], summary["saiq"]
    head = f"[bold]{summary['scenario']}[/] - seed {summary['seed']}, {summary['start']} + {summary['duration']} at {summary['step']}, site {summary['site']}"
    console.print(head)

    totals = Table(title="Totals", title_justify="left")
    totals.add_column("quantity")
    totals.add_column("value", justify="right")
    totals.add_column("unit")
    for label, key, unit in [
        ("facility energy", "facility_energy_mwh", "MWh"),
        ("IT energy", "it_energy_mwh", "MWh"),
        ("cooling energy", "cooling_energy_mwh", "MWh"),
        ("power-chain losses", "power_chain_loss_mwh", "MWh"),
        ("other", "other_energy_mwh", "MWh"),
        ("direct water", "water_direct_m3", "m3"),
        ("indirect water", "water_indirect_m3", "m3"),
        ("carbon", "carbon_t", "tCO2e"),
        ("cost", "cost_usd", "USD"),
        ("output tokens", "tokens", "tokens"),
    ]:
        totals.add_row(label, _fmt(t[key]), unit)
    console.print(totals)

    kpi = Table(title="KPIs", title_justify="left")
    kpi.add_column("KPI")
    kpi.add_column("value", justify="right")
    kpi.add_column("unit")
    kpi.add_column("definition (source)")
    for key, (unit, definition, source) in METRICS.items():
        kpi.add_row(key, _fmt(k[key]), unit, f"{definition} ({source})")
    console.print(kpi)

    ept = summary.get("energy_per_token")
    if ept:
        ej = Table(title="Energy per output token", title_justify="left")
        ej.add_column("at")
        ej.add_column("J/token", justify="right")
        ej.add_column("factor", justify="right")
        ej.add_column("what it adds")
        f = ept["factors"]
        if ept["measured_gpu_j_at_full_batch"]:
            ej.add_row(
                "GPU, measured at full batch",
                _fmt(ept["measured_gpu_j_at_full_batch"]),
                "",
                "ML.ENERGY v3 (GPU board only)",
            )
            ej.add_row(
                "GPU, this run",
                _fmt(ept["gpu_j"]),
                f"x {f['load']:.3f}",
                "partial batches and idle capacity as demand varies",
            )
        ej.add_row(
            "servers (IT)", _fmt(ept["it_j"]), f"x {f['server_overhead']:.3f}", "host CPUs and memory, fans, PSU losses"
        )
        ej.add_row(
            "facility (meter)", _fmt(ept["facility_j"]), f"x {f['pue']:.3f}", "cooling, power chain, other (PUE)"
        )
        console.print(ej)

    jobs = summary.get("jobs")
    if jobs:
        jt = Table(title=f"Jobs ({jobs['mode']}, {jobs['policy']}): {jobs['source']}", title_justify="left")
        jt.add_column("")
        jt.add_column("this run", justify="right")
        hours = lambda v: "-" if v is None else f"{v:,.2f} h"  # noqa: E731
        for label, value in (
            (
                "submitted / started / completed",
                f"{jobs['jobs_in_run']} / {jobs['jobs_started']} / {jobs['jobs_completed']}",
            ),
            ("running / waiting at the end", f"{jobs['jobs_running_at_end']} / {jobs['jobs_waiting_at_end']}"),
            ("killed and requeued / failed", f"{jobs['jobs_requeued']} / {jobs['jobs_failed']}"),
            ("makespan of completed jobs", hours(jobs["makespan_h"])),
            ("mean wait", hours(jobs["mean_wait_h"])),
            (
                "mean slowdown (run / wall time)",
                "-" if jobs["mean_slowdown"] is None else f"{jobs['mean_slowdown']:.4f}",
            ),
            ("GPU-hours lost to kills", f"{jobs['gpu_hours_lost']:,.1f}"),
        ):
            jt.add_row(label, value)
        console.print(jt)

    tr = summary.get("training")
    if tr:
        tt = Table(title=f"Training ({tr['policy']} scheduling)", title_justify="left")
        tt.add_column("")
        tt.add_column("this run", justify="right")
        base = tr.get("fifo_baseline")
        if base:
            tt.add_column("FIFO, same jobs", justify="right")
        rows = [
            (
                "tCO2e per token",
                _fmt(s["components"]["tco2e_per_token"]),
                base and _fmt(base["saiq_components"]["tco2e_per_token"]),
            ),
            (
                "USD per token",
                _fmt(s["components"]["usd_per_token"]),
                base and _fmt(base["saiq_components"]["usd_per_token"]),
            ),
            ("jobs meeting their deadline", _fmt(tr["deadline_met_share"]), base and _fmt(base["deadline_met_share"])),
            ("GPU-hours lost to failures", _fmt(tr["gpu_hours_lost"]), base and _fmt(base["gpu_hours_lost"])),
        ]
        for label, value, other in rows:
            tt.add_row(label, value, *([other] if base else []))
        console.print(tt)
        console.print(
            f"{tr['jobs_arrived']} jobs ({tr['jobs_deferrable']} deferrable), {tr['jobs_completed']} completed, "
            f"{tr['failures']} GPU failures: {tr['gpu_hours_lost']:,.0f} GPU-hours of work lost, "
            f"{tr['energy_lost_facility_mwh']:,.2f} MWh at the meter spent on it"
        )
    gf = summary.get("gpu_failures")
    if gf and gf["rate_per_gpu_day"] > 0.0:
        for hall in gf["halls"]:
            console.print(
                f"GPU failures, hall {hall['hall']}: {hall['failures']} (expected {hall['expected_failures']:.1f} "
                f"at {gf['rate_per_gpu_day']:g} per GPU-day), {hall['gpu_hours_in_repair']:,.0f} GPU-hours in repair"
            )

    cap = summary.get("grid_cap")
    if cap:
        console.print(
            f"Grid cap: GPUs power-limited for {cap['hours_gpus_capped']:,.1f} h; "
            + (
                f"[bold red]cap exceeded for {cap['hours_over_cap']:,.1f} h (by up to {cap['max_excess_mw']:.3f} MW): "
                f"the facility cannot go that low even with the GPUs at their lowest clock[/]"
                if cap["hours_over_cap"] > 0.0
                else "held every step"
            )
        )

    for o in summary.get("cooling_outages", []):
        recovery = "not within the run" if o["recovery_min"] is None else f"{o['recovery_min']:.0f} min after"
        tank = "" if o["tank_empty_after_min"] is None else f"; tank empty after {o['tank_empty_after_min']:.0f} min"
        console.print(
            f"Cooling outage, {o['unit']} from {o['start_utc']} for {o['duration_h']:g} h: hottest inlet +"
            f"{o['inlet_rise_k']:.1f} K to {o['max_inlet_c']:.1f} C, {o['hours_inlet_above_allowable']:.2f} h above "
            f"the allowable inlet, up to {o['max_gpus_off']:,.0f} GPUs off{tank}; recovered {recovery}"
        )
    storage = summary.get("thermal_storage")
    if storage:
        console.print(
            f"Chilled-water storage: {storage['storage_kwh']:,.0f} kWh ({storage['tank_m3']:,.0f} m3), "
            f"{storage['ride_through_min_at_design_heat']:.1f} min at the air path's design heat"
        )

    no_tokens = summary["totals"].get("tokens", 0.0) + summary["totals"].get("tokens_training", 0.0) <= 0.0
    sq = Table(title="SAIQ" + (": no tokens in this run, nothing per token" if no_tokens else ""), title_justify="left")
    sq.add_column("component")
    sq.add_column("weight", justify="right")
    sq.add_column("value", justify="right")
    sq.add_column("unit")
    sq.add_column("reference", justify="right")
    ref = s.get("reference") or {}
    for (comp, unit), w in zip(s["units"].items(), ("w1", "w2", "w3", "w4")):
        sq.add_row(comp, _fmt(s["weights"][w]), _fmt(s["components"][comp]), unit, _fmt(ref.get(comp)))
    sq.add_row("[bold]SAIQ raw[/]", "", _fmt(s["raw"]), "weighted sum", "")
    index_note = "vs reference (reference = sum of weights)" if s["index"] is not None else "no reference given"
    sq.add_row("[bold]SAIQ index[/]", "", _fmt(s["index"]), index_note, "")
    console.print(sq)
    if out_dir is not None:
        kept = "".join(f", {out_dir}/{f}" for f in ("racks.parquet", "jobs.parquet") if (Path(out_dir) / f).exists())
        console.print(f"results: {out_dir}/timeseries.parquet, {out_dir}/summary.json{kept}")


def print_sites(rows, console=None):
    """The site library, one line per site."""
    from twin.sites.listing import economiser_thresholds_c

    console = console or _console()
    wb, db, liquid_class = economiser_thresholds_c()
    table = Table(
        title=f"{len(rows)} bundled sites on {len({r['continent'] for r in rows})} continents", title_justify="left"
    )
    table.add_column("site", no_wrap=True)
    table.add_column("region", no_wrap=True, max_width=26, overflow="ellipsis")
    table.add_column("continent", no_wrap=True)
    for col, justify in [
        ("climate", "left"),
        ("dry-bulb\nmean C", "right"),
        ("wet-bulb\nmean C", "right"),
        (f"h wet-bulb\n<= {wb:.1f} C", "right"),
        (f"h dry-bulb\n<= {db:.0f} C", "right"),
        ("grid\ngCO2/kWh", "right"),
        ("grid water\nL/kWh", "right"),
        ("price\nUSD/kWh", "right"),
        ("water\nUSD/m3", "right"),
    ]:
        table.add_column(col, justify=justify, no_wrap=True)
    table.add_column("sources: weather; carbon; price", no_wrap=True, max_width=44, overflow="ellipsis")
    for r in rows:
        carbon = f"{r['carbon_g_per_kwh']:.0f}" + ("" if r["carbon_hourly"] else " flat")
        price = f"{r['price_usd_per_kwh']:.3f}" + (
            " tariff" if r["price_basis"] == "retail" else "" if r["price_hourly"] else " flat"
        )
        table.add_row(
            r["name"],
            r["region"],
            r["continent"],
            r["climate_type"],
            f"{r['mean_drybulb_c']:.1f}",
            f"{r['mean_wetbulb_c']:.1f}",
            f"{r['hours_wse']:,}",
            f"{r['hours_dry_cooling']:,}",
            carbon,
            f"{r['water_l_per_kwh']:.2f}" + ("" if r["water_hourly"] else " flat"),
            price,
            f"{r['water_price_usd_per_m3']:.2f}" + ("*" if r["sources"]["water_price"].startswith("STAND-IN") else " "),
            r["source_tags"],
        )
    console.print(table)
    console.print(
        f"h wet-bulb: hours of full water-side economiser cooling (air plant, chilled water - tower and "
        f"exchanger approaches); h dry-bulb: hours of full dry-cooler cooling for {liquid_class} direct-to-chip. "
        f"'flat': an annual figure, no hourly series. 'tariff': a flat retail price, not a market series; "
        f"price 'flat': a market's annual mean; water price *: a global mean, no city tariff found. "
        f"Sources per series: python -m twin sites NAME"
    )


def print_site(row, months, console=None):
    """One site: what it is, monthly figures, and the source of every series."""
    console = console or _console()
    console.print(f"[bold]{row['name']}[/] - {row['title']}")
    console.print(f"{row['region']}; {row['continent']}; {row['climate']}")
    console.print(
        f"lat {row['latitude']:.3f}, lon {row['longitude']:.3f}, elevation {row['elevation_m']:.0f} m; "
        f"time zone {row['timezone']} (weather axis: UTC{row['utc_offset_h']:+g} standard time -> UTC)"
    )
    console.print(
        f"weather: {row['weather_basis']}; price: {row['price_basis']}; water price "
        f"{row['water_price_usd_per_m3']:.2f} USD/m3"
    )
    table = Table(title="Monthly means (UTC months)", title_justify="left")
    for col in ("month", "dry-bulb C", "wet-bulb C", "h WSE", "h dry", "gCO2/kWh", "L/kWh", "USD/kWh"):
        table.add_column(col, justify="right")
    for m in months:
        table.add_row(
            str(m["month"]),
            f"{m['drybulb_c']:.1f}",
            f"{m['wetbulb_c']:.1f}",
            str(m["hours_wse"]),
            str(m["hours_dry_cooling"]),
            f"{m['carbon_g_per_kwh']:.0f}",
            f"{m['water_l_per_kwh']:.2f}",
            f"{m['price_usd_per_kwh']:.4f}",
        )
    console.print(table)
    sources = Table(title="Sources", title_justify="left", show_lines=True)
    sources.add_column("series")
    sources.add_column("source")
    for key, text in row["sources"].items():
        sources.add_row(key, text)
    console.print(sources)


def print_comparison(table, meta, out_dir=None, console=None):
    """The site ranking with the SAIQ components and the KPIs."""
    console = console or _console()
    by = "SAIQ index" if meta["ranked_by"] == "saiq_index" else "SAIQ raw (no reference in the scenario)"
    w = meta["weights"]
    out = Table(
        title=f"{meta['scenario']}: {len(table)} sites ranked by {by}, weights w1..w4 = "
        f"{w['w1']:g}, {w['w2']:g}, {w['w3']:g}, {w['w4']:g}; {meta['period']}",
        title_justify="left",
    )
    columns = [
        ("#", "rank", "{:d}"),
        ("site", "site", "{}"),
        ("SAIQ", meta["ranked_by"], "{:.4g}"),
        ("USD/token", "usd_per_token", "{:.3e}"),
        ("MWh/token", "mwh_per_token", "{:.3e}"),
        ("tCO2e/token", "tco2e_per_token", "{:.3e}"),
        ("m3/token", "m3_per_token", "{:.3e}"),
        ("PUE", "pue", "{:.3f}"),
        ("WUE site\nL/kWh", "wue_site_l_per_kwh", "{:.2f}"),
        ("WUE source\nL/kWh", "wue_source_l_per_kwh", "{:.2f}"),
        ("CUE\nkg/kWh", "cue_kg_per_kwh", "{:.3f}"),
        ("energy\nMWh", "facility_energy_mwh", "{:,.0f}"),
        ("water\nm3", "water_direct_m3", "{:,.0f}"),
        ("carbon\nt", "carbon_t", "{:,.0f}"),
        ("cost\nMUSD", "cost_usd", "{:,.2f}"),
    ]
    for label, _, _ in columns:
        out.add_column(label, justify="left" if label == "site" else "right")
    for row in table.to_dict(orient="records"):
        cells = []
        for _, key, fmt in columns:
            value = row[key] / 1e6 if key == "cost_usd" else row[key]
            cells.append(fmt.format(int(value) if key == "rank" else value))
        out.add_row(*cells)
    console.print(out)
    console.print("water: direct (site) water; WUE source adds the water consumed generating the electricity.")
    if out_dir is not None:
        console.print(f"results: {out_dir}/comparison.parquet, {out_dir}/comparison.json, {out_dir}/report.html")


def print_sweep(table, key, meta, out_dir=None, console=None, top=30):
    """The variants ranked by SAIQ with their axis values and the KPIs."""
    console = console or _console()
    axes = list(meta["axes"])
    out = Table(
        title=f"sweep {meta['sweep']}: {len(table)} variants of {Path(meta['base']).name} ranked by {key}"
        + (f" (the {top} best)" if len(table) > top else ""),
        title_justify="left",
    )
    for label in ("#", *axes, key, "PUE", "WUE site\nL/kWh", "CUE\nkg/kWh", "energy\nMWh", "carbon\nt", "cost\nMUSD"):
        out.add_column(label, justify="right")
    for i, row in enumerate(table.head(top).to_dict(orient="records")):
        out.add_row(
            str(i + 1),
            *[str(row[f"axis:{a}"]) for a in axes],
            f"{row[key]:.4g}",
            f"{row['pue']:.3f}",
            f"{row['wue_site_l_per_kwh']:.2f}",
            f"{row['cue_kg_per_kwh']:.3f}",
            f"{row['facility_energy_mwh']:,.0f}",
            f"{row['carbon_t']:,.0f}",
            f"{row['cost_usd'] / 1e6:,.2f}",
        )
    console.print(out)
    if out_dir is not None:
        console.print(
            f"results: {out_dir}/variants/ (one parquet partition per variant), {out_dir}/sweep.json, "
            f"{out_dir}/report.html"
        )


def print_forecast(table, meta, out_dir=None, console=None):
    """SAIQ and its components per year, one table per storyline, with the year's PUE, its hottest hour's PUE
    and its heat-wave days."""
    console = console or _console()
    by = "saiq_index" if table["saiq_index"].notna().all() else "saiq_raw"
    for name, rows in table.groupby("storyline", sort=False):
        story = meta["storylines"][name]
        out = Table(title=f"{meta['scenario']}, storyline '{name}': {story['description']}", title_justify="left")
        for label in (
            "year",
            "SAIQ index" if by == "saiq_index" else "SAIQ raw",
            "USD/token",
            "MWh/token",
            "tCO2e/token",
            "m3/token",
            "PUE",
            "peak\nPUE",
            "heat-wave\ndays",
            "grid\ngCO2/kWh",
            "fleet\nx",
            "energy\nMWh",
            "carbon\nt",
        ):
            out.add_column(label, justify="right")
        for r in rows.to_dict(orient="records"):
            out.add_row(
                str(r["year"]),
                f"{r[by]:.4g}",
                f"{r['usd_per_token']:.3e}",
                f"{r['mwh_per_token']:.3e}",
                f"{r['tco2e_per_token']:.3e}",
                f"{r['m3_per_token']:.3e}",
                f"{r['pue']:.3f}",
                f"{r['peak_hourly_pue']:.3f}",
                f"{int(r['heatwave_days'])}",
                f"{r['grid_carbon_g_per_kwh']:.0f}",
                f"{r['fleet_scale']:.2f}",
                f"{r['facility_energy_mwh']:,.0f}",
                f"{r['carbon_t']:,.0f}",
            )
        console.print(out)
    console.print(
        f"Per year: {meta['period_per_year']}; energy, carbon and the fleet scale with demand growth and "
        f"the rebound of cheaper tokens. Storyline sources: twin/catalog/forecast.yaml"
    )
    if out_dir is not None:
        console.print(f"results: {out_dir}/forecast.parquet, {out_dir}/forecast.json, {out_dir}/report.html")
