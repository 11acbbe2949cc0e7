"""Self-contained HTML reports: one file, no external JS/CSS/fonts, plots as inline SVG.

`run_report_html` reports one run (the frame written to timeseries.parquet and its
summary.json document); `compare_report_html` reports a site comparison. Both return the
page as a string; twin.report writes them into a results folder atomically.

Figures are built with `matplotlib.figure.Figure` (no pyplot, so no global figure state)
and rendered with matplotlib's SVG backend. Long runs are averaged into coarser bins so
that a year at 15-minute steps stays well under 1.5 MB.
"""

from __future__ import annotations

import calendar
import html
import io
import math
import re

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Above this many points a series is averaged into coarser bins: SVG paths cost ~20 bytes
# a vertex; at most ~800 bins keep the plot readable (a week of hourly, a year of daily means).
MAX_POINTS = 800
BIN_CANDIDATES = ["15min", "1h", "3h", "6h", "1D", "7D"]
# Above this many hourly points individual dots (~100 bytes each in SVG) give way to a hexbin.
MAX_SCATTER_POINTS = 2500
# Beyond this many days the daily series are drawn as filled staircases rather than bars.
MAX_DAILY_BARS = 92

POWER_COLUMNS = {  # column -> (label, colour)
    "it_power_w": ("IT", "#4e79a7"),
    "cooling_power_w": ("cooling", "#59a14f"),
    "power_chain_loss_w": ("power chain losses", "#f28e2b"),
    "other_power_w": ("other", "#bab0ac"),
}
RUN_COLUMNS = ["timestamp", *POWER_COLUMNS, "outdoor_wetbulb_c", "water_direct_m3", "water_indirect_m3", "carbon_kg"]

# SAIQ component key -> (weight key, short name, colour); the weight order is metrics.saiq's.
SAIQ_PARTS = {
    "usd_per_token": ("w1", "cost", "#4e79a7"),
    "mwh_per_token": ("w2", "energy", "#f28e2b"),
    "tco2e_per_token": ("w3", "carbon", "#76717a"),
    "m3_per_token": ("w4", "water", "#59a1cf"),
}
CONTRIB_COLUMNS = dict(zip(["contrib_usd", "contrib_energy", "contrib_carbon", "contrib_water"], SAIQ_PARTS.values()))

TOTALS = {  # summary["totals"] key -> (label, unit)
    "facility_energy_mwh": ("Facility energy", "MWh"),
    "it_energy_mwh": ("IT energy", "MWh"),
    "cooling_energy_mwh": ("Cooling energy", "MWh"),
    "water_direct_m3": ("Direct (site) water", "m³"),
    "water_indirect_m3": ("Indirect (grid) water", "m³"),
    "carbon_t": ("Carbon, location-based", "t CO2e"),
    "cost_usd": ("Cost", "USD"),
    "tokens": ("Tokens served", "tokens"),
}

# Comparison columns in three tables -> (header, unit, format): "sci" for per-token values.
COMPARE_TABLES = {
    "Ranking": {
        "rank": ("Rank", "", "int"),
        "site": ("Site", "", "text"),
        "title": ("Title", "", "text"),
        "saiq_index": ("SAIQ index", "–", "num"),
        "saiq_raw": ("SAIQ raw", "user units", "sci"),
        "contrib_usd": ("Cost contrib.", "–", "num"),
        "contrib_energy": ("Energy contrib.", "–", "num"),
        "contrib_carbon": ("Carbon contrib.", "–", "num"),
        "contrib_water": ("Water contrib.", "–", "num"),
    },
    "SAIQ components and KPIs": {
        "site": ("Site", "", "text"),
        "usd_per_token": ("Cost", "USD/token", "sci"),
        "mwh_per_token": ("Energy", "MWh/token", "sci"),
        "tco2e_per_token": ("Carbon", "tCO2e/token", "sci"),
        "m3_per_token": ("Water", "m³/token", "sci"),
        "pue": ("PUE", "–", "num"),
        "wue_site_l_per_kwh": ("WUE site", "L/kWh IT", "num"),
        "wue_source_l_per_kwh": ("WUE source", "L/kWh IT", "num"),
        "cue_kg_per_kwh": ("CUE", "kg CO2e/kWh IT", "num"),
    },
    "Totals over the period": {
        "site": ("Site", "", "text"),
        "facility_energy_mwh": ("Facility energy", "MWh", "num"),
        "cooling_energy_mwh": ("Cooling energy", "MWh", "num"),
        "water_direct_m3": ("Direct water", "m³", "num"),
        "water_indirect_m3": ("Indirect water", "m³", "num"),
        "carbon_t": ("Carbon", "t CO2e", "num"),
        "cost_usd": ("Cost", "USD", "num"),
        "tokens": ("Tokens", "", "sci"),
    },
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #222; background: #fff; max-width: 1100px; margin: 1.5em auto; padding: 0 1em;
       line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
.meta td, .meta th { border: none; padding: 0.1em 0.8em 0.1em 0; background: none; }
.wide { overflow-x: auto; }
figure { margin: 1em 0; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
.note { color: #555; font-style: italic; }
footer { margin-top: 2em; border-top: 1px solid #ccc; font-size: 0.85em; color: #555; }
@media print { body { max-width: none; margin: 0; } .wide { overflow: visible; } }
"""


# ---------------------------------------------------------------- helpers


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _mpl(text) -> str:
    """Text for matplotlib: a '$' would start mathtext, so escape it."""
    return str(text).replace("$", r"\$")


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)


def _num(value) -> str:
    """A number for a table: thousands separators for large values, 4 significant digits else."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "–"
    if not _finite(value):
        return _e(value)
    v = float(value)
    if v == 0.0:
        return "0"
    if abs(v) >= 1e12 or abs(v) < 1e-3:
        return f"{v:.3e}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _sci(value) -> str:
    if value is None or not _finite(value):
        return _num(value)
    return f"{float(value):.3e}"


def _svg(fig: Figure, name: str, label: str) -> str:
    """The figure as an inline <svg> element.

    svg.fonttype 'none' keeps text as <text> (smaller, selectable, drawn in the page's fonts);
    a fixed hash salt makes the ids of clip paths and markers deterministic (same run, same
    bytes). rc_context touches global rcParams: threads all set the same values, so the worst a
    race can do is embed one figure's glyphs as paths.
    """
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "twin"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE (with its DTD URL)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, count=1, flags=re.DOTALL)
    # matplotlib numbers its group ids per figure (figure_1, axes_1...): prefix every id and
    # every reference to one, so the figures of one page never share an id.
    text = re.sub(r'(\sid="|url\(#|href="#)', rf"\1{name}-", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{_e(label)}" ', 1)


def _figure(svg: str, caption: str) -> str:
    return f"<figure>\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>"


def _table(headers, rows, num_cols=(), nowrap_cols=()) -> str:
    """An HTML table; headers and cells are escaped here."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = "num" if i in num_cols else "nowrap" if i in nowrap_cols else ""
            cells.append(f'<td class="{cls}">{_e(cell)}</td>' if cls else f"<td>{_e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="wide"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody></table></div>"
    )


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="generator" content="twin">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _bin_rule(index: pd.DatetimeIndex) -> str | None:
    """The finest bin in BIN_CANDIDATES giving at most MAX_POINTS points; None: keep the steps."""
    if len(index) <= MAX_POINTS:
        return None
    span = index[-1] - index[0]
    for rule in BIN_CANDIDATES:
        if span / pd.Timedelta(rule) <= MAX_POINTS:
            return rule
    return BIN_CANDIDATES[-1]


_RULE_WORDS = {"15min": "15-minute", "1h": "hourly", "3h": "3-hour", "6h": "6-hour", "1D": "daily", "7D": "weekly"}


# ---------------------------------------------------------------- one run


def _prepare_frame(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in RUN_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"run_report_html: the frame lacks columns {missing}; it must be a run's timeseries.parquet")
    if len(frame) == 0:
        raise ValueError("run_report_html: the frame has no rows")
    ts = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_localize(None)  # plotted as UTC
    data = frame.drop(columns="timestamp").set_index(pd.DatetimeIndex(ts, name="timestamp_utc"))
    if "facility_power_w" not in data:
        data["facility_power_w"] = data[list(POWER_COLUMNS)].sum(axis=1)
    return data.sort_index()


def _power_plot(data: pd.DataFrame) -> str:
    rule = _bin_rule(data.index)
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
    _date_axis(ax)
    # Legend below the plot so it never hides the top of the stack.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=4, frameon=False)
    binning = f"{_RULE_WORDS.get(rule, rule)} means of the steps" if rule else "every simulated step"
    caption = (
        f"<b>Facility power by use</b> ({_e(binning)}). The top of the stack is the power at "
        "the utility meter; the blue band is the IT load (servers at the wall), the rest is "
        "overhead. A cooling band that swells on hot afternoons usually means the economiser "
        "has handed over to chillers; PUE is the top of the stack divided by the blue band."
    )
    return _figure(_svg(fig, "power", "Facility power stacked by IT, cooling, power chain and other"), caption)


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
        f"<b>PUE against outdoor wet-bulb</b> ({_e(how)}). Cooling towers, evaporative "
        "pads and water-side economisers are limited by the wet-bulb temperature (dry coolers "
        "by the dry-bulb): a flat cloud means free cooling covers the whole range; a rise to "
        "the right shows where chillers take over. "
        "Spread at one wet-bulb comes from IT load changes and plant staging."
    )
    return _figure(_svg(fig, "pue", "PUE against outdoor wet-bulb temperature"), caption)


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
    _date_axis(ax_c)
    caption = (
        "<b>Daily water and carbon.</b> Top: water consumed per UTC day, on site (cooling-tower "
        "make-up and evaporative pads) and at the power plants that made the electricity. "
        "Bottom: location-based CO2e of the energy used. Site water follows heat and weather; "
        "indirect water and carbon follow energy and the grid's hourly mix. The first and "
        "last days may be partial."
    )
    return _figure(_svg(fig, "daily", "Daily water use and daily carbon"), caption)


def _saiq_section(saiq: dict) -> str:
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
        if _finite(c) and _finite(w) and _finite(ref) and ref != 0:
            share = w * c / ref
            contrib[key] = share
        rows.append([name, _sci(c), units.get(key, ""), f"{wkey} = {_num(w)}", _sci(ref), _num(share)])
    out = [
        "<h2>SAIQ: what a token costs</h2>",
        _table(
            ["component", "per token", "unit", "weight", "reference per token", "weighted contribution w·c/ref"],
            rows,
            num_cols=(1, 4, 5),
        ),
        (
            f"<p>SAIQ raw (Σ w·c, in the weights' units) = {_e(_sci(saiq.get('raw')))}; "
            f"SAIQ index (Σ w·c/ref) = {_e(_num(saiq.get('index')))}. Lower is better.</p>"
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
    out.append(_figure(_svg(fig, "saiq", "SAIQ index contributions by component"), caption))
    return "\n".join(out)


def _kpi_section(summary: dict) -> str:
    kpi = summary.get("kpi") or {}
    defs = summary.get("kpi_definitions") or {}
    rows = []
    for key, value in kpi.items():
        d = defs.get(key) or {}
        rows.append([key, _num(value), d.get("unit", ""), d.get("definition", ""), d.get("source", "")])
    totals = summary.get("totals") or {}
    trows = [[label, _num(totals[k]), unit] for k, (label, unit) in TOTALS.items() if k in totals]
    return "\n".join(
        [
            "<h2>Key figures</h2>",
            _table(["total", "value", "unit"], trows, num_cols=(1,)),
            _table(["KPI", "value", "unit", "definition", "source"], rows, num_cols=(1,)),
        ]
    )


def _period(data: pd.DataFrame, summary: dict) -> str:
    start = data.index[0]
    step = data.index[1] - data.index[0] if len(data) > 1 else pd.Timedelta(0)
    end = data.index[-1] + step
    text = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    return f"{text} ({summary['duration']})" if summary.get("duration") else text


def _sources_footer(summary: dict, note: str = "") -> str:
    sources = summary.get("site_sources") or {}
    items = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in sources.items())
    listing = f"<p>Data sources:</p><ul>{items}</ul>" if items else ""
    return (
        f"<footer>{listing}<p>Made by twin, a digital twin of AI data centres. "
        f"All times are UTC. {_e(note)}</p></footer>"
    )


def run_report_html(frame: pd.DataFrame, summary: dict) -> str:
    """The HTML report of one run.

    frame: the per-step frame of timeseries.parquet (UTC `timestamp`, powers in W, water in m3,
    carbon in kg per step); summary: the summary.json document of the same run.
    Returns the page as a string (self-contained, plots as inline SVG).
    """
    data = _prepare_frame(frame)
    name = summary.get("scenario", "run")
    meta_rows = [
        ("Site", summary.get("site", "–")),
        ("Period", _period(data, summary)),
        ("Step", summary.get("step", "–")),
        ("Seed", summary.get("seed", "–")),
    ]
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in meta_rows)
    body = [
        f'<header><h1>Scenario {_e(name)}</h1><table class="meta">{meta}</table></header>',
        _kpi_section(summary),
        "<h2>Power</h2>",
        _power_plot(data),
        _pue_plot(data),
        "<h2>Water and carbon</h2>",
        _daily_plot(data),
        _saiq_section(summary.get("saiq") or {}),
        _sources_footer(summary, "KPI sources are given in the KPI table."),
    ]
    return _page(f"twin report: {name}", body)


# ---------------------------------------------------------------- site comparison


def _site_colours(n: int):
    """Distinct colours for n lines: tab10/tab20 while they last, then an even spread of turbo."""
    if n <= 10:
        return [matplotlib.colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [matplotlib.colormaps["tab20"](i) for i in range(n)]
    return [matplotlib.colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]


def _contrib_plot(comparison: pd.DataFrame, ranked_by: str) -> str:
    sites = [_mpl(s) for s in comparison["site"]]
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
        f"<b>SAIQ by component, best site on top.</b> The bar length is {_e(what)}; the "
        "coloured parts show whether cost, energy, carbon or water drives a site's score. "
        "Shorter is better."
    )
    return _figure(_svg(fig, "contrib", "SAIQ contributions per site"), caption)


def _monthly_pue_plot(monthly_pue: pd.DataFrame) -> str:
    n = monthly_pue.shape[1]
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()
    months = [int(m) for m in monthly_pue.index]
    markers = "osD^v<>ph*"
    for i, (site, colour) in enumerate(zip(monthly_pue.columns, _site_colours(n))):
        # Markers cycle at a different period than colours so neighbours in a colormap differ.
        ax.plot(
            months,
            monthly_pue[site].to_numpy(dtype=float),
            color=colour,
            lw=1.6,
            marker=markers[i % len(markers)],
            ms=4,
            label=_mpl(site),
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
    return _figure(_svg(fig, "monthly-pue", "Monthly PUE per site"), caption)


def _carbon_water_plot(comparison: pd.DataFrame, period: str) -> str:
    sites = [_mpl(s) for s in comparison["site"]]
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
        f"<b>Carbon and site water per site</b> over {_e(period)}, in rank order. Carbon "
        "follows energy and the grid mix; site water follows the heat rejected by "
        "evaporation (zero for dry heat rejection)."
    )
    return _figure(_svg(fig, "carbon-water", "Carbon and direct water per site"), caption)


def _compare_tables(comparison: pd.DataFrame) -> str:
    out = []
    known = {c for cols in COMPARE_TABLES.values() for c in cols}
    extra = {c: (c, "", "num") for c in comparison.columns if c not in known}
    for heading, cols in COMPARE_TABLES.items():
        if heading.startswith("Totals"):
            cols = {**cols, **extra}  # unexpected columns still show, under their own name
        present = [c for c in cols if c in comparison.columns]
        headers = [f"{cols[c][0]} ({cols[c][1]})" if cols[c][1] else cols[c][0] for c in present]
        fmt = {"sci": _sci, "num": _num, "int": lambda v: _num(int(v)) if _finite(v) else _num(v), "text": str}
        rows = [[fmt[cols[c][2]](row[c]) for c in present] for _, row in comparison.iterrows()]
        num_cols = tuple(i for i, c in enumerate(present) if cols[c][2] != "text")
        nowrap = tuple(i for i, c in enumerate(present) if c == "site")  # site ids break at hyphens
        out += [f"<h2>{_e(heading)}</h2>", _table(headers, rows, num_cols=num_cols, nowrap_cols=nowrap)]
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
        f"{wkey} ({part}) = {_num(weights[wkey])}" for wkey, part, _ in SAIQ_PARTS.values() if wkey in weights
    )
    meta_rows = [
        ("Sites", str(len(comparison))),
        ("Period", period),
        ("Ranked by", f"{ranked_by} (lower is better)"),
        ("Weights", weights_text or "–"),
        ("Reference", reference or "none: the index is not defined, sites rank by raw SAIQ"),
    ]
    meta_html = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in meta_rows)
    body = [
        f'<header><h1>Site comparison: {_e(name)}</h1><table class="meta">{meta_html}</table></header>',
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
    body.append(_sources_footer(meta))
    return _page(f"twin site comparison: {name}", body)


# ---------------------------------------------------------------- forecast

FORECAST_PANELS = [
    ("saiq", "SAIQ"),
    ("usd_per_token", "USD/token"),
    ("mwh_per_token", "MWh/token"),
    ("tco2e_per_token", "tCO2e/token"),
    ("m3_per_token", "m3/token"),
    ("facility_energy_mwh", "energy (MWh)"),
]


def forecast_report_html(table: pd.DataFrame, meta: dict) -> str:
    """The HTML report of a forecast: SAIQ, its four components and the fleet's energy per year,
    one line per storyline, and the table behind them."""
    by = "saiq_index" if table["saiq_index"].notna().all() else "saiq_raw"
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, (column, label) in zip(axes, FORECAST_PANELS):
        for name, rows in table.groupby("storyline", sort=False):
            ax.plot(rows["year"], rows[by if column == "saiq" else column], marker="o", ms=3, label=name)
        ax.set_title(("SAIQ index" if by == "saiq_index" else "SAIQ raw") if column == "saiq" else label, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    svg = _svg(fig, "forecast", "SAIQ and its components per year and storyline")
    stories = meta.get("storylines", {})
    story_rows = [
        (
            n,
            s["description"],
            _num(s["grid_carbon_change_per_year"])
            + "".join(f"; {k} {_num(v)}" for k, v in s.get("grid_carbon_change_by_region", {}).items()),
            _num(s["warming_k_per_year"]),
            _num(s["efficiency_gain_per_year"]),
            _num(s["demand_growth_per_year"]),
            _num(s["price_elasticity"]),
        )
        for n, s in stories.items()
    ]
    headers = [
        "storyline",
        "year",
        "SAIQ",
        "USD/token",
        "MWh/token",
        "tCO2e/token",
        "m3/token",
        "PUE",
        "grid gCO2/kWh",
        "fleet x",
        "energy MWh",
        "carbon t",
    ]
    rows = [
        (
            r["storyline"],
            r["year"],
            _num(r[by]),
            _sci(r["usd_per_token"]),
            _sci(r["mwh_per_token"]),
            _sci(r["tco2e_per_token"]),
            _sci(r["m3_per_token"]),
            _num(r["pue"]),
            _num(r["grid_carbon_g_per_kwh"]),
            _num(r["fleet_scale"]),
            _num(r["facility_energy_mwh"]),
            _num(r["carbon_t"]),
        )
        for r in table.to_dict(orient="records")
    ]
    body = [
        f"<header><h1>Forecast: {_e(meta.get('scenario', ''))}</h1>"
        f"<p>{_e(meta.get('period_per_year', ''))}; years {meta['years'][0]}-{meta['years'][1]}.</p></header>",
        "<h2>Storylines</h2>",
        _table(
            [
                "storyline",
                "description",
                "grid carbon /yr",
                "warming K/yr",
                "efficiency /yr",
                "demand /yr",
                "price elasticity",
            ],
            story_rows,
            num_cols=(2, 3, 4, 5, 6),
        ),
        "<h2>SAIQ per year</h2>",
        _figure(
            svg,
            "Per-token figures come from one run per year and storyline; energy scales with the fleet, "
            "which grows with demand and with the rebound of cheaper tokens. Sources of every rate: "
            "twin/catalog/forecast.yaml.",
        ),
        _table(headers, rows, num_cols=tuple(range(1, len(headers)))),
    ]
    return _page(f"twin forecast: {meta.get('scenario', '')}", body)


def _trace_plot(label: str, s: dict, k: int) -> str:
    """Measured vs simulated power and die temperature through one trace; the fit part shaded."""
    step = max(1, s["t_s"].shape[0] // MAX_POINTS)
    t = s["t_s"][::step]
    fig = Figure(figsize=(9.0, 4.6))
    power_ax, temp_ax = fig.subplots(2, 1, sharex=True)
    for ax, measured, model, unit in (
        (power_ax, "power_w", "model_power_w", "W"),
        (temp_ax, "temp_c", "model_temp_c", "°C"),
    ):
        ax.axvspan(t[0], s["fit_until_s"], color="#eeeeee", lw=0)
        ax.plot(t, s[measured][::step], color="#4e79a7", lw=1.0, label="measured")
        ax.plot(t, s[model][::step], color="#e15759", lw=1.0, ls="--", label="twin (calibrated)")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    power_ax.legend(loc="upper right", fontsize=8, frameon=False)
    temp_ax.set_xlabel("seconds from the trace's start (grey: the part fitted)")
    fig.tight_layout()
    return _figure(
        _svg(fig, f"trace{k}", f"measured and simulated power and temperature, {label}"),
        f"{_e(label)}: GPU board power and die temperature, measured and simulated. The temperature "
        f"is simulated from the trace's first sample, driven by the measured power.",
    )


def calibration_report_html(doc: dict, series: dict) -> str:
    """The `twin calibrate` page: fitted parameters with standard errors, held-out errors, and per trace
    a plot of measured against simulated power and temperature."""
    from twin.calibrate.fit import LOAD_UTIL
    from twin.calibrate.session import repair_lines

    rows = []
    for block in ("power", "thermal"):
        bound = doc[block].get("at_bound", [])
        for name, value in doc[block].items():
            if name not in ("stderr", "at_bound"):
                err = doc[block]["stderr"].get(name)
                rows.append(
                    [
                        block,
                        name + (" (on its search bound)" if name in bound else ""),
                        _num(value),
                        "held" if not err else "undetermined" if err != err else _num(err),
                    ]
                )
    held = [
        [
            r["trace"] + (f" ({', '.join(r['at_bound'])} on the search bound)" if r.get("at_bound") else ""),
            _num(r["power_mape_pct"]),
            "-" if r.get("power_mape_load_pct") is None else _num(r["power_mape_load_pct"]),
            _num(r["temp_rmse_k"]),
            _num(r["temp_max_error_k"]),
            str(r["samples"]),
        ]
        for r in doc["held_out"]
    ]
    body = [
        f"<h1>GPU calibration: {_e(doc['gpu'])}</h1>",
        f"<p>{_e(doc['made_by'])}. Cooling when traced: {_e(doc['cooling'])}.</p>",
        "<h2>Held-out errors</h2>",
        _table(
            [
                "trace",
                "power MAPE %",
                f"at load (util ≥ {LOAD_UTIL:.0%})",
                "temperature RMSE K",
                "max error K",
                "samples",
            ],
            held,
            num_cols=(1, 2, 3, 4, 5),
        ),
        "<h2>Fitted parameters</h2>",
        _table(["block", "parameter", "value", "± 1σ"], rows, num_cols=(2, 3)),
        "<h2>Traces</h2>",
    ]
    body += [_trace_plot(label, s, k) for k, (label, s) in enumerate(series.items())]
    body += _repairs_section("the traces", repair_lines(doc.get("traces", []), "file"))
    return _page(f"twin calibration {doc['gpu']}", body)


def _repairs_section(what: str, lines: list) -> list:
    """What the reader repaired in reading the input, one item a repair."""
    return [
        f"<h2>Repairs made in reading {_e(what)}</h2>",
        "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"
        if lines
        else "<p>None: every line was read as written.</p>",
    ]


def _rack_plot(label: str, s: dict, k: int) -> str:
    """Measured vs modelled rack PDU power and captured heat through one rack's rows; the fit part shaded."""
    panels = [("pdu_power_w", "model_pdu_power_w", "PDU kW")] + (
        [("heat_w", "model_heat_w", "heat kW")] if s["heat_w"] is not None else []
    )
    fig = Figure(figsize=(9.0, 2.3 * len(panels) + 0.4))
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True))
    step = max(1, s["t_s"].shape[0] // MAX_POINTS)
    t = s["t_s"][::step] / 3600.0
    for ax, (measured, model, unit) in zip(axes, panels):
        ax.axvspan(t[0], s["fit_until_s"] / 3600.0, color="#eeeeee", lw=0)
        ax.plot(t, s[measured][::step] / 1e3, color="#4e79a7", lw=1.0, label="measured")
        ax.plot(t, s[model][::step] / 1e3, color="#e15759", lw=1.0, ls="--", label="twin (calibrated)")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8, frameon=False)
    axes[-1].set_xlabel("hours from the rack's first line (grey: the part fitted)")
    fig.tight_layout()
    return _figure(
        _svg(fig, f"rack{k}", f"measured and modelled rack power, {label}"),
        f"Rack {_e(label)}: PDU power, measured and modelled by the fitted server law"
        + (", and the heat captured, measured and the fitted fraction of PDU power." if len(panels) > 1 else "."),
    )


def rack_calibration_html(fit, report_text: str) -> str:
    """The `twin calibrate --rack` page: the fit report and, per rack, measured against modelled power and heat."""
    body = [
        f"<h1>Rack calibration: {fit.servers_per_rack} × {_e(fit.gpu)} per rack</h1>",
        f"<pre>{_e(report_text)}</pre>",
        "<h2>Racks</h2>",
    ]
    body += [_rack_plot(label, s, k) for k, (label, s) in enumerate(fit.series.items())]
    body += _repairs_section("the file", fit.repairs)
    return _page(f"twin rack calibration {fit.gpu}", body)


def _variant_label(row, axes):
    return ", ".join(f"{a}={row[f'axis:{a}']}" for a in axes)


def sweep_report_html(table: pd.DataFrame, key: str, meta: dict) -> str:
    """The `twin sweep` page: variants ranked by SAIQ, the score against each axis, and the table."""
    axes = list(meta["axes"])
    shown = table.head(40)
    fig = Figure(figsize=(9.0, 0.25 * len(shown) + 1.2))
    ax = fig.subplots()
    labels = [_variant_label(r, axes) for _, r in shown.iterrows()]
    ax.barh(range(len(shown)), shown[key], color="#4e79a7")
    ax.set_yticks(range(len(shown)), [_mpl(t) for t in labels], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{key} (lower is better)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    body = [
        f"<h1>Sweep: {_e(meta['sweep'])}</h1>",
        f"<p>{len(table)} variants of {_e(meta['base'])}, ranked by {_e(key)} (lower is better)"
        f"{'; the 40 best shown' if len(table) > 40 else ''}.</p>",
        _figure(_svg(fig, "ranking", "variants ranked by SAIQ"), "Variants ranked by SAIQ."),
    ]
    for k, axis in enumerate(axes):
        column = f"axis:{axis}"
        fig = Figure(figsize=(6.0, 3.2))
        ax = fig.subplots()
        values = table[column]
        if pd.api.types.is_numeric_dtype(values):
            ax.scatter(values, table[key], s=14, color="#e15759")
        else:
            names = sorted(values.astype(str).unique())
            ax.scatter([names.index(str(v)) for v in values], table[key], s=14, color="#e15759")
            ax.set_xticks(range(len(names)), [_mpl(n) for n in names], rotation=30, ha="right", fontsize=8)
        ax.set_xlabel(_mpl(axis))
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        body.append(
            _figure(
                _svg(fig, f"axis{k}", f"{key} against {axis}"),
                f"{_e(key)} of every variant against {_e(axis)}; the spread at one value is the other axes.",
            )
        )
    headers = ["rank", *axes, key, "pue", "wue_site_l_per_kwh", "cue_kg_per_kwh", "tokens"]
    rows = [
        [
            str(i + 1),
            *[str(r[f"axis:{a}"]) for a in axes],
            _num(r[key]),
            _num(r["pue"]),
            _num(r["wue_site_l_per_kwh"]),
            _num(r["cue_kg_per_kwh"]),
            _sci(r["tokens"]),
        ]
        for i, (_, r) in enumerate(table.iterrows())
    ]
    body += ["<h2>Variants</h2>", _table(headers, rows, num_cols=tuple(range(len(axes) + 1, len(headers))))]
    return _page(f"twin sweep {meta['sweep']}", body)
