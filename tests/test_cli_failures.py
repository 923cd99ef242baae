"""The installed ``safeins`` command under bad input: exit code 2, one line on stderr, no traceback,
and every file in the folder byte-identical afterwards (nothing destroyed, no half-written output).

Each case starts the real command in a temporary folder (about a second each), so the cases are
grouped in a few tests and use a three-enterprise book.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# every optional column is given, so that no note about defaults joins the error on stderr
BOOK = ("enterprise_id,sector,region,headcount,credit_grade,contract_value,size_band,blacklisted,"
        "standardization,years_insured,award\n"
        "E1,non_coal_mining,宁波,120,B,,small,0,2,3,none\n"
        "E2,construction,杭州,300,A,50000000,medium,0,1,5,city\n"
        "E3,fireworks,宁波,40,C,,small,1,none,1,none\n")


def _safeins() -> str:
    exe = shutil.which("safeins", path=str(Path(sys.executable).parent))
    assert exe is not None, "the safeins command is not installed next to this Python"
    return exe


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(folder: Path, *args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run([_safeins(), *args], cwd=folder, stdout=stdout, stderr=subprocess.PIPE,
                          text=True, encoding="utf-8", env=env, timeout=120)


def _fails_cleanly(folder: Path, *args: str, expect: tuple[str, ...] = ()) -> str:
    """Run a failing command; check the exit code, the one-line message, that no file changed and
    that it failed before starting its work (nothing on stdout)."""
    before = _snapshot(folder)
    res = _run(folder, *args)
    err = res.stderr.strip()
    assert res.returncode == 2, (args, res.returncode, res.stderr)
    assert "Traceback" not in res.stderr, (args, res.stderr)
    assert len(err.splitlines()) == 1, (args, res.stderr)
    assert err.startswith("safeins"), (args, err)
    for word in expect:
        assert word in err, (args, word, err)
    assert _snapshot(folder) == before, (args, "a file was created, changed or removed")
    assert res.stdout == "", (args, "the command started its work before failing", res.stdout)
    return err


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "book.csv").write_text(BOOK, encoding="utf-8")
    (tmp_path / "gbk.csv").write_bytes(BOOK.encode("gbk"))
    (tmp_path / "empty.csv").write_bytes(b"")
    ragged = BOOK + "E4,fireworks,宁波,40,C,,small,0,none,1,none,surplus\n"
    (tmp_path / "ragged.csv").write_text(ragged, encoding="utf-8")
    (tmp_path / "negative.csv").write_text(BOOK.replace(",40,", ",-40,"), encoding="utf-8")
    (tmp_path / "a_folder.csv").mkdir()
    (tmp_path / "old_quotes.csv").write_text("keep me\n", encoding="utf-8")
    return tmp_path


PRICE = ("--tariff", "zhejiang-demo", "--option", "per_person=400000")


def test_unreadable_inputs_fail_in_one_line(folder):
    _fails_cleanly(folder, "price", "missing.csv", *PRICE, expect=("missing.csv", "no such file"))
    _fails_cleanly(folder, "price", "a_folder.csv", *PRICE, expect=("folder",))
    _fails_cleanly(folder, "price", "empty.csv", *PRICE, expect=("empty", "header"))
    _fails_cleanly(folder, "price", "ragged.csv", *PRICE, expect=("line 5", "12 fields"))
    _fails_cleanly(folder, "price", "gbk.csv", *PRICE, expect=("--encoding gb18030",))
    _fails_cleanly(folder, "price", "book.csv", *PRICE, "--encoding", "klingon",
                   expect=("unknown encoding", "klingon"))
    _fails_cleanly(folder, "price", "negative.csv", *PRICE, expect=("E3", "headcount", "-40"))
    _fails_cleanly(folder, "price", "book.csv", "--tariff", "no-such-tariff", expect=("not shipped",))


def test_outputs_never_destroy_data(folder):
    _fails_cleanly(folder, "price", "book.csv", *PRICE, "--out", "no/such/dir/q.csv",
                   expect=("does not exist",))
    _fails_cleanly(folder, "price", "book.csv", *PRICE, "--out", "old_quotes.csv",
                   expect=("exists already", "--force"))
    _fails_cleanly(folder, "price", "book.csv", *PRICE, "--out", "quotes.json",
                   expect=("unsupported file type",))
    # an output that is an input is refused even with --force
    _fails_cleanly(folder, "price", "book.csv", *PRICE, "--out", "book.csv", "--force",
                   expect=("is also an input",))
    # a run that fails after the output was checked leaves no half file and no temporary file
    _fails_cleanly(folder, "price", "negative.csv", *PRICE, "--out", "new.csv", expect=("headcount",))
    # the HTML report's folder is checked before the demo runs (nothing on stdout: it never started)
    err = _fails_cleanly(folder, "demo", "--synthetic", "50", "--html", "nowhere/r.html")
    assert "nowhere" in err
    _fails_cleanly(folder, "template", "portfolio", "--out", "old_quotes.csv", expect=("--force",))


def test_bad_counts_and_arguments_fail_in_one_line(folder):
    for args in (("demo", "--synthetic", "0"), ("demo", "--synthetic", "-3"),
                 ("tariff", "zhejiang-demo", "--rows", "0"), ("stress", "x", "--n-sims", "0"),
                 ("demo", "--seed", "many"), ("price", "book.csv"), ("frobnicate",)):
        _fails_cleanly(folder, *args)
    _fails_cleanly(folder, "price", "book.csv", *PRICE, "--option", "per_person", expect=("KEY=VALUE",))


def test_regime_floor_needs_override(folder):
    low = ("--tariff", "zhejiang-demo", "--option", "per_person=300000")
    _fails_cleanly(folder, "price", "book.csv", *low, expect=("below", "--override"))
    res = _run(folder, "price", "book.csv", *low, "--override", "--out", "q.csv")
    # zhejiang-demo has no 30万 row: the override lets the run reach the tariff, which refuses it
    assert "Traceback" not in res.stderr and "--override" in res.stderr


def test_broken_pipe_is_one_line(folder):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes: its first write fails
    try:
        res = _run(folder, "sectors", stdout=write)
    finally:
        os.close(write)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "head" in res.stderr


def test_debug_shows_the_traceback(folder):
    res = _run(folder, "--debug", "price", "missing.csv", *PRICE)
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_encoding_and_force_succeed_when_asked(folder):
    res = _run(folder, "price", "gbk.csv", *PRICE, "--encoding", "gb18030", "--out", "old_quotes.csv",
               "--force")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    text = (folder / "old_quotes.csv").read_text(encoding="utf-8")
    assert text.startswith("enterprise_id") and "E3" in text
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left
