"""The comparison page: SAIQ contributions per site, monthly PUE, carbon and water."""

from __future__ import annotations

import calendar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Above this many points a series is averaged into coarser bins: SVG paths cost ~20 bytes
from twin.html_report.base import (
    COMPARE_TABLES,
    CONTRIB_COLUMNS,
    SAIQ_PARTS,
    esc,
    figure_block,
    fmt_num,
    fmt_sci,
    html_page,
    html_table,
    is_finite,
    mpl_text,
    sources_footer,
    svg_figure,
)


def site_colours(n: int):
    """Distinct colours for n lines: tab10/tab20 while they last, then an even spread of turbo."""
    if n <= 10:
        return [matplotlib.colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [matplotlib.colormaps["tab20"](i) for i in range(n)]
    return [matplotlib.colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]


def _contrib_plot(comparison: pd.DataFrame, ranked_by: str) -> str:
    sites = [mpl_text(s) for s in comparison["site"]]
    n = len(sites)
    fig = Figure(figsize=(9, 1.2 + 0.34 * n), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)
    left = np.zeros(n)
    for col, (_, name, colour) in CONTRIB_COLUMNS.items():
        values = comparison[col].fillna(0.0).to_numpy(dtype=float) if col in comparison else np.zeros(n)
        ax.barh(y, values, left=left, color=colour, label=name, height=0.65)
        left += values
    ax.set_yticks(y, sites)
    ax.set_ylim(n - 0.5, -0.5)  # rank 1 on top, no empty margin
    ax.set_xlabel(
        "weighted contribution, w·c/ref (–)"
        if ranked_by == "saiq_index"
        else "weighted contribution, w·c (the weights' units)"
    )
    ax.grid(alpha=0.3, axis="x")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=4, frameon=False)
    what = (
        "the SAIQ index (each component divided by the reference's, times its weight)"
        if ranked_by == "saiq_index"
        else "the raw SAIQ (each component times its weight; no reference was given)"
    )
    caption = (
        f"<b>SAIQ by component, best site on top.</b> The bar length is {esc(what)}; the "
        "coloured parts show whether cost, energy, carbon or water drives a site's score. "
        "Shorter is better."
    )
    return figure_block(svg_figure(fig, "contrib", "SAIQ contributions per site"), caption)


def _monthly_pue_plot(monthly_pue: pd.DataFrame) -> str:
    n = monthly_pue.shape[1]
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()
    months = [int(m) for m in monthly_pue.index]
    markers = "osD^v<>ph*"
    for i, (site, colour) in enumerate(zip(monthly_pue.columns, site_colours(n))):
        # Markers cycle at a different period than colours so neighbours in a colormap differ.
        ax.plot(
            months,
            monthly_pue[site].to_numpy(dtype=float),
            color=colour,
            lw=1.6,
            marker=markers[i % len(markers)],
            ms=4,
            label=mpl_text(site),
        )
    ax.set_xticks(months, [calendar.month_abbr[m] if 1 <= m <= 12 else str(m) for m in months])
    ax.set_xlabel("month")
    ax.set_ylabel("PUE (–)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small", ncols=1 if n <= 18 else 2)
    caption = (
        "<b>Monthly PUE per site.</b> Facility energy over IT energy in each month. Hot, humid "
        "months raise PUE where cooling leans on chillers; a flat line means the plant cools "
        "almost for free all year."
    )
    return figure_block(svg_figure(fig, "monthly-pue", "Monthly PUE per site"), caption)


def _carbon_water_plot(comparison: pd.DataFrame, period: str) -> str:
    sites = [mpl_text(s) for s in comparison["site"]]
    n = len(sites)
    fig = Figure(figsize=(10, 1.0 + 0.3 * n), layout="constrained")
    ax_c, ax_w = fig.subplots(1, 2, sharey=True)
    y = np.arange(n)
    ax_c.barh(y, comparison["carbon_t"].to_numpy(dtype=float), color="#76717a", height=0.65)
    ax_w.barh(y, comparison["water_direct_m3"].to_numpy(dtype=float), color="#59a1cf", height=0.65)
    ax_c.set_yticks(y, sites)
    ax_c.set_ylim(n - 0.5, -0.5)
    ax_c.set_xlabel("carbon (t CO2e)")
    ax_w.set_xlabel("direct (site) water (m³)")
    for ax in (ax_c, ax_w):
        ax.grid(alpha=0.3, axis="x")
        ax.xaxis.set_major_locator(MaxNLocator(5))  # half-width panels: keep tick labels apart
    caption = (
        f"<b>Carbon and site water per site</b> over {esc(period)}, in rank order. Carbon "
        "follows energy and the grid mix; site water follows the heat rejected by "
        "evaporation (zero for dry heat rejection)."
    )
    return figure_block(svg_figure(fig, "carbon-water", "Carbon and direct water per site"), caption)


def _compare_tables(comparison: pd.DataFrame) -> str:
    out = []
    known = {c for cols in COMPARE_TABLES.values() for c in cols}
    extra = {c: (c, "", "num") for c in comparison.columns if c not in known}
    for heading, cols in COMPARE_TABLES.items():
        if heading.startswith("Totals"):
            cols = {**cols, **extra}  # unexpected columns still show, under their own name
        present = [c for c in cols if c in comparison.columns]
        headers = [f"{cols[c][0]} ({cols[c][1]})" if cols[c][1] else cols[c][0] for c in present]
        fmt = {
            "sci": fmt_sci,
            "num": fmt_num,
            "int": lambda v: fmt_num(int(v)) if is_finite(v) else fmt_num(v),
            "text": str,
        }
        rows = [[fmt[cols[c][2]](row[c]) for c in present] for _, row in comparison.iterrows()]
        num_cols = tuple(i for i, c in enumerate(present) if cols[c][2] != "text")
        nowrap = tuple(i for i, c in enumerate(present) if c == "site")  # site ids break at hyphens
        out += [f"<h2>{esc(heading)}</h2>", html_table(headers, rows, num_cols=num_cols, nowrap_cols=nowrap)]
    return "\n".join(out)


def compare_report_html(comparison: pd.DataFrame, monthly_pue: pd.DataFrame, meta: dict) -> str:
    """The HTML report of a site comparison.

    comparison: one row per site in rank order (columns: rank, site, title, saiq_index,
    saiq_raw, the four SAIQ components, contrib_*, KPIs and totals); monthly_pue: PUE indexed
    by month number with one column per site; meta: scenario, weights, ranked_by, period,
    reference. Returns the page as a string (self-contained, plots as inline SVG).
    """
    if "site" not in comparison.columns or len(comparison) == 0:
        raise ValueError("compare_report_html: the comparison needs at least one row and a 'site' column")
    name = meta.get("scenario", "comparison")
    weights = meta.get("weights") or {}
    ranked_by = meta.get("ranked_by", "saiq_index")
    period = meta.get("period") or "the period"
    reference = meta.get("reference")
    weights_text = ", ".join(
        f"{wkey} ({part}) = {fmt_num(weights[wkey])}" for wkey, part, _ in SAIQ_PARTS.values() if wkey in weights
    )
    meta_rows = [
        ("Sites", str(len(comparison))),
        ("Period", period),
        ("Ranked by", f"{ranked_by} (lower is better)"),
        ("Weights", weights_text or "–"),
        ("Reference", reference or "none: the index is not defined, sites rank by raw SAIQ"),
    ]
    meta_html = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in meta_rows)
    body = [
        f'<header><h1>Site comparison: {esc(name)}</h1><table class="meta">{meta_html}</table></header>',
        _compare_tables(comparison),
        "<h2>What drives each score</h2>",
        _contrib_plot(comparison, ranked_by),
    ]
    if monthly_pue is not None and monthly_pue.shape[1] > 0 and len(monthly_pue) > 0:
        # Lines and legend in rank order, so the legend reads like the ranking table.
        ranked = [s for s in comparison["site"] if s in monthly_pue.columns]
        monthly_pue = monthly_pue[ranked + [s for s in monthly_pue.columns if s not in ranked]]
        body += ["<h2>PUE through the year</h2>", _monthly_pue_plot(monthly_pue)]
    if {"carbon_t", "water_direct_m3"} <= set(comparison.columns):
        body += ["<h2>Carbon and water</h2>", _carbon_water_plot(comparison, period)]
    body.append(sources_footer(meta))
    return html_page(f"twin site comparison: {name}", body)


# ---------------------------------------------------------------- forecast
