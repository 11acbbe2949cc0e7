"""Self-contained HTML reports: one file, no external JS/CSS/fonts, plots as inline SVG.

Each page is a function of its module returning the page as a string (the command writes it atomically):
run_report_html (run.py), compare_report_html (compare.py), forecast_report_html (forecast.py),
calibration_report_html and rack_calibration_html (calibration.py), sweep_report_html (sweep.py).

Figures are built with `matplotlib.figure.Figure` (no pyplot, so no global figure state)
and rendered with matplotlib's SVG backend. Long runs are averaged into coarser bins so
that a year at 15-minute steps stays well under 1.5 MB.
"""

from twin.html_report.calibration import calibration_report_html, rack_calibration_html
from twin.html_report.compare import compare_report_html
from twin.html_report.forecast import forecast_report_html
from twin.html_report.run import run_report_html
from twin.html_report.sweep import sweep_report_html

__all__ = [
    "calibration_report_html",
    "compare_report_html",
    "forecast_report_html",
    "rack_calibration_html",
    "run_report_html",
    "sweep_report_html",
]
