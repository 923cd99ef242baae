"""No tracked file cites a document the repository does not hold.

Every ``something.md`` named in code, TOML, notebooks or docs must be a file of the repository, and
every ``page.md#anchor`` must point at an anchor that page defines (an ``id="..."`` or a heading).
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".toml", ".ipynb", ".yml", ".yaml", ".txt", ".cfg", ".csv", ""}
# a Markdown file name, optionally with a path before it and an anchor after it
MD_REF = re.compile(r"(?<![\w/.-])((?:\.{1,2}/)*[\w./-]*?[\w-]+\.md)(#[\w-]+)?")


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / p for p in out.stdout.splitlines() if (ROOT / p).suffix in TEXT_SUFFIXES
            and (ROOT / p).is_file()]


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\s-]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([\w-]+)"', text))
    return ids | {_slug(h) for h in re.findall(r"^#+\s+(.*)$", text, flags=re.M)}


def _resolve(ref: str, source: Path, files: set[Path]) -> Path | None:
    """The repository file ``ref`` names, relative to the citing file or to the root, else None."""
    for base in (source.parent, ROOT, ROOT / "docs"):
        candidate = (base / ref).resolve()
        if candidate in files:
            return candidate
    # a file name built in code (``RESULTS / "allocation.md"``): a file of that name under the same folder
    below = [f for f in files if f.name == Path(ref).name and source.parent in f.parents]
    return below[0] if below else None


def citations() -> list[tuple[Path, int, str, str]]:
    found = []
    for path in _tracked():
        if path.name == Path(__file__).name:
            continue  # this file names example citations in its own docstring
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in MD_REF.finditer(line):
                word = re.split(r"[\s(<\"'`]", line[:m.start()])[-1]
                if "://" in word or word.endswith(("www.", "http")):
                    continue  # part of a URL: a public source, not a repository file
                found.append((path, lineno, m.group(1), (m.group(2) or "")[1:]))
    return found


def test_citations_are_found():
    refs = citations()
    assert any(ref.endswith("regulation.md") for _, _, ref, _ in refs)  # the scan does see citations


def test_no_file_cites_a_document_outside_the_repository():
    files = {p.resolve() for p in _tracked()}
    bad = []
    for path, lineno, ref, anchor in citations():
        target = _resolve(ref, path, files)
        where = f"{path.relative_to(ROOT)}:{lineno}"
        if target is None:
            bad.append(f"{where} cites {ref!r}, which the repository does not hold")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            bad.append(f"{where} cites {ref}#{anchor}, an anchor {ref} does not define")
    assert not bad, "\n".join(bad)


def test_nothing_points_at_the_shared_folder():
    pattern = re.compile(r"\.\./shared|shared/domain|(REGULATION|CALIBRATION|DEFINITIONS|DESIGN)\.md")
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in _tracked()
           for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
           if pattern.search(line) and p.name != Path(__file__).name]
    assert not bad, bad


@pytest.mark.parametrize("page, at_least", [("regulation", 15), ("calibration", 8), ("definitions", 2)])
def test_domain_pages_cite_public_sources(page, at_least):
    text = (ROOT / "docs" / "domain" / f"{page}.md").read_text(encoding="utf-8")
    assert len(re.findall(r"https?://", text)) >= at_least, f"{page}.md cites too few public sources"
