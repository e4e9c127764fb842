"""Reading a user's data into the canonical tables of the data contract, with a quality report."""

from crindex.data.load import Dataset, load_dataset, model_columns
from crindex.data.quality import QualityReport

__all__ = ["Dataset", "QualityReport", "load_dataset", "model_columns"]
