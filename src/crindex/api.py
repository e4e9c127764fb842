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

from crindex.act.next_tier import MetricNow, NextTierPath, next_tier_path, peers_of
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
    #: the smallest changes of actionable metrics that reach the next tier (docs/act.md)
    next_tier: NextTierPath | None = None
    #: the sub-model that scored the customer (``None`` for a model without sub-models)
    submodel: str | None = None
    #: a parent account's roll-up rule (``None`` for a customer) and its children's parts
    rollup: str | None = None
    children: list[dict[str, Any]] = field(default_factory=list)
    dimension_labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "submodel": self.submodel,
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
            "next_tier": self.next_tier.to_dict() if self.next_tier is not None else None,
            **({"rollup": self.rollup, "children": self.children} if self.rollup else {}),
        }


def _condition(column: str, value: Any) -> str:
    """A filter as words: ``channel in visit, phone``, ``kind=nps`` (never a Python list)."""
    if isinstance(value, list | tuple | set):
        return f"{column} in {', '.join(str(v) for v in value)}"
    return f"{column}={value}"


def describe_source(m: MetricSpec, origins: Mapping[str, str] | None = None) -> str:
    """Where a metric's raw value comes from, in words: table, aggregate, window, filter."""
    table = metric_table(m)
    info = AGG_INFO[m.aggregate]
    what = m.aggregate
    if m.aggregate == "ratio" and m.numerator and m.denominator:
        def side(p: Any) -> str:
            bits = [p.aggregate] + ([p.column] if p.column else []) + \
                   ([f"kind={p.kind}"] if p.kind else []) + \
                   [_condition(k, v) for k, v in (p.where or {}).items()]
            return " ".join(bits)
        what = f"({side(m.numerator)}) / ({side(m.denominator)})"
    elif m.column:
        what = f"{m.aggregate}({m.column})"
    bits = [f"{table}: {what}"]
    if m.kind:
        bits.append(f"kind={m.kind}")
    bits += [_condition(k, v) for k, v in (m.where or {}).items()]
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
    #: parent accounts' roll-ups, by parent id (a model with ``hierarchy:``;
    #: :mod:`crindex.engine.hierarchy`)
    rollups: dict[str, Any] = field(default_factory=dict)
    #: the k-means clusters (a model with ``clusters:``; :mod:`crindex.engine.clusters`)
    clusters: Any = None

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
        if str(customer_id) in self.rollups:
            return self._explain_parent(self.rollups[str(customer_id)], row)
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
            next_tier=self._next_tier(row),
            submodel=row.get("submodel"),
            dimension_labels={d.id: d.display for d in self.model.dimensions},
        )

    def _next_tier(self, row: Mapping[str, Any]) -> NextTierPath:
        """The path to the next tier of the customer of ``row`` (see :mod:`crindex.act`).

        Metrics that compare customers read the other customers' raw values from this
        result; tiers by rank the lowest score now in each tier.
        """
        now, peers = {}, {}
        for _, m in self.model.metrics:
            missing = bool(row[f"{m.id}__missing"])
            raw = _clean(row[f"{m.id}__raw"])
            now[m.id] = MetricNow(raw, None if missing else _clean(row[f"{m.id}__score"]),
                                  missing)
            if m.actionable and m.normalise.looks_across:
                peers[m.id] = peers_of(self.table.column(f"{m.id}__raw").to_pylist(), raw)
        floors = None
        if self.model.tiers.by == "rank":
            grouped = self.table.group_by("tier").aggregate([("score", "min")])
            floors = {t: float(v) for t, v in zip(grouped.column("tier").to_pylist(),
                                                  grouped.column("score_min").to_pylist(),
                                                  strict=True) if t is not None and v is not None}
        return next_tier_path(self.model, now, peers, floors)

    def _explain_parent(self, rollup: Any, row: dict[str, Any]) -> Explanation:
        """A parent account: its roll-up rule and each child's contribution."""
        from crindex.engine.hierarchy import parent_tiers

        levels = {lv.id: lv for lv in parent_tiers(self.model).levels}
        lv = levels.get(rollup.tier) if rollup.tier else None
        return Explanation(
            customer_id=rollup.customer_id, score=_clean(rollup.score), tier=rollup.tier,
            tier_label=lv.display if lv else None, strategy=lv.strategy if lv else None,
            coverage=_clean(row.get("coverage")), dimensions={}, rows=[],
            rollup=rollup.rule, children=[c.to_dict() for c in rollup.children])

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

    table = execute(backend, compiled.expr, compiled.sort_after)
    # the dates at this as_of (the data may have been opened for another) and the ratios
    check_scored(quality, model, day, table, write_to=quarantine_dir, refuse=guardrails)
    rollups: dict[str, Any] = {}
    if model.hierarchy is not None:
        from crindex.engine.hierarchy import links_of, roll_up

        table, rollups = roll_up(model, table, links_of(tables["customers"]))
    clusters = None
    if model.clusters is not None:
        from crindex.engine.clusters import cluster_result

        table, clusters = cluster_result(model.clusters, table)
    return ScoreResult(model, day, with_strategy_groups(model, table), compiled, quality,
                       origins, warnings=fitted.warnings(), rollups=rollups, clusters=clusters)


#: the output column of each customer's strategy group (docs/act.md, Strategy uplift)
STRATEGY_GROUP = "strategy_group"


def with_strategy_groups(model: CRIModel, table: pa.Table) -> pa.Table:
    """``table`` with ``strategy_group`` (``treated``, ``holdout``) when a tier has a holdout.

    Drawn per customer from a hash of the holdout's seed and the customer id
    (:func:`crindex.stats.strategy_groups`), after the tiers: the same on every engine.
    """
    holdouts = {lv.id: (lv.holdout.share, lv.holdout.seed) for lv in model.tiers.levels
                if lv.holdout is not None}
    if not holdouts or not isinstance(table, pa.Table):
        return table
    from crindex.stats import strategy_groups

    groups = strategy_groups(table.column("customer_id").to_pylist(),
                             table.column("tier").to_pylist(), holdouts)
    return table.append_column(STRATEGY_GROUP, pa.array(groups, pa.string()))

