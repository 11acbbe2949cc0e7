"""The run page: facility power by part, PUE against wet-bulb, daily water and carbon, SAIQ, KPIs, sources."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from twin.html_report.base import (
    MAX_DAILY_BARS,
    MAX_SCATTER_POINTS,
    POWER_COLUMNS,
    RULE_WORDS,
    SAIQ_PARTS,
    TOTALS,
    bin_rule,
    date_axis,
    esc,
    figure_block,
    fmt_num,
    fmt_sci,
    html_page,
    html_table,
    is_finite,
    prepare_frame,
    sources_footer,
    svg_figure,
)

# Above this many points a series is averaged into coarser bins: SVG paths cost ~20 bytes
from twin.html_report.floor import floor_section


def _power_plot(data: pd.DataFrame) -> str:
    rule = bin_rule(data.index)
    power = data[list(POWER_COLUMNS)]
    if rule:
        power = power.resample(rule).mean().dropna(how="all")
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax = fig.subplots()
    labels, colours = zip(*POWER_COLUMNS.values())
    ax.stackplot(
        power.index, *(power[c].to_numpy() / 1e6 for c in POWER_COLUMNS), labels=labels, colors=colours, linewidth=0
    )
    ax.set_ylabel("power (MW)")
    ax.set_xlabel("time (UTC)")
    ax.set_xlim(power.index[0], power.index[-1] if len(power) > 1 else power.index[0] + pd.Timedelta("1h"))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    date_axis(ax)
    # Legend below the plot so it never hides the top of the stack.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=4, frameon=False)
    binning = f"{RULE_WORDS.get(rule, rule)} means of the steps" if rule else "every simulated step"
    caption = (
        f"<b>Facility power by use</b> ({esc(binning)}). The top of the stack is the power at "
        "the utility meter; the blue band is the IT load (servers at the wall), the rest is "
        "overhead. A cooling band that swells on hot afternoons usually means the economiser "
        "has handed over to chillers; PUE is the top of the stack divided by the blue band."
    )
    return figure_block(
        svg_figure(fig, "power", "Facility power stacked by IT, cooling, power chain and other"), caption
    )


def _pue_plot(data: pd.DataFrame) -> str:
    hourly = data[["facility_power_w", "it_power_w", "outdoor_wetbulb_c"]].resample("1h").mean()
    # Hours with (almost) no IT load give meaningless PUE: drop them.
    it_floor = 0.01 * max(hourly["it_power_w"].max(), 0.0)
    hourly = hourly[(hourly["it_power_w"] > it_floor) & hourly["outdoor_wetbulb_c"].notna()]
    pue = hourly["facility_power_w"] / hourly["it_power_w"]
    wetbulb = hourly["outdoor_wetbulb_c"]
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    if len(pue) == 0:
        ax.text(0.5, 0.5, "no hour with IT load", ha="center", va="center", transform=ax.transAxes)
        how = "no hour had IT load"
    elif len(pue) <= MAX_SCATTER_POINTS:
        ax.scatter(wetbulb, pue, s=12, alpha=0.5, color="#4e79a7", linewidths=0, label="one hour")
        how = "each dot is one hour"
    else:
        hb = ax.hexbin(wetbulb, pue, gridsize=40, mincnt=1, cmap="viridis", linewidths=0)
        fig.colorbar(hb, ax=ax, label="hours")
        how = "the colour of each hexagon counts the hours that fall in it"
    if len(pue) >= 10:  # a median per 1 °C of wet-bulb shows the trend through the scatter
        bins = np.floor(wetbulb).astype(int)
        med = pue.groupby(bins).median()
        counts = pue.groupby(bins).size()
        med = med[counts >= 3]
        ax.plot(med.index + 0.5, med.to_numpy(), color="#e15759", lw=2, label="median per 1 °C")
        ax.legend(loc="upper left", frameon=False)
    ax.set_xlabel("outdoor wet-bulb temperature (°C, hourly mean)")
    ax.set_ylabel("PUE (facility / IT power, hourly)")
    ax.grid(alpha=0.3)
    caption = (
        f"<b>PUE against outdoor wet-bulb</b> ({esc(how)}). Cooling towers, evaporative "
        "pads and water-side economisers are limited by the wet-bulb temperature (dry coolers "
        "by the dry-bulb): a flat cloud means free cooling covers the whole range; a rise to "
        "the right shows where chillers take over. "
        "Spread at one wet-bulb comes from IT load changes and plant staging."
    )
    return figure_block(svg_figure(fig, "pue", "PUE against outdoor wet-bulb temperature"), caption)


def _daily_plot(data: pd.DataFrame) -> str:
    daily = data[["water_direct_m3", "water_indirect_m3", "carbon_kg"]].resample("1D").sum()
    fig = Figure(figsize=(10, 5.2), layout="constrained")
    ax_w, ax_c = fig.subplots(2, 1, sharex=True)
    direct = daily["water_direct_m3"].to_numpy()
    indirect = daily["water_indirect_m3"].to_numpy()
    carbon_t = daily["carbon_kg"].to_numpy() / 1000.0
    if len(daily) <= MAX_DAILY_BARS:
        x = daily.index + pd.Timedelta("12h")  # bars centred on their day
        width = 0.85  # days, in matplotlib date units
        ax_w.bar(x, direct, width, color="#59a1cf", label="direct (site)", linewidth=0)
        ax_w.bar(x, indirect, width, bottom=direct, color="#a0cbe8", label="indirect (power plants)", linewidth=0)
        ax_c.bar(x, carbon_t, width, color="#76717a", linewidth=0)
    else:  # one filled staircase per series: hundreds of bars would be slow and heavy in SVG
        edges = mdates.date2num(daily.index.append(daily.index[-1:] + pd.Timedelta("1D")))
        ax_w.stairs(direct, edges, fill=True, color="#59a1cf", label="direct (site)")
        ax_w.stairs(
            direct + indirect, edges, baseline=direct, fill=True, color="#a0cbe8", label="indirect (power plants)"
        )
        ax_c.stairs(carbon_t, edges, fill=True, color="#76717a")
    ax_w.set_ylabel("water (m³/day)")
    ax_w.legend(loc="upper center", bbox_to_anchor=(0.5, 1.22), ncols=2, frameon=False)
    ax_c.set_ylabel("carbon (t CO2e/day)")
    ax_c.set_xlabel("day (UTC)")
    for ax in (ax_w, ax_c):
        ax.grid(alpha=0.3, axis="y")
    ax_c.set_xlim(mdates.date2num(daily.index[0]), mdates.date2num(daily.index[-1] + pd.Timedelta("1D")))
    date_axis(ax_c)
    caption = (
        "<b>Daily water and carbon.</b> Top: water consumed per UTC day, on site (cooling-tower "
        "make-up and evaporative pads) and at the power plants that made the electricity. "
        "Bottom: location-based CO2e of the energy used. Site water follows heat and weather; "
        "indirect water and carbon follow energy and the grid's hourly mix. The first and "
        "last days may be partial."
    )
    return figure_block(svg_figure(fig, "daily", "Daily water use and daily carbon"), caption)


def saiq_section(saiq: dict) -> str:
    components = saiq.get("components") or {}
    units = saiq.get("units") or {}
    weights = saiq.get("weights") or {}
    reference = saiq.get("reference")
    rows, contrib = [], {}
    for key, (wkey, name, _) in SAIQ_PARTS.items():
        c = components.get(key)
        w = weights.get(wkey)
        ref = reference.get(key) if reference else None
        share = None
        if is_finite(c) and is_finite(w) and is_finite(ref) and ref != 0:
            share = w * c / ref
            contrib[key] = share
        rows.append([name, fmt_sci(c), units.get(key, ""), f"{wkey} = {fmt_num(w)}", fmt_sci(ref), fmt_num(share)])
    out = [
        "<h2>SAIQ: what a token costs</h2>",
        html_table(
            ["component", "per token", "unit", "weight", "reference per token", "weighted contribution w·c/ref"],
            rows,
            num_cols=(1, 4, 5),
        ),
        (
            f"<p>SAIQ raw (Σ w·c, in the weights' units) = {esc(fmt_sci(saiq.get('raw')))}; "
            f"SAIQ index (Σ w·c/ref) = {esc(fmt_num(saiq.get('index')))}. Lower is better.</p>"
        ),
    ]
    if not reference or len(contrib) < len(SAIQ_PARTS):
        out.append(
            '<p class="note">No reference scenario was given (or a reference component was '
            "zero), so the components cannot be put on one scale: only the table is shown.</p>"
        )
        return "\n".join(out)
    names = [SAIQ_PARTS[k][1] for k in SAIQ_PARTS]
    values = [contrib[k] for k in SAIQ_PARTS]
    ref_scores = [weights[SAIQ_PARTS[k][0]] for k in SAIQ_PARTS]
    fig = Figure(figsize=(7.5, 2.8), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(names))
    ax.barh(y, values, color=[SAIQ_PARTS[k][2] for k in SAIQ_PARTS], height=0.6)
    ax.scatter(ref_scores, y, marker="|", s=700, color="#222", linewidths=2.5, label="reference scenario")
    xmax = max(max(values), max(ref_scores)) * 1.12
    for yi, v in zip(y, values):  # values inside the bar end, clear of the reference tick
        inside = v > 0.25 * xmax
        ax.annotate(
            f"{v:.3g}",
            (v, yi),
            xytext=(-5 if inside else 5, 0),
            textcoords="offset points",
            va="center",
            ha="right" if inside else "left",
            color="white" if inside else "#222",
        )
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, xmax)
    ax.set_xlabel("weighted contribution to the SAIQ index, w·c/ref (–)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, markerscale=0.4)
    ax.grid(alpha=0.3, axis="x")
    caption = (
        "<b>SAIQ index by component.</b> Each bar is the weight times this run's value per token "
        "divided by the reference scenario's; the black tick is where the reference itself "
        "scores (its weight). Bars left of the tick are better than the reference. "
        "The bars add up to the SAIQ index."
    )
    out.append(figure_block(svg_figure(fig, "saiq", "SAIQ index contributions by component"), caption))
    return "\n".join(out)


def kpi_section(summary: dict) -> str:
    kpi = summary.get("kpi") or {}
    defs = summary.get("kpi_definitions") or {}
    rows = []
    for key, value in kpi.items():
        d = defs.get(key) or {}
        rows.append([key, fmt_num(value), d.get("unit", ""), d.get("definition", ""), d.get("source", "")])
    totals = summary.get("totals") or {}
    trows = [[label, fmt_num(totals[k]), unit] for k, (label, unit) in TOTALS.items() if k in totals]
    return "\n".join(
        [
            "<h2>Key figures</h2>",
            html_table(["total", "value", "unit"], trows, num_cols=(1,)),
            html_table(["KPI", "value", "unit", "definition", "source"], rows, num_cols=(1,)),
        ]
    )


def period_text(data: pd.DataFrame, summary: dict) -> str:
    start = data.index[0]
    step = data.index[1] - data.index[0] if len(data) > 1 else pd.Timedelta(0)
    end = data.index[-1] + step
    text = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    return f"{text} ({summary['duration']})" if summary.get("duration") else text


def run_report_html(frame: pd.DataFrame, summary: dict, racks: pd.DataFrame | None = None) -> str:
    """The HTML report of one run.

    frame: the per-step frame of timeseries.parquet (UTC `timestamp`, powers in W, water in m3,
    carbon in kg per step); summary: the summary.json document of the same run; racks: its
    racks.parquet frame (the floor map), or None where none was kept.
    Returns the page as a string (self-contained, plots as inline SVG).
    """
    data = prepare_frame(frame)
    name = summary.get("scenario", "run")
    meta_rows = [
        ("Site", summary.get("site", "–")),
        ("Period", period_text(data, summary)),
        ("Step", summary.get("step", "–")),
        ("Seed", summary.get("seed", "–")),
    ]
    meta = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in meta_rows)
    body = [
        f'<header><h1>Scenario {esc(name)}</h1><table class="meta">{meta}</table></header>',
        kpi_section(summary),
        "<h2>Power</h2>",
        _power_plot(data),
        _pue_plot(data),
        "<h2>Water and carbon</h2>",
        _daily_plot(data),
        floor_section(racks),
        saiq_section(summary.get("saiq") or {}),
        sources_footer(summary, "KPI sources are given in the KPI table."),
    ]
    return html_page(f"twin report: {name}", body)


# ---------------------------------------------------------------- site comparison
