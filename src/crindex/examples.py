"""The example models shipped with crindex.

They live once, in ``examples/`` at the repository's top (where the docs point); the package
folder ``crindex/example_models`` is a link to it, which the wheel build follows, so an
installed crindex carries the same files.
"""

from __future__ import annotations

from pathlib import Path

from crindex.errors import ModelError, Reason

FOLDER = Path(__file__).resolve().parent / "example_models"


def example_names() -> list[str]:
    """The example models' names, sorted."""
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def example_path(name: str) -> Path:
    """The path of example model ``name`` (``ecommerce``, ``b2b``, ``saas_health``, ...)."""
    path = FOLDER / f"{name}.yaml"
    if path.is_file():
        return path.resolve()  # in a checkout: examples/<name>.yaml, as the docs write it
    raise ModelError.single(Reason.DATA_NOT_FOUND, f"example model `{name}` not found",
                            hint="examples: " + (", ".join(example_names()) or f"none in {FOLDER}"))
