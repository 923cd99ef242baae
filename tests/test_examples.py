"""The example notebooks: stored executed (outputs, cell ids), built from their source, and
re-executed in a fresh kernel (nbclient) with a two-minute limit per notebook cell.

Refresh the stored notebooks after a change with ``python examples/build_notebooks.py --execute``.
"""

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # in the dev extra
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", EXAMPLES / "build_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


BUILD = _builder()
NAMES = sorted(BUILD.NOTEBOOKS)


def _stored(name):
    return nbformat.read(str(EXAMPLES / f"{name}.ipynb"), as_version=4)


def test_every_notebook_is_stored():
    assert sorted(p.stem for p in EXAMPLES.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_built_from_its_source(name):
    nb = _stored(name)
    nbformat.validate(nb)
    assert [c.source for c in nb.cells] == [t for _, t in BUILD.NOTEBOOKS[name]]
    assert [c.id for c in nb.cells] == [c.id for c in BUILD.notebook(name).cells]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_executed(name):
    code = [c for c in _stored(name).cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run in order, all of them"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert sum(bool(c.outputs) for c in code) >= len(code) - 1  # results are shown, not just computed


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name):
    nb = BUILD.execute(BUILD.notebook(name), timeout=120)  # raises CellExecutionError on any error
    fresh = [c for c in nb.cells if c.cell_type == "code"]
    stored = [c for c in _stored(name).cells if c.cell_type == "code"]
    # the same kinds of output as the stored run (numbers may differ only in timings)
    kinds = [[o.output_type for o in c.outputs] for c in fresh]
    assert kinds == [[o.output_type for o in c.outputs] for c in stored]
