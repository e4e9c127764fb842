"""Install extras: which modules each one brings, and one clear error when one is missing.

The base install scores on embedded DuckDB; everything else is an extra that a command checks
for before it starts, so a missing one is a one-line message naming the command, the missing
modules and the ``pip install`` that fixes it (exit 2), never an ``ImportError`` traceback.
"""

from __future__ import annotations

import importlib.util

from crindex.errors import MissingExtraError, Reason

#: the modules each extra of pyproject.toml provides (checked by tests/test_extras.py)
EXTRAS: dict[str, tuple[str, ...]] = {
    "service": ("fastapi", "uvicorn", "uvloop", "httptools", "jinja2", "orjson"),
    "postgres": ("psycopg",),
    "spark": ("pyspark",),
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found without importing them)."""
    gone = []
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            gone.append(module)
    return gone


def require(extra: str, needed_by: str, where: str = "") -> None:
    """Raise :class:`~crindex.errors.MissingExtraError` unless ``extra`` is installed.

    Parameters
    ----------
    extra
        ``service``, ``postgres`` or ``spark``.
    needed_by
        What needs it, for the message: ``crindex serve``, ``a PostgreSQL store``.
    where
        The option or argument that asked for it (``--store``), if any.
    """
    gone = missing_modules(extra)
    if gone:
        verb = "is" if len(gone) == 1 else "are"
        raise MissingExtraError.single(
            Reason.MISSING_EXTRA,
            f"{needed_by} needs {', '.join(gone)} (the `{extra}` extra), which {verb} not "
            "installed", where, f"install it with: pip install 'crindex[{extra}]'")
