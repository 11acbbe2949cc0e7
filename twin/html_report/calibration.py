"""The calibration pages: measured against simulated GPU power and temperature, and rack power and heat."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

# Above this many points a series is averaged into coarser bins: SVG paths cost ~20 bytes
from twin.html_report.base import MAX_POINTS, esc, figure_block, fmt_num, html_page, html_table, svg_figure


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
    return figure_block(
        svg_figure(fig, f"trace{k}", f"measured and simulated power and temperature, {label}"),
        f"{esc(label)}: GPU board power and die temperature, measured and simulated. The temperature "
        f"is simulated from the trace's first sample, driven by the measured power.",
    )


def calibration_report_html(doc: dict, series: dict) -> str:
    """The `twin calibrate` page: fitted parameters with standard errors, held-out errors, and per trace
    a plot of measured against simulated power and temperature."""
    from twin.calibrate.sensor import LOAD_UTIL
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
                        fmt_num(value),
                        "held" if not err else "undetermined" if err != err else fmt_num(err),
                    ]
                )
    held = [
        [
            r["trace"] + (f" ({', '.join(r['at_bound'])} on the search bound)" if r.get("at_bound") else ""),
            fmt_num(r["power_mape_pct"]),
            "-" if r.get("power_mape_load_pct") is None else fmt_num(r["power_mape_load_pct"]),
            fmt_num(r["temp_rmse_k"]),
            fmt_num(r["temp_max_error_k"]),
            str(r["samples"]),
        ]
        for r in doc["held_out"]
    ]
    body = [
        f"<h1>GPU calibration: {esc(doc['gpu'])}</h1>",
        f"<p>{esc(doc['made_by'])}. Cooling when traced: {esc(doc['cooling'])}.</p>",
        "<h2>Held-out errors</h2>",
        html_table(
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
        html_table(["block", "parameter", "value", "± 1σ"], rows, num_cols=(2, 3)),
        "<h2>Traces</h2>",
    ]
    body += [_trace_plot(label, s, k) for k, (label, s) in enumerate(series.items())]
    body += repairs_section("the traces", repair_lines(doc.get("traces", []), "file"))
    return html_page(f"twin calibration {doc['gpu']}", body)


def repairs_section(what: str, lines: list) -> list:
    """What the reader repaired in reading the input, one item a repair."""
    return [
        f"<h2>Repairs made in reading {esc(what)}</h2>",
        "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>"
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
    return figure_block(
        svg_figure(fig, f"rack{k}", f"measured and modelled rack power, {label}"),
        f"Rack {esc(label)}: PDU power, measured and modelled by the fitted server law"
        + (", and the heat captured, measured and the fitted fraction of PDU power." if len(panels) > 1 else "."),
    )


def rack_calibration_html(fit, report_text: str) -> str:
    """The `twin calibrate --rack` page: the fit report and, per rack, measured against modelled power and heat."""
    body = [
        f"<h1>Rack calibration: {fit.servers_per_rack} × {esc(fit.gpu)} per rack</h1>",
        f"<pre>{esc(report_text)}</pre>",
        "<h2>Racks</h2>",
    ]
    body += [_rack_plot(label, s, k) for k, (label, s) in enumerate(fit.series.items())]
    body += repairs_section("the file", fit.repairs)
    return html_page(f"twin rack calibration {fit.gpu}", body)
