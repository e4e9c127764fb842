"""The Python API: score a model over data, explain a customer's score, write the results.

>>> from crindex.api import score
>>> result = score("examples/ecommerce.yaml", "crindex-demo/data", as_of="2025-12-31")
>>> result.tier_counts()                                   # doctest: +SKIP
>>> result.explain("C0000042").rows                         # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from crindex.engine.compile import Compiled, compile_model
from crindex.engine.fit import ModelFit, fit_model
from crindex.errors import DataError, Reason
from crindex.model.loader import load_model, metric_table
from crindex.model.registry import AGGREGATES as AGG_INFO
from crindex.model.spec import CRIModel, MetricSpec


def as_date(value: str | dt.date | dt.datetime | None, default: dt.date | None = None) -> dt.date:
    """Parse an ``as_of`` given as text (YYYY-MM-DD) or a date."""
    if value is None:
        return default or dt.date.today()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DataError.single(
            Reason.BAD_PARAMETER, f"as_of {value!r} is not a date", "--as-of",
            "write it as YYYY-MM-DD, e.g. 2025-12-31",
        ) from None


@dataclass
class ExplainRow:
    dimension: str
    metric: str
    source: str
    raw: Any
    score: float | None
    weight: float
    weighted: float
    missing: bool
    dimension_id: str = ""
    metric_id: str = ""


@dataclass
class Explanation:
    """The evaluation table of one customer's score."""

    customer_id: str
    score: float | None
    tier: str | None
    tier_label: str | None
    strategy: str | None
    coverage: float
    #: dimension id -> score; labels in :attr:`dimension_labels`
    dimensions: dict[str, float | None]
    rows: list[ExplainRow]
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    dimension_labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "score": self.score,
            "tier": self.tier,
            "tier_label": self.tier_label,
            "strategy": self.strategy,
            "coverage": self.coverage,
            # keyed by ids, labels beside them (as the API's customer document)
            "dimensions": [{"id": k, "label": self.dimension_labels.get(k, k), "score": v}
                           for k, v in self.dimensions.items()],
            "metrics": [{"id": r.metric_id, "label": r.metric, "dimension": r.dimension_id,
                         "dimension_label": r.dimension, "source": r.source, "raw": r.raw,
                         "score": r.score, "weight": r.weight, "weighted": r.weighted,
                         "missing": r.missing} for r in self.rows],
            "adjustments": self.adjustments,
        }


def describe_source(m: MetricSpec, origins: Mapping[str, str] | None = None) -> str:
    """Where a metric's raw value comes from, in words: table, aggregate, window, filter."""
    table = metric_table(m)
    info = AGG_INFO[m.aggregate]
    what = m.aggregate
    if m.aggregate == "ratio" and m.numerator and m.denominator:
        def side(p: Any) -> str:
            bits = [p.aggregate] + ([p.column] if p.column else []) + \
                   ([f"kind={p.kind}"] if p.kind else []) + \
                   [f"{k}={v}" for k, v in (p.where or {}).items()]
            return " ".join(bits)
        what = f"({side(m.numerator)}) / ({side(m.denominator)})"
    elif m.column:
        what = f"{m.aggregate}({m.column})"
    bits = [f"{table}: {what}"]
    if m.kind:
        bits.append(f"kind={m.kind}")
    bits += [f"{k}={v}" for k, v in (m.where or {}).items()]
    if not info.fixed_table or info.fixed_table != "customers":
        bits.append(f"window {m.window or 'all'}")
    if origins and table in origins:
        bits.append(f"from {origins[table]}")
    return ", ".join(bits)


@dataclass
class ScoreResult:
    """Every customer's score, tier and evaluation, with the compiled query behind them."""

    model: CRIModel
    as_of: dt.date
    table: pa.Table
    compiled: Compiled
    quality: Any = None
    origins: dict[str, str] = field(default_factory=dict)
    #: what the run's summary must say besides the figures (e.g. stale adjustments)
    warnings: list[str] = field(default_factory=list)

    @property
    def sql(self) -> str:
        return self.compiled.sql()

    @property
    def fitted(self) -> ModelFit | None:
        """What the model learned from the data before compiling (CLV parameters, ...)."""
        return self.compiled.fitted

    def tier_counts(self) -> dict[str, int]:
        """Customers per tier, in the model's tier order (unscored last, if any)."""
        tiers = self.table.column("tier").to_pylist()
        counts = dict.fromkeys(self.model.tiers.order, 0)
        for t in tiers:
            key = t if t is not None else "unscored"
            counts[key] = counts.get(key, 0) + 1
        if counts.get("unscored") == 0:
            counts.pop("unscored")
        return counts

    def explain(self, customer_id: str) -> Explanation:
        """The evaluation table of one customer."""
        ids = self.table.column("customer_id")
        import pyarrow.compute as pc

        mask = pc.equal(ids, pa.scalar(str(customer_id)))
        rows = self.table.filter(mask).to_pylist()
        if not rows:
            sample = ", ".join(ids.slice(0, 5).to_pylist())
            raise DataError.single(
                Reason.UNKNOWN_CUSTOMER,
                f"customer `{customer_id}` was not scored as of {self.as_of}",
                hint=f"ids look like: {sample}; customers created after as_of or churned "
                "before it are not scored",
            )
        row = rows[0]
        levels = {lv.id: lv for lv in self.model.tiers.levels}
        out_rows = []
        for d, m in self.model.metrics:
            out_rows.append(ExplainRow(
                dimension=d.display,
                metric=m.display,
                source=describe_source(m, self.origins),
                raw=_clean(row[f"{m.id}__raw"]),
                score=_clean(row[f"{m.id}__score"]),
                weight=_clean(row[f"{m.id}__weight"]),
                weighted=_clean(row[f"{m.id}__contribution"]),
                missing=bool(row[f"{m.id}__missing"]),
                dimension_id=d.id,
                metric_id=m.id,
            ))
        tier = row["tier"]
        lv = levels.get(tier) if tier else None
        return Explanation(
            customer_id=str(customer_id),
            score=_clean(row["score"]),
            tier=tier,
            tier_label=lv.display if lv else None,
            strategy=lv.strategy if lv else None,
            coverage=_clean(row["coverage"]),
            dimensions={d.id: _clean(row[f"dim__{d.id}"]) for d in self.model.dimensions},
            rows=out_rows,
            dimension_labels={d.id: d.display for d in self.model.dimensions},
        )

    def write(self, out_dir: str | Path, formats: tuple[str, ...] = ("parquet", "csv"),
              duckdb_file: str | Path | None = None) -> list[Path]:
        """Write scores (Parquet, CSV with BOM), the model's SQL and quality report, atomically."""
        from crindex.output import write_result

        return write_result(self, Path(out_dir), formats, duckdb_file)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def score(
    model: CRIModel | str | Path,
    data: Any,
    as_of: str | dt.date | None = None,
    *,
    con: Any = None,
    quarantine_dir: str | Path | None = None,
    checks: bool = True,
    guardrails: bool = True,
) -> ScoreResult:
    """Score every customer active at ``as_of``.

    Parameters
    ----------
    model
        A loaded :class:`CRIModel` or the path of a model file.
    data
        Whatever :func:`crindex.data.open_dataset` opens: a data folder, a table's file, a
        DuckDB file, a database URL, a mapping of canonical table names to pandas/pyarrow/Ibis
        tables, or an opened dataset. Every input takes the same checks.
    as_of
        The scoring date; no row after it is used. Defaults to the model's ``as_of``, then today.
    con
        The backend to open the data on (default: embedded DuckDB; a Spark backend scores on
        Spark).
    quarantine_dir
        Also write the quality report and the rows set aside here.
    checks
        ``False`` skips the data checks (see :func:`crindex.data.open_dataset`) and the
        guardrails.
    guardrails
        ``False`` records what the guardrails find in the quality report but refuses nothing.

    Raises
    ------
    DataError
        When a guardrail refuses the data (:mod:`crindex.data.guardrails`): a table lost too
        many rows, the data is stale or starts after ``as_of``, or a ratio is out of range.
    """
    if not isinstance(model, CRIModel):
        model = load_model(model)
    day = as_date(as_of, model.as_of)
    from crindex.data import open_dataset
    from crindex.data.guardrails import check_scored

    ds = open_dataset(data, model=model, as_of=day, quarantine_dir=quarantine_dir, con=con,
                      checks=checks, guardrails=guardrails)
    tables, backend, quality, origins = ds.tables, ds.con, ds.quality, dict(ds.sources)
    fitted = fit_model(model, tables, day)
    compiled = compile_model(model, tables, day, engine=getattr(backend, "name", "duckdb"),
                             fitted=fitted)
    from crindex.engine.connect import execute

    table = execute(backend, compiled.expr)
    # the dates at this as_of (the data may have been opened for another) and the ratios
    check_scored(quality, model, day, table, write_to=quarantine_dir, refuse=guardrails)
    return ScoreResult(model, day, table, compiled, quality, origins,
                       warnings=fitted.warnings())

