"""The architecture is enforced, not only drawn: each layer imports only the layers below it.

The layers, lowest first (docs/architecture.md draws them)::

    errors < _base < domain < losses < models < rating < prevention < simulation < stress < report
    < demo < cli

Every import under ``src/safeins/`` counts, including those inside functions (a lazy import is still
a dependency) and those under ``TYPE_CHECKING``. ``safeins/__init__.py`` is the lazy public API and
may name anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "safeins"
LAYERS = ["errors", "_base", "domain", "losses", "models", "rating", "prevention", "simulation",
          "stress", "report", "demo", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the safeins modules (or packages) that ``path`` imports."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "safeins")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "safeins":
                continue
            found.add(target)
            # ``from . import sectors`` imports the submodule safeins.<pkg>.sectors
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if _exists(sub):
                    found.add(sub)
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:]) if "." in module else Path()
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in SRC.rglob("*.py")}


GRAPH = _graph()


def test_every_top_level_entry_has_a_layer():
    tops = {p.stem for p in SRC.glob("*.py")} | {p.name for p in SRC.iterdir() if p.is_dir()}
    tops -= {"__init__", "__pycache__", "_data"}
    assert tops <= set(LAYERS), f"unranked top-level entries: {sorted(tops - set(LAYERS))}"
    loose = sorted(p.name for p in SRC.glob("*.py"))
    assert len(loose) <= 6, f"the top of src/safeins/ keeps only the entry points; found {loose}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "safeins"))
def test_no_module_imports_a_higher_layer(module):
    mine = RANK[_layer(module)]
    upward = sorted(t for t in GRAPH[module] if _layer(t) and RANK[_layer(t)] > mine)
    assert not upward, f"{module} (layer {_layer(module)}) imports higher layers: {upward}"


def test_no_two_files_import_each_other():
    pairs = sorted(
        (a, b) for a, targets in GRAPH.items() for b in targets
        if a < b and b in GRAPH and a in GRAPH[b] and a != "safeins" and b != "safeins"
        # a package's __init__ re-exports its own modules; that is not a cycle of two files
        and not (b.startswith(a + ".") or a.startswith(b + "."))
    )
    assert not pairs, f"files that import each other: {pairs}"


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    # a self-check, so that the tests above cannot pass by seeing nothing
    assert "safeins.domain.sectors" in GRAPH["safeins.domain.portfolio"]
    assert "safeins.demo" in GRAPH["safeins.cli"]
