"""How a model is computed: aggregates, normalisers, fitting, compilation to Ibis, backends.

Names load on first use: the aggregate and normaliser modules register with the model without
loading Ibis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crindex.engine.compile import Compiled, compile_model
    from crindex.engine.fit import ModelFit, fit_model

_HOMES = {"Compiled": "crindex.engine.compile", "compile_model": "crindex.engine.compile",
          "ModelFit": "crindex.engine.fit", "fit_model": "crindex.engine.fit"}

__all__ = ["Compiled", "ModelFit", "compile_model", "fit_model"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'crindex.engine' has no attribute {name!r}")
