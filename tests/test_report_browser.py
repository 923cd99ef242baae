"""The demo report in a real browser: headless Chromium renders it, the screenshot is not blank,
every figure decodes, and nothing is wider than the window (at a laptop and at a narrow width).

Skipped only when no Chromium is installed; CI (.ci/run) installs Debian's ``chromium`` and
``fonts-noto-cjk`` so this runs there.
"""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (CI installs it)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=10000"]

# appended to a copy of the report: once every image has loaded, write the measurements where
# --dump-dom shows them
PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var wide = Array.prototype.slice.call(document.querySelectorAll('body *')).filter(function (e) {
    var r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 && !e.closest('.table-wrap');
  }).map(function (e) { return e.tagName; });
  var out = document.createElement('pre'); out.id = 'probe';
  out.textContent = JSON.stringify({scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth, images: imgs.length,
    decoded: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
    wide: wide});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from safeins.demo import run_demo

    path = tmp_path_factory.mktemp("report") / "demo.html"
    path.write_text(run_demo(synthetic=700, seed=11, progress=False).to_html(), encoding="utf-8")
    return path


def _chromium(tmp_path, *args):
    profile = tmp_path / "profile"  # a fresh profile for every run
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                         capture_output=True, text=True, timeout=120)
    return out


@pytest.mark.parametrize("width", [1280, 800])
def test_nothing_overflows_the_page_width(report, tmp_path, width):
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    out = _chromium(tmp_path, f"--window-size={width},900", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', out.stdout, flags=re.S)
    assert found, out.stderr[-2000:]
    m = json.loads(found.group(1).replace("&quot;", '"'))
    assert m["images"] == 4 and m["decoded"] == 4, m
    assert m["scrollWidth"] <= m["innerWidth"], m
    assert not m["wide"], m


def test_screenshot_is_not_blank(report, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", report.as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2400, 1280)
    ink = (pixels < 200).mean()  # share of pixels darker than light grey: text, figures, rules
    assert 0.02 < ink < 0.6, ink
    # ink in every third of the page height: headings and figures, not one block
    assert all((band < 200).mean() > 0.005 for band in np.array_split(pixels, 3, axis=0))
