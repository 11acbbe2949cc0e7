"""`python -m twin validate` runs every case in validation/ and they all pass (the suite runs it)."""

import json

import pytest
from conftest import needs_shared

from twin import validate
from twin.cli import main


@pytest.mark.slow
@needs_shared
def test_every_validation_case_passes(capsys):
    code = main(["validate", "--json"])
    doc = json.loads(capsys.readouterr().out)
    failed = [c for c in doc["cases"] if c["unexpected"]]
    assert code == 0 and not failed and doc["unexpected"] == 0, failed
    assert len(doc["cases"]) >= 15
    assert doc["sources"] >= 8
    modules = {c["module"] for c in doc["cases"]}
    assert {"components", "gpu_traces", "cooling_climates"} <= modules


def test_validate_prints_source_published_twin_tolerance_and_result(capsys):
    assert main(["validate", "--only", "components"]) == 0
    out = capsys.readouterr().out
    assert "source:" in out and "published" in out and "twin" in out and "pass" in out
    assert "failed" in out


def test_a_failing_case_fails_the_command(tmp_path, capsys, monkeypatch):
    (tmp_path / "broken.py").write_text(
        "from twin.validate import in_range\n"
        "def cases():\n    return [in_range('impossible', 'nobody', 1.0, 2.0, 3.0)]\n"
    )
    monkeypatch.setattr(validate, "VALIDATION_DIR", tmp_path)
    assert main(["validate"]) == 1
    assert "FAIL" in capsys.readouterr().out
