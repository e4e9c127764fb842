"""The example models shipped with crindex (examples/ at the repository's top)."""

from __future__ import annotations

from pathlib import Path

from crindex.errors import ModelError, Reason

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "examples",  # a source checkout (editable install)
    Path(__file__).resolve().parent / "example_models",  # an installed wheel
)


def example_path(name: str) -> Path:
    """The path of example model ``name`` (``ecommerce``, ``b2b``, ``saas_health``)."""
    for folder in _CANDIDATES:
        path = folder / f"{name}.yaml"
        if path.exists():
            return path
    raise ModelError.single(Reason.DATA_NOT_FOUND, f"example model `{name}` not found",
                            hint="examples: ecommerce, b2b, saas_health")
