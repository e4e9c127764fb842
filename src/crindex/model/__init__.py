"""The scoring model as code: specs, loading with file:line, checks, JSON Schema."""

from crindex.model.loader import load_model, parse_model
from crindex.model.spec import CRIModel, DimensionSpec, MetricSpec, TiersSpec

__all__ = ["CRIModel", "DimensionSpec", "MetricSpec", "TiersSpec", "load_model", "parse_model"]
