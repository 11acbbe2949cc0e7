"""The hall floor map and the hottest racks over time, from racks.parquet (one row per rack and period)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from twin.html_report.base import date_axis, esc, figure_block, svg_figure

HOTTEST_SHOWN = 5  # racks drawn over time


def _grid(racks: pd.DataFrame, value: str):
    """Per hall: (row names, a rows x positions array of each rack's value, NaN where no rack stands)."""
    ids = racks["rack_id"].astype(str)
    parts = ids.str.rsplit("/", n=2, expand=True)  # hall, row-k, rack-jj
    frame = pd.DataFrame(
        {
            "hall": parts[0],
            "row": parts[1].str.removeprefix("row-").astype(int),
            "pos": parts[2].str.removeprefix("rack-").astype(int),
            "value": racks[value].to_numpy(),
        }
    )
    out = {}
    for hall, part in frame.groupby("hall", sort=False):
        grid = np.full((part["row"].max(), part["pos"].max()), np.nan)
        grid[part["row"] - 1, part["pos"] - 1] = part["value"]
        out[hall] = grid
    return out


def _map(per_rack: pd.DataFrame, value: str, label: str, cmap: str) -> Figure:
    grids = _grid(per_rack, value)
    fig = Figure(figsize=(10, 1.2 + 1.6 * len(grids)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(grids), 1, squeeze=False)[:, 0])
    finite = per_rack[value].to_numpy()
    lo, hi = float(np.nanmin(finite)), float(np.nanmax(finite))
    for ax, (hall, grid) in zip(axes, grids.items()):
        mesh = ax.pcolormesh(
            np.arange(grid.shape[1] + 1) + 0.5,
            np.arange(grid.shape[0] + 1) + 0.5,
            np.ma.masked_invalid(grid),
            cmap=cmap,
            vmin=lo,
            vmax=hi if hi > lo else lo + 1.0,
            edgecolors="white",
            linewidth=0.3,
        )
        ax.set_title(hall, fontsize=9, loc="left")
        ax.set_ylabel("row")
        ax.invert_yaxis()
        ax.set_yticks(range(1, grid.shape[0] + 1))
        ax.set_aspect("auto")
    axes[-1].set_xlabel("rack position along the row")
    fig.colorbar(mesh, ax=list(axes), label=label, shrink=0.9)
    return fig


def floor_section(racks: pd.DataFrame | None) -> str:
    """The floor maps (peak inlet, peak power per rack) and the hottest racks' die temperature over time."""
    if racks is None or len(racks) == 0:
        return "<h2>Racks</h2><p>No per-rack series was kept (results: {rack_series: none}).</p>"
    per_rack = racks.groupby("rack_id", observed=True, sort=False).agg(
        inlet_temp_c=("inlet_temp_c", "max"), it_power_w=("it_power_w", "max"), die=("gpu_die_temp_c", "max")
    )
    per_rack = per_rack.reset_index()
    per_rack["it_power_kw"] = per_rack["it_power_w"] / 1e3
    inlet = _map(per_rack, "inlet_temp_c", "peak inlet (°C)", "inferno")
    power = _map(per_rack, "it_power_kw", "peak IT power (kW)", "viridis")
    hottest = per_rack.nlargest(HOTTEST_SHOWN, "die")["rack_id"].astype(str).tolist()
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.subplots()
    for rack in hottest:
        series = racks[racks["rack_id"].astype(str) == rack]
        ax.plot(series["period_start_utc"], series["gpu_die_temp_c"], linewidth=1, label=rack)
    ax.set_ylabel("GPU die (°C)")
    ax.set_xlabel("time (UTC)")
    ax.grid(alpha=0.3)
    date_axis(ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=3, frameon=False, fontsize=8)
    return "\n".join(
        [
            "<h2>Racks</h2>",
            figure_block(
                svg_figure(inlet, "floor-inlet", "Hall floor map: each rack's peak inlet temperature"),
                "<b>Floor map, peak inlet</b>: one rectangle per rack, rows top to bottom, racks along each row "
                "in order. A row whose cooling units failed, or dense racks breathing their own exhaust, "
                "show as hot cells.",
            ),
            figure_block(
                svg_figure(power, "floor-power", "Hall floor map: each rack's peak IT power"),
                "<b>Floor map, peak IT power</b> of each rack over the run: where the power density is.",
            ),
            figure_block(
                svg_figure(fig, "hottest-racks", "The hottest racks' GPU die temperature over time"),
                f"<b>The {len(hottest)} hottest racks</b> (by peak die temperature): their mean GPU die "
                f"temperature per period. {esc(', '.join(hottest))}.",
            ),
        ]
    )
