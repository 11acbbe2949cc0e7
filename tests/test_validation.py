"""The published-figure cases in validation/ all pass (the suite runs them)."""

import importlib.util

from conftest import ROOT


def test_published_range_cases_pass(capsys):
    spec = importlib.util.spec_from_file_location("components", ROOT / "validation" / "components.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main() == 0, capsys.readouterr().out
