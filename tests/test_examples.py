"""Every code cell of every example notebook runs (in order, in one namespace per notebook)."""

import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_notebooks_are_built_from_their_source():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_notebooks", EXAMPLES / "build_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, cells in mod.NOTEBOOKS.items():
        nb = json.loads((EXAMPLES / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert ["".join(c["source"]) for c in nb["cells"]] == [t for _, t in cells], name


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    namespace: dict = {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            code = "".join(cell["source"])
            exec(compile(code, f"{path.name}[cell {i}]", "exec"), namespace)
