"""The README's two set-up commands are the ones CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_exactly_two_setup_commands():
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = _bash_blocks(setup)
    assert len(blocks) == 2, blocks
    assert "safeins demo" in blocks[0]
    assert "pytest" in blocks[1]


def test_ci_runs_the_readme_test_command_verbatim():
    setup = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("## Set up", 1)[1]
    test_command = _bash_blocks(setup)[1]
    ci = ROOT.joinpath(".ci", "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
