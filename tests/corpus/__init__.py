"""A corpus of bad inputs: each case breaks one thing in a valid run and says what must follow.

Every case starts from the five-customer world written by
:func:`tests.test_cli_store.write_five` (``five.yaml`` and ``data/*.parquet`` in the case's
folder), lets ``setup`` break something (the model, a data file, a target), then runs
``crindex ARGS`` in this process. The runner (``tests/test_bad_input_corpus.py``) asserts, for
every case: the exit code, no traceback, every needle in the message (the place and the fix,
or a reason code), and that no file in the case's folder was created, changed or removed.

Cases live in one module per category (``model_cases``, ``data_cases``, ...), each exporting
``CASES: list[Case]``; the runner collects every ``tests/corpus/*_cases.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class World:
    """The case's folder and the valid inputs in it (``setup`` may change them)."""

    folder: Path
    model: Path
    data: Path

    def fill(self, text: str) -> str:
        """``{dir}``, ``{model}`` and ``{data}`` in an argument, replaced by real paths."""
        return text.format(dir=self.folder, model=self.model, data=self.data)


def _nothing(world: World) -> None:
    return None


#: the arguments of a valid scoring run of the five-customer world (the usual ``args``)
SCORE = ("score", "--model", "{model}", "--data", "{data}", "--as-of", "2025-06-30",
         "--out", "{dir}/out")


@dataclass(frozen=True)
class Case:
    """One bad input and what crindex must answer.

    ``category`` is what was bad (``model``, ``data`` or ``command line``); ``needles`` are
    words the message must hold (compared with whitespace collapsed, as rich may wrap);
    ``exit`` is the expected exit code.
    """

    name: str
    category: str
    needles: tuple[str, ...]
    setup: Callable[[World], None] = _nothing
    args: tuple[str, ...] = SCORE
    exit: int = 2
