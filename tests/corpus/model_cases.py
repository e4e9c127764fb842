"""Bad model files."""

from __future__ import annotations

from tests.corpus import Case, World


def _missing_model(world: World) -> None:
    world.model.unlink()


CASES: list[Case] = [
    Case("model-file-missing", "model", needles=("{model}",), setup=_missing_model),
]
