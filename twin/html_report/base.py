"""What every HTML page shares: escaping, number formats, inline SVG figures, tables, the page frame, and the
binning that keeps long runs small. Figures are built with `matplotlib.figure.Figure` (no pyplot, so no global
figure state) and rendered with matplotlib's SVG backend."""

from __future__ import annotations

import html
import io
import math
import re

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

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


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def mpl_text(text) -> str:
    """Text for matplotlib: a '$' would start mathtext, so escape it."""
    return str(text).replace("$", r"\$")


def is_finite(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)


def fmt_num(value) -> str:
    """A number for a table: thousands separators for large values, 4 significant digits else."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "–"
    if not is_finite(value):
        return esc(value)
    v = float(value)
    if v == 0.0:
        return "0"
    if abs(v) >= 1e12 or abs(v) < 1e-3:
        return f"{v:.3e}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def fmt_sci(value) -> str:
    if value is None or not is_finite(value):
        return fmt_num(value)
    return f"{float(value):.3e}"


def svg_figure(fig: Figure, name: str, label: str) -> str:
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
    return text.replace("<svg ", f'<svg role="img" aria-label="{esc(label)}" ', 1)


def figure_block(svg: str, caption: str) -> str:
    return f"<figure>\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>"


def html_table(headers, rows, num_cols=(), nowrap_cols=()) -> str:
    """An HTML table; headers and cells are escaped here."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = "num" if i in num_cols else "nowrap" if i in nowrap_cols else ""
            cells.append(f'<td class="{cls}">{esc(cell)}</td>' if cls else f"<td>{esc(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="wide"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody></table></div>"
    )


def html_page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="generator" content="twin">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def bin_rule(index: pd.DatetimeIndex) -> str | None:
    """The finest bin in BIN_CANDIDATES giving at most MAX_POINTS points; None: keep the steps."""
    if len(index) <= MAX_POINTS:
        return None
    span = index[-1] - index[0]
    for rule in BIN_CANDIDATES:
        if span / pd.Timedelta(rule) <= MAX_POINTS:
            return rule
    return BIN_CANDIDATES[-1]


RULE_WORDS = {"15min": "15-minute", "1h": "hourly", "3h": "3-hour", "6h": "6-hour", "1D": "daily", "7D": "weekly"}


# ---------------------------------------------------------------- one run


def prepare_frame(frame: pd.DataFrame) -> pd.DataFrame:
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


def sources_footer(summary: dict, note: str = "") -> str:
    sources = summary.get("site_sources") or {}
    items = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in sources.items())
    listing = f"<p>Data sources:</p><ul>{items}</ul>" if items else ""
    return (
        f"<footer>{listing}<p>Made by twin, a digital twin of AI data centres. "
        f"All times are UTC. {esc(note)}</p></footer>"
    )
