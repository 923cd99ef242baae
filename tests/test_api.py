"""The public API: every exported name resolves, is documented with an example, and is in docs/."""

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import safeins as si

DOCS = "\n".join(p.read_text(encoding="utf-8") for p in Path(__file__).resolve().parents[1].glob("docs/*.md"))
EXPORTS = sorted(si._EXPORTS)


@pytest.mark.parametrize("name", EXPORTS)
def test_export_resolves_and_is_documented(name):
    obj = getattr(si, name)
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    if inspect.isclass(obj) or inspect.isfunction(obj):
        # errors are documented by their class docstring; everything else shows an example
        if not (inspect.isclass(obj) and issubclass(obj, BaseException)):
            assert ">>>" in doc, f"{name}'s docstring has no example"
    assert name in DOCS, f"{name} is not mentioned in docs/"


@pytest.mark.parametrize("name", sorted(si._MODULES))
def test_submodules_resolve(name):
    assert inspect.ismodule(getattr(si, name))


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError):
        si.no_such_thing  # noqa: B018


def test_import_is_lazy():
    # importing safeins must not import the heavy dependencies (they load on first use)
    code = ("import sys, safeins; heavy = [m for m in ('pandas', 'scipy', 'statsmodels', 'matplotlib', "
            "'dask', 'glum') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", ["FrequencyGLM", "Aggregate"])
def test_first_use_loads_no_heavy_module(name):
    # naming a class loads its module, not scipy.stats / statsmodels / pandas: those load when a
    # method needs them (safeins._base.lazy)
    code = (f"import sys, safeins as si; si.{name}; heavy = [m for m in ('pandas', 'scipy.stats', "
            "'scipy.special', 'scipy.integrate', 'scipy.optimize', 'statsmodels', 'matplotlib', "
            "'glum') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_frequency_fit_is_registered_when_frequency_is_imported_directly():
    # freqfit registers FrequencyDistribution.fit when the losses package loads
    code = "from safeins.losses.frequency import Poisson; print(Poisson.fit([0, 1, 2, 1, 0, 3]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "mu            1.16667" in out.stdout  # the MLE is the sample mean, 7/6
