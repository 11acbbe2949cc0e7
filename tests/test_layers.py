"""The layers point one way: each module imports on its own, and the simulation loads neither the
report, the HTML pages nor the calibration fitter."""

import ast
import pathlib
import pkgutil
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import twin

MODULES = sorted(m.name for m in pkgutil.walk_packages(twin.__path__, "twin.") if not m.name.endswith("__main__"))


def _imports_alone(module):
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=300)
    return module, proc.returncode, proc.stderr[-2000:]


@pytest.mark.slow
def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    """A circular import shows only when the cycle is entered at the right module: try every one first."""
    with ThreadPoolExecutor(2) as pool:
        failed = [(m, err) for m, code, err in pool.map(_imports_alone, MODULES) if code != 0]
    assert len(MODULES) > 40
    assert not failed, failed


def test_the_simulation_loads_no_report_and_no_fitter():
    """Nor pvlib (and scipy behind it, 0.3 s) unless a run has solar: a short run's start-up is most of it."""
    code = (
        "import sys, twin.sim.engine; "
        "print(' '.join(m for m in sys.modules if m.startswith(('twin.report', 'twin.html_report', "
        "'twin.calibrate', 'rich', 'matplotlib', 'pvlib'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert proc.stdout.split() == []


def test_the_package_cites_no_file_outside_the_repository():
    root = pathlib.Path(twin.__file__).parent
    hits = [
        str(p)
        for p in root.rglob("*")
        if p.suffix in (".py", ".yaml", ".md")
        and ("DESIGN.md" in p.read_text(encoding="utf-8") or "REFERENCE.md" in p.read_text(encoding="utf-8"))
    ]
    assert not hits, hits


def test_docs_model_defines_every_source_tag_the_catalog_uses():
    root = pathlib.Path(twin.__file__).parent
    tags = {t for p in (root / "catalog").glob("*.yaml") for t in re.findall(r"\[[A-Z][A-Za-z-]*\]", p.read_text())}
    model = (root.parent / "docs" / "model.md").read_text(encoding="utf-8")
    tag_section = model.split("## Source tags", 1)[1].split("\n## ", 1)[0]
    assert tags and not [t for t in sorted(tags) if t not in tag_section]


def test_no_module_of_twin_is_over_500_lines():
    root = pathlib.Path(twin.__file__).parent
    long = {str(p.relative_to(root)): n for p in root.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_every_compiled_kernel_is_under_80_lines():
    """numba kernels stay readable: each njit function (advance included) under 80 lines."""
    root = pathlib.Path(twin.__file__).parent
    long = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            jitted = isinstance(node, ast.FunctionDef) and any(
                "njit" in ast.unparse(d) or "vectorize" in ast.unparse(d) for d in node.decorator_list
            )
            if jitted and node.end_lineno - node.lineno + 1 >= 80:
                long[f"{path.relative_to(root)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert not long, long


def test_kernel_columns_are_looked_up_by_name():
    """Each column index constant is the position of its own name, and every column is written."""
    from twin.physics import columns, record

    constants = {k: v for k, v in vars(columns).items() if k.startswith("C_")}
    assert sorted(constants.values()) == list(range(len(columns.COLUMNS)))
    body = pathlib.Path(record.__file__).read_text()
    assert not [k for k in constants if f"r[{k}]" not in body]
