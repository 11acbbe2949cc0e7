"""The forecast page: SAIQ and its drivers per year and storyline."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Above this many points a series is averaged into coarser bins: SVG paths cost ~20 bytes
from twin.html_report.base import esc, figure_block, fmt_num, fmt_sci, html_page, html_table, svg_figure

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
    svg = svg_figure(fig, "forecast", "SAIQ and its components per year and storyline")
    stories = meta.get("storylines", {})
    story_rows = [
        (
            n,
            s["description"],
            fmt_num(s["grid_carbon_change_per_year"])
            + "".join(f"; {k} {fmt_num(v)}" for k, v in s.get("grid_carbon_change_by_region", {}).items()),
            fmt_num(s["warming_k_per_year"]),
            fmt_num(s["efficiency_gain_per_year"]),
            fmt_num(s["demand_growth_per_year"]),
            fmt_num(s["price_elasticity"]),
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
            fmt_num(r[by]),
            fmt_sci(r["usd_per_token"]),
            fmt_sci(r["mwh_per_token"]),
            fmt_sci(r["tco2e_per_token"]),
            fmt_sci(r["m3_per_token"]),
            fmt_num(r["pue"]),
            fmt_num(r["grid_carbon_g_per_kwh"]),
            fmt_num(r["fleet_scale"]),
            fmt_num(r["facility_energy_mwh"]),
            fmt_num(r["carbon_t"]),
        )
        for r in table.to_dict(orient="records")
    ]
    body = [
        f"<header><h1>Forecast: {esc(meta.get('scenario', ''))}</h1>"
        f"<p>{esc(meta.get('period_per_year', ''))}; years {meta['years'][0]}-{meta['years'][1]}.</p></header>",
        "<h2>Storylines</h2>",
        html_table(
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
        figure_block(
            svg,
            "Per-token figures come from one run per year and storyline; energy scales with the fleet, "
            "which grows with demand and with the rebound of cheaper tokens. Sources of every rate: "
            "twin/catalog/forecast.yaml.",
        ),
        html_table(headers, rows, num_cols=tuple(range(1, len(headers)))),
    ]
    return html_page(f"twin forecast: {meta.get('scenario', '')}", body)
