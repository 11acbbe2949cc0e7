"""Results writers (DESIGN.md results contract) and the terminal table.

A run's folder is written to a temporary sibling and renamed into place, so a crash or an
interrupt never leaves a half-written result.
"""

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from twin.metrics import METRICS


def _json_safe(obj):
    """Non-finite floats become null: summary.json stays valid JSON."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def summary_json(summary):
    return json.dumps(_json_safe(summary), indent=2, sort_keys=False)


def write_results(out_dir, frame, summary):
    """Write timeseries.parquet and summary.json into out_dir, atomically."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, tmp / "timeseries.parquet", compression="zstd")
        (tmp / "summary.json").write_text(summary_json(summary) + "\n")
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _fmt(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float) and (value == 0.0 or 1e-3 <= abs(value) < 1e6):
        return f"{value:,.{digits}g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:.4g}"


def print_summary(summary, out_dir=None, console=None):
    """The run summary as terminal tables: totals, KPIs with their units, SAIQ with components."""
    console = console or Console()
    t, k, s = summary["totals"], summary["kpi"], summary["saiq"]
    head = f"[bold]{summary['scenario']}[/] - seed {summary['seed']}, {summary['start']} + {summary['duration']} at {summary['step']}, site {summary['site']}"
    console.print(head)

    totals = Table(title="Totals", title_justify="left")
    totals.add_column("quantity")
    totals.add_column("value", justify="right")
    totals.add_column("unit")
    for label, key, unit in [("facility energy", "facility_energy_mwh", "MWh"), ("IT energy", "it_energy_mwh", "MWh"),
                             ("cooling energy", "cooling_energy_mwh", "MWh"),
                             ("power-chain losses", "power_chain_loss_mwh", "MWh"),
                             ("other", "other_energy_mwh", "MWh"), ("direct water", "water_direct_m3", "m3"),
                             ("indirect water", "water_indirect_m3", "m3"), ("carbon", "carbon_t", "tCO2e"),
                             ("cost", "cost_usd", "USD"), ("output tokens", "tokens", "tokens")]:
        totals.add_row(label, _fmt(t[key]), unit)
    console.print(totals)

    kpi = Table(title="KPIs", title_justify="left")
    kpi.add_column("KPI")
    kpi.add_column("value", justify="right")
    kpi.add_column("unit")
    kpi.add_column("definition (source)")
    for key, (unit, definition, source) in METRICS.items():
        kpi.add_row(key, _fmt(k[key]), unit, f"{definition} ({source})")
    console.print(kpi)

    sq = Table(title="SAIQ", title_justify="left")
    sq.add_column("component")
    sq.add_column("weight", justify="right")
    sq.add_column("value", justify="right")
    sq.add_column("unit")
    sq.add_column("reference", justify="right")
    ref = s.get("reference") or {}
    for (comp, unit), w in zip(s["units"].items(), ("w1", "w2", "w3", "w4")):
        sq.add_row(comp, _fmt(s["weights"][w]), _fmt(s["components"][comp]), unit, _fmt(ref.get(comp)))
    sq.add_row("[bold]SAIQ raw[/]", "", _fmt(s["raw"]), "weighted sum", "")
    index_note = "vs reference (reference = sum of weights)" if s["index"] is not None else "no reference given"
    sq.add_row("[bold]SAIQ index[/]", "", _fmt(s["index"]), index_note, "")
    console.print(sq)
    if out_dir is not None:
        console.print(f"results: {out_dir}/timeseries.parquet, {out_dir}/summary.json")
