"""The twin against published figures and real traces: collects the cases in validation/*.py and
prints case, source, published value or range, twin value, tolerance and pass/fail.

Each validation module defines `cases()` returning a list of Case. A case passes when the twin's
value lies in [low, high]; `published` and `tolerance` say in words where that band comes from.

Each case says what kind of evidence it is (Case.evidence): "measured", a published measurement of a real system
the twin was not fitted to; "published", a published figure of another kind (a model's output, a standard's
limit, a survey's range) the twin was not fitted to; "check", a figure the twin's own parameters come from, a
curve at its own reference point, or a restatement of another case: a unit test, not validation. The summary
counts the facility's independent cases (measured and published) apart from its checks.
"""

import importlib.util
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

VALIDATION_DIR = Path(__file__).resolve().parents[1] / "validation"


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # the published figure's origin (authors, year, table)
    published: str  # the published value or range, as the source gives it
    value: float  # the twin's figure
    low: float  # pass band
    high: float
    tolerance: str = "published range"
    unit: str = ""
    known_gap: str = ""  # why a case is known to fail (printed beside its FAIL; it does not fail the command
    gap_high: float = math.inf  # ... unless the value passes this looser limit too: a known gap may not grow
    gap_low: float = -math.inf  # ... nor fall below this one
    evidence: str = "published"  # "measured", "published" or "check" (module docstring)

    @property
    def passed(self):
        return math.isfinite(self.value) and self.low <= self.value <= self.high


def within(name, source, published_value, value, rel=None, abs_=None, unit="", evidence="published"):
    """A case that passes within a relative or absolute tolerance of one published value."""
    half = published_value * rel if rel is not None else abs_
    tolerance = f"+/-{rel:.0%}" if rel is not None else f"+/-{abs_:g}{(' ' + unit) if unit else ''}"
    return Case(
        name,
        source,
        f"{published_value:g}",
        value,
        published_value - half,
        published_value + half,
        tolerance,
        unit,
        evidence=evidence,
    )


def in_range(name, source, low, high, value, unit="", published=None, evidence="published"):
    return Case(
        name, source, published or f"{low:g}-{high:g}", value, low, high, "published range", unit, evidence=evidence
    )


# The modules whose cases test the facility (plant, power chain, site), counted apart in the summary
FACILITY_MODULES = ("components", "cooling_climates", "facility_kpis", "site_measurements")


def facility_evidence(results):
    """{evidence: cases} over the facility modules."""
    counts = {"measured": 0, "published": 0, "check": 0}
    for module, cases in results:
        if module in FACILITY_MODULES:
            for c in cases:
                counts[c.evidence] += 1
    return counts


def modules(folder=VALIDATION_DIR):
    return sorted(p for p in Path(folder).glob("*.py") if not p.name.startswith("_"))


def load_cases(path):
    spec = importlib.util.spec_from_file_location(f"validation_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases()


def run(folder=VALIDATION_DIR, only=None):
    """[(module name, [Case, ...])] for every module (or those whose name contains `only`)."""
    return [(p.stem, load_cases(p)) for p in modules(folder) if not only or only in p.stem]


def unexpected(case):
    """A failure not excused: no known gap, or one beyond the gap's own limit."""
    return not case.passed and (not case.known_gap or not case.gap_low <= case.value <= case.gap_high)


def unexpected_failures(results):
    return [c for _, cases in results for c in cases if unexpected(c)]


def as_json(results):
    rows = [
        dict(
            asdict(c),
            module=m,
            passed=c.passed,
            unexpected=unexpected(c),
            gap_high=c.gap_high if math.isfinite(c.gap_high) else None,
            gap_low=c.gap_low if math.isfinite(c.gap_low) else None,
        )
        for m, cases in results
        for c in cases
    ]
    failed = sum(not r["passed"] for r in rows)
    return json.dumps(
        {
            "cases": rows,
            "passed": len(rows) - failed,
            "failed": failed,
            "known_gaps": sum(not r["passed"] and bool(r["known_gap"]) for r in rows),
            "unexpected": len(unexpected_failures(results)),
            "sources": len({r["source"] for r in rows}),
            "facility_evidence": facility_evidence(results),
        },
        allow_nan=False,
        default=str,
    )


def print_table(results, out=None):
    """One block per case: result, name, twin value vs published (tolerance), then its source."""
    import sys

    out = out or sys.stdout
    passed = failed = 0
    for module, cases in results:
        print(f"\n{module}", file=out)
        for c in cases:
            ok = c.passed
            passed += ok
            failed += not ok
            unit = f" {c.unit}" if c.unit else ""
            limits = " and ".join(
                f"{word} {limit:g}{unit}"
                for word, limit in (("below", c.gap_low), ("beyond", c.gap_high))
                if math.isfinite(limit)
            )
            gap = (
                f"\n        known gap (fails the command {limits or 'never'}): {c.known_gap}"
                if c.known_gap and not ok
                else ""
            )
            kind = "" if c.evidence == "published" else f" [{c.evidence}]"
            print(
                f"  {'pass' if ok else 'FAIL'}  {c.name}: twin {c.value:.4g}{unit}, published {c.published}{unit} "
                f"({c.tolerance}){kind}\n        source: {c.source}{gap}",
                file=out,
            )
    sources = len({c.source for _, cases in results for c in cases})
    gaps = sum(not c.passed and bool(c.known_gap) for _, cases in results for c in cases)
    print(
        f"\n{passed} passed, {failed} failed ({gaps} of them known gaps): {passed + failed} cases from "
        f"{sources} sources",
        file=out,
    )
    facility = facility_evidence(results)
    if sum(facility.values()):
        print(
            f"facility: {facility['measured'] + facility['published']} independent cases "
            f"({facility['measured']} against published measurements of real sites and equipment, "
            f"{facility['published']} against published models, standards and surveys); {facility['check']} unit "
            f"checks [check] not counted (a curve at its own reference point, a figure the parameters come from)",
            file=out,
        )
    return failed
