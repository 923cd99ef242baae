"""The report layer: figures and the self-contained HTML report (the only place that renders a page).

:class:`Report` builds a page from headings, text, tables (units in every header, readable numbers)
and matplotlib figures embedded as PNG; :func:`demo_report` lays out the demo; :func:`stress_section`
adds a stress test's summary, fan charts and exceedance curves.

>>> from safeins.report import Report
>>> Report("Empty").to_html().count("<h1>")
1
"""

from .document import Report
from .format import format_number, table_html
from .pipeline import demo_report, tariff_rates_table
from .stress import stress_section

__all__ = ["Report", "demo_report", "format_number", "stress_section", "table_html", "tariff_rates_table"]
