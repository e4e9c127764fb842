"""The bad-input corpus (tests/corpus): every case exits as expected, with no traceback, a
message naming the place and the fix, and no file changed; the category count is printed
at the end of the run (``-rA`` or the terminal summary)."""

from __future__ import annotations

import collections
import hashlib
import importlib
import pkgutil
from pathlib import Path

import pytest

from tests import corpus
from tests.corpus import Case, World

from .test_cli_store import write_five


def _cases() -> list[Case]:
    found: list[Case] = []
    for info in pkgutil.iter_modules(corpus.__path__):
        if info.name.endswith("_cases"):
            found += importlib.import_module(f"tests.corpus.{info.name}").CASES
    return found


CASES = _cases()


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "folder" for p in sorted(folder.rglob("*"))}


def test_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), collections.Counter(names).most_common(3)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, cli) -> None:
    model, data = write_five(tmp_path)
    world = World(tmp_path, model, data)
    case.setup(world)
    before = _files(tmp_path)
    code, text = cli(*(world.fill(a) for a in case.args))
    assert "Traceback" not in text, text
    assert code == case.exit, text
    flat = " ".join(text.split())
    for needle in case.needles:
        assert world.fill(needle) in flat, (needle, text)
    assert _files(tmp_path) == before, "a failed run changed files"



def category_counts() -> str:
    """The corpus by category, one line (printed at the end of every run that collects it)."""
    counts = collections.Counter(c.category for c in CASES)
    return ("bad-input corpus: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + f" (total {sum(counts.values())})")


def test_corpus_size_by_category() -> None:
    """At least 60 cases, across models, data and command lines."""
    counts = collections.Counter(c.category for c in CASES)
    assert sum(counts.values()) >= 60, counts
    assert {"model", "data", "command line"} <= set(counts), counts
