"""The project's own consistency: environment files, paired notebooks, transcribed paper tables."""
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_agrees_with_pyproject():
    project = _pyproject()["project"]
    wanted = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= set(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {p for p in pip if not p.startswith("-e")}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"


def test_every_notebook_is_paired_and_executed_copy_exists():
    for py in (ROOT / "notebooks").glob("*.py"):
        assert py.with_suffix(".ipynb").exists(), f"{py.name} has no paired .ipynb (make sync)"
        assert (ROOT / "book" / "papers" / f"{py.stem}.ipynb").exists(), f"{py.stem} was never executed"
        text = py.read_text()
        assert 'tags=["parameters"]' in text and 'profile = "quick"' in text
        assert "# NBVAL_CHECK_OUTPUT" in text, "table cells must be checked by nbval"


def test_toc_lists_every_executed_notebook():
    toc = (ROOT / "_toc.yml").read_text()
    for nb in (ROOT / "book" / "papers").glob("*.ipynb"):
        assert f"book/papers/{nb.stem}" in toc


@pytest.mark.parametrize("name, rows", [("p_fgsm_table1", 11), ("p_fgsm_table2", 4)])
def test_transcribed_paper_tables(name, rows):
    from papers_core.reports import paper_table

    t = paper_table(name)
    assert len(t) == rows and not t.isna().any().any()


def test_no_module_imports_a_private_name_from_another():
    """Shared foundations are public names in base modules (attacks/base.py, _validate.py), never a
    sibling's private helper."""
    import ast

    root = Path(__file__).resolve().parent.parent / "papers_core"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("papers_core")):
                offenders += [f"{path.relative_to(root)}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and a.name != "__version__"]
    assert not offenders, offenders
