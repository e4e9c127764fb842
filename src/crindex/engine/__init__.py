"""How a model is computed: aggregates, normalisers, compilation to Ibis, backends."""

from crindex.engine.compile import Compiled, compile_model

__all__ = ["Compiled", "compile_model"]
