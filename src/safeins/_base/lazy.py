"""Heavy third-party modules loaded on first use, so that naming a safeins object stays cheap.

``stats = lazy_module("scipy.stats")`` binds a stand-in whose first attribute access imports the
module; afterwards every access is forwarded to it. Nothing is put in ``sys.modules`` before the
real import, so other libraries see the ordinary module.

>>> m = lazy_module("fractions")
>>> m.Fraction(1, 3) + m.Fraction(1, 6)
Fraction(1, 2)
"""

from __future__ import annotations

import importlib

__all__ = ["lazy_module"]


class _LazyModule:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attr: str):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> _LazyModule:
    """A stand-in for the module ``name`` that imports it on first attribute access."""
    return _LazyModule(name)
