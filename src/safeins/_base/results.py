"""The protocol every safeins result follows, and how results display.

A result has ``to_frame()`` (a tidy DataFrame), ``summary()`` (for people), ``plot(ax=None)`` (a
matplotlib Axes) and ``_repr_html_`` so that it shows as a table in Jupyter. :class:`ResultMixin`
supplies ``_repr_html_`` and a short ``__repr__`` from the other two, and makes every subclass's
``summary()`` return a :class:`Summary` (text that also displays as HTML) when it returns a string.
Objects that cannot take the mixin (pydantic configs such as a tariff) use :func:`short_repr` and
:func:`html_repr` directly.

>>> import pandas as pd
>>> class Tiny(ResultMixin):
...     def to_frame(self):
...         return pd.DataFrame({"x": [1, 2]})
...     def summary(self):
...         return "Tiny result: 2 rows"
>>> "<table" in Tiny()._repr_html_()
True
>>> type(Tiny().summary()).__name__
'Summary'
"""

from __future__ import annotations

import functools
import html

__all__ = ["ResultMixin", "Summary", "html_repr", "short_repr"]

#: a repr longer than this many lines is cut (the full text is in ``summary()`` / ``to_frame()``)
REPR_MAX_LINES = 25
#: rows of ``to_frame()`` shown in a notebook
HTML_MAX_ROWS = 30


class Summary(str):
    """A result's summary: a string that prints as text and displays as HTML in notebooks.

    It *is* the text (``str`` methods, ``in``, comparison all work), so code that used the plain
    string keeps working; ``frame`` optionally carries the same numbers as a DataFrame.

    >>> s = Summary("FrequencyGLM: 3 factors\\ndeviance 12.5", title="FrequencyGLM")
    >>> print(s)
    FrequencyGLM: 3 factors
    deviance 12.5
    >>> "<pre" in s._repr_html_()
    True
    """

    def __new__(cls, text: str, *, title: str | None = None, frame=None):
        obj = super().__new__(cls, text)
        obj.title = title
        obj.frame = frame
        return obj

    def __repr__(self) -> str:
        return str.__str__(self)

    def to_frame(self):
        """The summary's numbers as a DataFrame (None when it is text only)."""
        return self.frame

    def _repr_html_(self) -> str:
        head = f"<strong>{html.escape(self.title)}</strong>" if self.title else ""
        body = (self.frame.to_html(max_rows=HTML_MAX_ROWS) if self.frame is not None
                else f"<pre style='white-space:pre-wrap'>{html.escape(str.__str__(self))}</pre>")
        return f"<div class='safeins-summary'>{head}{body}</div>"


def _as_summary(value, title: str):
    return Summary(value, title=title) if isinstance(value, str) and not isinstance(value, Summary) else value


def _text(value) -> str:
    return value if isinstance(value, str) else value.to_string()


def short_repr(obj) -> str:
    """At most :data:`REPR_MAX_LINES` lines of ``obj.summary()``, saying what was cut.

    >>> class Long:
    ...     def summary(self):
    ...         return "\\n".join(f"line {i}" for i in range(100))
    >>> text = short_repr(Long())
    >>> len(text.splitlines()), text.splitlines()[-1]
    (26, '... 75 more lines: .summary() or .to_frame() shows them')
    """
    lines = _text(obj.summary()).splitlines()
    if len(lines) <= REPR_MAX_LINES:
        return "\n".join(lines)
    more = len(lines) - REPR_MAX_LINES
    cut = f"... {more} more lines: .summary() or .to_frame() shows them"
    return "\n".join([*lines[:REPR_MAX_LINES], cut])


def html_repr(obj) -> str | None:
    """The notebook display: the summary, then the first rows of ``to_frame()`` (when the object
    has one). None (so Jupyter shows the text repr) when there is nothing to summarise yet, e.g. an
    estimator before ``fit``.

    >>> import pandas as pd
    >>> class T:
    ...     def summary(self):
    ...         return "T"
    ...     def to_frame(self):
    ...         return pd.DataFrame({"x": range(100)})
    >>> html = html_repr(T())
    >>> html.count("<tr>") < 40
    True
    """
    from ..errors import SafeinsError

    try:
        s = obj.summary()
    except (SafeinsError, AttributeError):  # not fitted yet: the text repr says what it is
        return None
    s = Summary(s, title=type(obj).__name__) if isinstance(s, str) and not isinstance(s, Summary) else s
    head = s._repr_html_() if isinstance(s, Summary) else s.to_html(max_rows=HTML_MAX_ROWS)
    if not callable(getattr(obj, "to_frame", None)):
        return head
    return head + obj.to_frame().to_html(max_rows=HTML_MAX_ROWS)


class ResultMixin:
    """Supplies ``_repr_html_`` and a short ``__repr__``; a text ``summary()`` becomes a :class:`Summary`.

    >>> import pandas as pd
    >>> class R(ResultMixin):
    ...     def summary(self):
    ...         return "R: one row"
    ...     def to_frame(self):
    ...         return pd.DataFrame({"x": [1]})
    >>> R()
    R: one row
    """

    _html_max_rows = HTML_MAX_ROWS

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("summary")
        if callable(own) and not getattr(own, "_returns_summary", False):
            @functools.wraps(own)
            def summary(self, *args, **kw):
                return _as_summary(own(self, *args, **kw), type(self).__name__)

            summary._returns_summary = True
            cls.summary = summary

    def to_frame(self):  # pragma: no cover - every result overrides it
        raise NotImplementedError

    def summary(self):  # pragma: no cover - every result overrides it
        raise NotImplementedError

    def _summary_text(self) -> str:
        return _text(self.summary())

    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        return html_repr(self)


def as_summary(method):
    """Decorator for a ``summary()`` that builds text: it comes back as a :class:`Summary` titled by
    the class name (prints as text, displays as HTML in notebooks).

    >>> class Model:
    ...     @as_summary
    ...     def summary(self):
    ...         return "Model: 2 factors"
    >>> s = Model().summary()
    >>> isinstance(s, Summary), s.title, str(s)
    (True, 'Model', 'Model: 2 factors')
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        out = method(self, *args, **kwargs)
        if isinstance(out, str) and not isinstance(out, Summary):
            return Summary(out, title=type(self).__name__)
        return out

    return wrapper


def text_html(text: str, frame=None) -> str:
    """A notebook display from a short text (a repr) and, optionally, a table under it.

    >>> "<pre" in text_html("Fund(share 0.15)")
    True
    """
    body = f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
    return body + (frame.to_html(max_rows=HTML_MAX_ROWS) if frame is not None else "")
