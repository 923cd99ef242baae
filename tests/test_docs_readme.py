"""The README's quickstart runs as written, and its figure is in the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT.joinpath("README.md").read_text(encoding="utf-8")


def test_quickstart_is_about_ten_lines_and_runs(capsys):
    block = re.search(r"## Quickstart\n\n```python\n(.*?)```", README, flags=re.S).group(1)
    assert len(block.strip().splitlines()) <= 12
    exec(compile(block, "README.md quickstart", "exec"), {})
    out = capsys.readouterr().out
    assert "final_premium" in out and "total" in out and "mean_factor" in out


def test_readme_figure_is_committed_and_generated_by_a_script():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images, "the README shows a figure from the demo"
    for image in images:
        assert (ROOT / image).is_file(), image
    assert (ROOT / "docs" / "make_readme_figure.py").is_file()
