"""docs/act.md: the worked examples of "Path to the next tier" and "Why it changed" run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "act.md"


def section_code(heading: str) -> str:
    """The Python blocks under ``## heading`` (up to the next ``## ``), joined in order."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end >= 0 else len(text)]
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert blocks, f"no Python example under '## {heading}' in {DOC.name}"
    return "\n".join(blocks)


@pytest.mark.parametrize("heading", ["Path to the next tier", "Why it changed"])
def test_worked_example_runs(heading):
    exec(compile(section_code(heading), f"{DOC.name}: {heading}", "exec"), {})
