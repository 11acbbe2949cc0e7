"""The sweep page: the variants ranked by SAIQ with their axis values."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

# Above this many points a series is averaged into coarser bins: SVG paths cost ~20 bytes
from twin.html_report.base import esc, figure_block, fmt_num, fmt_sci, html_page, html_table, mpl_text, svg_figure


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
    ax.set_yticks(range(len(shown)), [mpl_text(t) for t in labels], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{key} (lower is better)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    body = [
        f"<h1>Sweep: {esc(meta['sweep'])}</h1>",
        f"<p>{len(table)} variants of {esc(meta['base'])}, ranked by {esc(key)} (lower is better)"
        f"{'; the 40 best shown' if len(table) > 40 else ''}.</p>",
        figure_block(svg_figure(fig, "ranking", "variants ranked by SAIQ"), "Variants ranked by SAIQ."),
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
            ax.set_xticks(range(len(names)), [mpl_text(n) for n in names], rotation=30, ha="right", fontsize=8)
        ax.set_xlabel(mpl_text(axis))
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        body.append(
            figure_block(
                svg_figure(fig, f"axis{k}", f"{key} against {axis}"),
                f"{esc(key)} of every variant against {esc(axis)}; the spread at one value is the other axes.",
            )
        )
    headers = ["rank", *axes, key, "pue", "wue_site_l_per_kwh", "cue_kg_per_kwh", "tokens"]
    rows = [
        [
            str(i + 1),
            *[str(r[f"axis:{a}"]) for a in axes],
            fmt_num(r[key]),
            fmt_num(r["pue"]),
            fmt_num(r["wue_site_l_per_kwh"]),
            fmt_num(r["cue_kg_per_kwh"]),
            fmt_sci(r["tokens"]),
        ]
        for i, (_, r) in enumerate(table.iterrows())
    ]
    body += ["<h2>Variants</h2>", html_table(headers, rows, num_cols=tuple(range(len(axes) + 1, len(headers))))]
    return html_page(f"twin sweep {meta['sweep']}", body)
