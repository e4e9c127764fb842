"""One way in: any data to the checked canonical tables of the data contract, with a report."""

from crindex.data.load import Dataset, load_dataset, model_columns, open_dataset
from crindex.data.quality import QualityReport

__all__ = ["Dataset", "QualityReport", "load_dataset", "model_columns", "open_dataset"]
