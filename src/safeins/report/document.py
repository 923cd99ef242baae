"""One self-contained HTML page: headings, text, tables with units, and figures embedded as PNG.

The page needs nothing but itself: figures are base64 ``data:`` URIs, the style sheet is inline, no
script or web font is loaded. Wide tables scroll inside their own box, so the page never grows wider
than the window (checked in headless Chromium by ``tests/test_report_browser.py``).

>>> import pandas as pd
>>> r = Report("Example")
>>> r.heading("Numbers").table(pd.DataFrame({"accidents": [3, 4]}), "Accidents by year")
Report('Example', 3 parts)
>>> page = r.to_html()
>>> page.startswith("<!doctype html>") and "accidents (count)" in page
True
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from .format import table_html

__all__ = ["Report"]

STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Microsoft YaHei",
 "PingFang SC",sans-serif;margin:0 auto;padding:1.5em;max-width:64em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin-top:1.4em}
p.note{color:#555;font-size:.9em}
pre.header{white-space:pre-wrap;background:#f6f8fa;padding:.8em;font-size:.85em}
.table-wrap{max-width:100%;overflow-x:auto;margin:.5em 0 1em}
table{border-collapse:collapse;font-size:.82em}
th,td{border:1px solid #d0d7de;padding:2px 6px;vertical-align:top}
thead th{background:#f0f3f6;text-align:center;max-width:11em}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.txt{text-align:left} tbody th{text-align:left;font-weight:normal;white-space:nowrap}
figure{margin:1em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#444}
"""


class Report:
    """An HTML report built part by part; :meth:`to_html` returns one self-contained page.

    Methods return the report, so parts chain: ``Report("t").heading("h").text("…").figure(fig, "…")``.

    >>> Report("Stress test").text("Five years, 1,000 simulations.").to_html().count("<p")
    1
    """

    def __init__(self, title: str, *, subtitle: str | None = None):
        self.title = title
        self.subtitle = subtitle
        self._parts: list[str] = []

    def __repr__(self) -> str:
        return f"Report({self.title!r}, {len(self._parts)} parts)"

    def heading(self, text: str, level: int = 2) -> Report:
        """A section heading (``level`` 2 or 3)."""
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def text(self, text: str, *, note: bool = False, pre: bool = False) -> Report:
        """A paragraph (``note``: smaller and grey; ``pre``: keep line breaks)."""
        if pre:
            self._parts.append(f"<pre class='header'>{html.escape(text)}</pre>")
        else:
            self._parts.append(f"<p{' class=note' if note else ''}>{html.escape(text)}</p>")
        return self

    def table(self, frame, title: str | None = None, *, units: dict | None = None,
              unit: tuple[str, str] | None = None) -> Report:
        """A table with units in every header (see :func:`safeins.report.format.table_html`)."""
        if title:
            self.heading(title, 3)
        self._parts.append(table_html(frame, units=units, unit=unit, where=title or self.title))
        return self

    def figure(self, fig, caption: str, *, dpi: int = 110) -> Report:
        """A matplotlib figure, embedded as a base64 PNG, with its caption; the figure is closed."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        self._parts.append(f"<figure><img alt='{html.escape(caption, quote=True)}' "
                           f"src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}"
                           "</figcaption></figure>")
        return self

    def to_html(self) -> str:
        """The whole page."""
        sub = f"<p class='note'>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        return ("<!doctype html><html lang='zh-Hans'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>{sub}{''.join(self._parts)}</body></html>")

    def save(self, path) -> Path:
        """Write :meth:`to_html` to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        return path
