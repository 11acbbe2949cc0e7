"""The HTML reports are valid, self-contained pages with every required plot."""

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from twin.html_report import compare_report_html, run_report_html

SAIQ_KEYS = ["usd_per_token", "mwh_per_token", "tco2e_per_token", "m3_per_token"]


def run_frame(days=3, step="15min"):
    """A synthetic run frame: a daily cycle of IT load and wet-bulb, PUE rising with wet-bulb."""
    ts = pd.date_range("2023-07-01", periods=int(pd.Timedelta(f"{days}D") / pd.Timedelta(step)), freq=step, tz="UTC")
    hours = np.arange(len(ts)) * pd.Timedelta(step) / pd.Timedelta("1h")
    day = np.sin(2 * np.pi * (hours - 9) / 24)
    it = 1e6 * (0.7 + 0.2 * day)
    wetbulb = 18 + 6 * day
    cooling = it * (0.05 + 0.01 * np.clip(wetbulb - 15, 0, None))
    chain = 0.05 * it
    other = np.full(len(ts), 1e4)
    step_h = pd.Timedelta(step) / pd.Timedelta("1h")
    facility = it + cooling + chain + other
    return pd.DataFrame(
        {
            "timestamp": ts,
            "it_power_w": it,
            "cooling_power_w": cooling,
            "power_chain_loss_w": chain,
            "other_power_w": other,
            "facility_power_w": facility,
            "outdoor_wetbulb_c": wetbulb,
            "water_direct_m3": 1.8e-6 * it * step_h,  # 1.8 L/kWh of IT energy
            "water_indirect_m3": 2e-6 * facility * step_h,
            "carbon_kg": 4e-4 * facility * step_h,
            "tokens": 1e7 * it / 1e6 * step_h,
        }
    )


def summary(reference=True):
    components = dict(zip(SAIQ_KEYS, [3e-7, 2.2e-10, 7.2e-11, 7.3e-10]))
    ref = dict(zip(SAIQ_KEYS, [3.1e-7, 2.4e-10, 8e-11, 8e-10])) if reference else None
    weights = {"w1": 1.0, "w2": 1.0, "w3": 1.0, "w4": 1.0}
    index = sum(components[k] / ref[k] for k in SAIQ_KEYS) if reference else None
    return {
        "scenario": "test <run>",
        "seed": 1,
        "start": "2023-07-01",
        "duration": "3d",
        "step": "15min",
        "site": "ashburn-va",
        "totals": {
            "facility_energy_mwh": 60.0,
            "it_energy_mwh": 50.0,
            "cooling_energy_mwh": 5.0,
            "water_direct_m3": 90.0,
            "water_indirect_m3": 100.0,
            "carbon_t": 20.0,
            "cost_usd": 8e4,
            "tokens": 2.7e11,
        },
        "kpi": {"pue": 1.2, "wue_site_l_per_kwh": 1.8},
        "kpi_definitions": {
            "pue": {"unit": "-", "definition": "facility / IT energy", "source": "ISO/IEC 30134-2:2016"}
        },
        "saiq": {
            "raw": sum(components.values()),
            "index": index,
            "weights": weights,
            "components": components,
            "reference": ref,
            "units": dict(zip(SAIQ_KEYS, ["USD/token", "MWh/token", "tCO2e/token", "m3/token"])),
        },
        "site_sources": {"weather": "TMY <test> & co"},
    }


SITES = ["phoenix-az", "dublin-ie", "ashburn-va", "lulea-se", "singapore-sg"]


def comparison(with_reference=True):
    rng = np.random.default_rng(0)
    n = len(SITES)
    contrib = rng.uniform(0.7, 1.2, size=(n, 4))
    rows = pd.DataFrame(
        {
            "site": SITES,
            "title": [f"Site <b>{s}</b>" for s in SITES],
            "contrib_usd": contrib[:, 0],
            "contrib_energy": contrib[:, 1],
            "contrib_carbon": contrib[:, 2],
            "contrib_water": contrib[:, 3],
            "saiq_raw": rng.uniform(2e-7, 4e-7, n),
            "usd_per_token": rng.uniform(2e-7, 4e-7, n),
            "mwh_per_token": rng.uniform(2e-10, 3e-10, n),
            "tco2e_per_token": rng.uniform(1e-11, 1e-10, n),
            "m3_per_token": rng.uniform(1e-10, 1e-9, n),
            "pue": rng.uniform(1.05, 1.4, n),
            "wue_site_l_per_kwh": rng.uniform(0, 2, n),
            "wue_source_l_per_kwh": rng.uniform(1, 5, n),
            "cue_kg_per_kwh": rng.uniform(0.02, 0.6, n),
            "facility_energy_mwh": rng.uniform(6000, 9000, n),
            "cooling_energy_mwh": rng.uniform(300, 1500, n),
            "water_direct_m3": rng.uniform(0, 2e4, n),
            "water_indirect_m3": rng.uniform(1e3, 3e4, n),
            "carbon_t": rng.uniform(100, 4000, n),
            "cost_usd": rng.uniform(5e6, 9e6, n),
            "tokens": rng.uniform(2e13, 3e13, n),
        }
    )
    rows["saiq_index"] = contrib.sum(axis=1) if with_reference else np.nan
    if not with_reference:  # without a reference the contributions are w_i c_i and sum to raw SAIQ
        rows["saiq_raw"] = contrib.sum(axis=1)
    rows = rows.sort_values("saiq_index" if with_reference else "saiq_raw").reset_index(drop=True)
    rows.insert(0, "rank", np.arange(1, n + 1))
    months = range(1, 13)
    monthly = pd.DataFrame(
        {s: 1.1 + 0.1 * np.sin(np.array(months) / 2 + i) for i, s in enumerate(SITES)},
        index=pd.Index(months, name="month"),
    )
    meta = {
        "scenario": "compare <sites>",
        "weights": {"w1": 1.0, "w2": 1.0, "w3": 1.0, "w4": 1.0},
        "ranked_by": "saiq_index" if with_reference else "saiq_raw",
        "period": "2023",
        "reference": "reference-legacy" if with_reference else None,
    }
    return rows, monthly, meta


class PageParser(HTMLParser):
    """Collects tags, external references and the open/close balance of the page."""

    VOID = frozenset({"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "wbr", "source"})

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags, self.external = [], [], [], []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            # Namespace URLs (xmlns=) are names, not fetches; only src/href load anything.
            if name in ("src", "href", "xlink:href") and value and re.match(r"\s*(https?:)?//", value):
                self.external.append((tag, name, value))
        if tag in ("script", "link") and any(n in ("src", "href") for n, _ in attrs):
            self.external.append((tag, "tag", attrs))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page):
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def assert_self_contained_page(page):
    assert page.startswith("<!DOCTYPE html>")
    parser = parse(page)
    assert parser.errors == []
    assert parser.stack == []
    assert parser.external == []
    assert "<script" not in page
    return parser


@pytest.fixture(scope="module")
def run_page():
    return run_report_html(run_frame(), summary())


@pytest.fixture(scope="module")
def compare_page():
    return compare_report_html(*comparison())


def test_run_report_is_a_self_contained_page_with_every_plot(run_page):
    page = run_page
    parser = assert_self_contained_page(page)
    # power stack, PUE vs wet-bulb, daily water/carbon, SAIQ contributions
    assert parser.tags.count("svg") == 4
    for label in [
        "Facility power stacked",
        "PUE against outdoor wet-bulb",
        "Daily water use",
        "SAIQ index contributions",
    ]:
        assert f'aria-label="{label}' in page
    text = "".join(parser.text)
    assert "test <run>" in text and "test &lt;run&gt;" in page  # escaped in the source, shown as typed
    assert "TMY &lt;test&gt; &amp; co" in page
    assert "ISO/IEC 30134-2:2016" in text and "Tokens served" in text


def test_run_report_without_reference_shows_the_table_and_a_note():
    page = run_report_html(run_frame(days=1), summary(reference=False))
    parser = assert_self_contained_page(page)
    assert parser.tags.count("svg") == 3
    assert "No reference scenario was given" in page


def test_run_report_of_a_year_at_15_minutes_stays_small():
    page = run_report_html(run_frame(days=365), summary())
    assert_self_contained_page(page)
    assert len(page.encode()) < 1.5e6
    assert "daily means" in page  # the power stack is averaged, not drawn step by step


def test_run_report_rejects_a_frame_without_the_run_columns():
    with pytest.raises(ValueError, match="outdoor_wetbulb_c"):
        run_report_html(run_frame().drop(columns="outdoor_wetbulb_c"), summary())


def test_compare_report_lists_every_site_and_escapes_titles(compare_page):
    rows, _, _ = comparison()
    page = compare_page
    parser = assert_self_contained_page(page)
    # contributions, monthly PUE, carbon and water
    assert parser.tags.count("svg") == 3
    for site in SITES:
        assert site in page
    assert "Site &lt;b&gt;phoenix-az&lt;/b&gt;" in page
    assert "<b>phoenix-az</b>" not in page
    assert "Cost (USD/token)" in page and "e-07" in page  # per-token values in scientific notation
    first_site = re.search(r"<tbody>\s*<tr><td class=\"num\">1</td><td[^>]*>([^<]+)</td>", page).group(1)
    assert first_site == rows["site"].iloc[0]


def test_compare_report_without_reference_ranks_by_raw_saiq():
    rows, monthly, meta = comparison(with_reference=False)
    page = compare_report_html(rows, monthly, meta)
    assert_self_contained_page(page)
    assert "no reference was given" in page


def test_svg_ids_are_unique_across_the_figures_of_a_page(run_page):
    ids = re.findall(r'\sid="([^"]+)"', run_page)
    assert len(ids) == len(set(ids))


def test_reports_are_deterministic(compare_page):
    assert compare_report_html(*comparison()) == compare_page


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_reports_render_in_headless_chromium(tmp_path, run_page, compare_page):
    import matplotlib.image

    pages = {"run": (run_page, 4), "compare": (compare_page, 3)}
    for name, (page, n_svg) in pages.items():
        report = tmp_path / f"{name}.html"
        report.write_text(page)
        flags = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
        ]
        shot = tmp_path / f"{name}.png"
        subprocess.run(
            [*flags, f"--screenshot={shot}", "--window-size=1280,4000", report.as_uri()],
            check=True,
            timeout=60,
            capture_output=True,
        )
        assert shot.exists() and shot.stat().st_size > 10_000
        pixels = matplotlib.image.imread(shot)
        assert pixels.shape[:2] == (4000, 1280)
        assert pixels[..., :3].std() > 0.01
        assert (pixels[..., :3] < 0.5).any()  # dark pixels: text and plots were drawn

        dom = subprocess.run(
            [*flags, "--dump-dom", report.as_uri()], check=True, timeout=60, capture_output=True, text=True
        ).stdout
        assert dom.count("<svg") == n_svg
        assert "<path" in dom
