"""The one exception tree of crindex.

Every error a user can cause is a :class:`CrindexError` carrying a reason code that tests assert
on and a list of :class:`Problem` (what was found, where, what is allowed, how to fix). Problems
are collected and raised once, so a file with five mistakes gets five lines.

::

    CrindexError                      base; .reason, .problems
    ├── ModelError(ValueError)        the model file is wrong (schema, weights, unknown names)
    ├── DataError(ValueError)         the data cannot be read or does not fit the contract
    │   └── DataNotFoundError(FileNotFoundError)
    ├── EngineError(RuntimeError)     a backend failed while running a compiled model
    ├── OutputError(OSError)          results cannot be written where the user asked
    ├── StoreError(RuntimeError)      the history store refused an operation
    │   └── StoreNotFoundError(FileNotFoundError)
    ├── MissingExtraError(ImportError) an install extra a command needs is not installed
    └── FitError(ValueError)          a fitted model (weights, CLV) cannot be fitted or used
        └── NotFittedError            used before ``fit``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    """Machine-readable reason codes; tests assert on these, never on message text."""

    MODEL_SYNTAX = "model_syntax"
    MODEL_SCHEMA = "model_schema"
    WEIGHTS_SUM = "weights_sum"
    UNKNOWN_AGGREGATE = "unknown_aggregate"
    UNKNOWN_NORMALISER = "unknown_normaliser"
    UNKNOWN_TABLE = "unknown_table"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_ID = "duplicate_id"
    BAD_TIERS = "bad_tiers"
    BAD_PARAMETER = "bad_parameter"
    DATA_NOT_FOUND = "data_not_found"
    DATA_UNREADABLE = "data_unreadable"
    MISSING_COLUMN = "missing_column"
    MISSING_TABLE = "missing_table"
    ENGINE = "engine"
    STORE = "store"
    STORE_NOT_FOUND = "store_not_found"
    OUTPUT_PATH = "output_path"
    NOT_FITTED = "not_fitted"
    FIT = "fit"
    INCONSISTENT = "inconsistent"
    UNKNOWN_CUSTOMER = "unknown_customer"
    MISSING_EXTRA = "missing_extra"
    # guardrails: the data would give wrong numbers, so the run refuses to write
    ROWS_REJECTED = "rows_rejected"
    STALE_DATA = "stale_data"
    AS_OF_OUTSIDE_DATA = "as_of_outside_data"
    RATIO_OUT_OF_RANGE = "ratio_out_of_range"
    # sub-models and account hierarchies
    SUBMODEL_OVERLAP = "submodel_overlap"
    SUBMODEL_GAP = "submodel_gap"
    HIERARCHY = "hierarchy"


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong, with where it is and how to fix it."""

    message: str
    where: str = ""
    hint: str = ""
    reason: Reason | None = None

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


@dataclass
class CrindexError(Exception):
    """Base of every crindex error: a reason code and the problems found."""

    reason: Reason
    problems: list[Problem] = field(default_factory=list)
    summary: str = ""

    def __post_init__(self) -> None:
        Exception.__init__(self, str(self))

    def __str__(self) -> str:
        head = self.summary or (
            f"{len(self.problems)} problem(s) found" if len(self.problems) != 1 else ""
        )
        lines = [str(p) for p in self.problems]
        if head and lines:
            return head + ":\n" + "\n".join(f"  - {line}" for line in lines)
        return head or (lines[0] if lines else self.reason.value)

    @property
    def reasons(self) -> set[Reason]:
        """All reason codes among the problems (and the error's own)."""
        return {p.reason for p in self.problems if p.reason} | {self.reason}

    @classmethod
    def single(cls, reason: Reason, message: str, where: str = "", hint: str = "") -> CrindexError:
        return cls(reason=reason, problems=[Problem(message, where, hint, reason)])


class ModelError(CrindexError, ValueError):
    """The model file is wrong."""


class DataError(CrindexError, ValueError):
    """The data cannot be read or does not fit the contract."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data file or table named by the user does not exist."""


class EngineError(CrindexError, RuntimeError):
    """A backend failed while running a compiled model."""


class OutputError(CrindexError, OSError):
    """Results cannot be written where the user asked (a file where a folder must be, ...)."""


class StoreError(CrindexError, RuntimeError):
    """The history store refused an operation."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """A command that only reads the history store was given a store that does not exist."""


class MissingExtraError(CrindexError, ImportError):
    """An install extra (``crindex[service]``, ``[postgres]``, ``[spark]``) is not installed."""


class FitError(CrindexError, ValueError):
    """A fitted model cannot be fitted or used."""


class NotFittedError(FitError):
    """A fitted object was used before ``fit``."""


def raise_if(problems: list[Problem], error: type[CrindexError], summary: str = "") -> None:
    """Raise ``error`` carrying every problem at once, if there is any."""
    if problems:
        reason = next((p.reason for p in problems if p.reason), Reason.MODEL_SCHEMA)
        raise error(reason=reason, problems=list(problems), summary=summary)
