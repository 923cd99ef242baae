"""The protocol every safeins result follows.

A result has ``to_frame()`` (a tidy DataFrame), ``summary()`` (a short text or DataFrame for
people), ``plot(ax=None)`` (a matplotlib Axes) and ``_repr_html_`` so that it shows as a table in
Jupyter. :class:`ResultMixin` supplies ``_repr_html_`` and ``__repr__`` from the other two.

>>> import pandas as pd
>>> class Tiny(ResultMixin):
...     def to_frame(self):
...         return pd.DataFrame({"x": [1, 2]})
...     def summary(self):
...         return "Tiny result: 2 rows"
>>> "<table" in Tiny()._repr_html_()
True
"""

from __future__ import annotations

import html

__all__ = ["ResultMixin"]


class ResultMixin:
    """Supplies ``_repr_html_`` and ``__repr__`` from ``summary()`` and ``to_frame()``."""

    _html_max_rows = 30

    def to_frame(self):  # pragma: no cover - every result overrides it
        raise NotImplementedError

    def summary(self):  # pragma: no cover - every result overrides it
        raise NotImplementedError

    def _summary_text(self) -> str:
        s = self.summary()
        return s if isinstance(s, str) else s.to_string()

    def __repr__(self) -> str:
        return self._summary_text()

    def _repr_html_(self) -> str:
        s = self.summary()
        head = (
            f"<pre>{html.escape(s)}</pre>"
            if isinstance(s, str)
            else s.to_html(max_rows=self._html_max_rows)
        )
        frame = self.to_frame()
        return head + frame.to_html(max_rows=self._html_max_rows)
