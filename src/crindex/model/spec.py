"""The scoring model as code: frozen pydantic specs that forbid unknown keys.

A model file (YAML) is parsed into :class:`CRIModel`. These classes say *what* to compute; they
know nothing about engines (see :mod:`crindex.engine`). Every object keeps the file and line it
came from in ``.at`` so that errors can point at it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Spec(BaseModel):
    """Base of every spec: frozen, unknown keys forbidden, remembers file:line (``.at``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _where: str = PrivateAttr(default="")

    @property
    def at(self) -> str:
        """``file:line`` this object came from (empty when built in code)."""
        return self._where


# --------------------------------------------------------------------------------------------
# windows


_WINDOW = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


def parse_window(text: str | None) -> tuple[int, str] | None:
    """Parse ``"90d"``, ``"12w"``, ``"6m"``, ``"1y"`` or ``"all"`` into (count, unit)."""
    if text is None or str(text).strip().lower() in {"all", ""}:
        return None
    m = _WINDOW.match(str(text).lower())
    if not m:
        raise ValueError(
            f"window {text!r} is not understood; write a number and a unit: 90d, 12w, 6m, 1y, "
            "or 'all'"
        )
    return int(m.group(1)), m.group(2)


def window_start(as_of: dt.date, window: str | None) -> dt.date | None:
    """First day *excluded* from a window ending on ``as_of``: rows count when day > start.

    ``90d`` ending 2026-06-30 keeps days 2026-04-02 .. 2026-06-30 (90 days). Months and years
    are calendar months (the day is clamped to the month's end).
    """
    parsed = parse_window(window)
    if parsed is None:
        return None
    count, unit = parsed
    if unit == "d":
        return as_of - dt.timedelta(days=count)
    if unit == "w":
        return as_of - dt.timedelta(weeks=count)
    months = count if unit == "m" else 12 * count
    year, month = divmod(as_of.year * 12 + (as_of.month - 1) - months, 12)
    month += 1
    for day in (as_of.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day, as_of.day))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# filters

Scalar = str | int | float | bool | None
Condition = Scalar | list[Scalar] | dict[str, Scalar | list[Scalar]]
#: ``{column: value}`` equality, ``{column: [a, b]}`` membership, or
#: ``{column: {">=": 100, "<": 500, "in": [...], "not_in": [...], "!=": x}}``
Where = dict[str, Condition]
FILTER_OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "is_null")


# --------------------------------------------------------------------------------------------
# normalisers (what they mean; engine/normalisers.py computes them)

Direction = Literal["higher", "lower"]


class RangeNorm(Spec):
    """Linear map of ``[min, max]`` onto 0..100, clipped; ``lower`` reverses it."""

    method: Literal["range"]
    min: float
    max: float
    direction: Direction = "higher"


class LogRangeNorm(Spec):
    """Like ``range`` on ``log(1 + x)``: for amounts spanning orders of magnitude."""

    method: Literal["log_range"]
    min: float = 0.0
    max: float
    direction: Direction = "higher"


class PercentileNorm(Spec):
    """Rank among customers with a value: ``percent_rank * 100`` (ties share the lowest)."""

    method: Literal["percentile"]
    direction: Direction = "higher"


class Bin(Spec):
    """One bin: raw values ``>= min`` (and ``< max`` where given) get ``points``."""

    min: float | None = None
    max: float | None = None
    points: float


class BinsNorm(Spec):
    """Thresholds to points: the first bin (in file order) whose bounds hold wins.

    ``out_of`` is the top of the points scale (5 for a 1-5 scale): the score is
    ``points / out_of * 100``.
    """

    method: Literal["bins"]
    bins: list[Bin] = Field(min_length=1)
    out_of: float = 100.0
    default: float | None = None


class PointsNorm(Spec):
    """Points per unit: ``base + points * raw / per``, clipped to ``[0, cap]``, scaled to 100.

    ``+1 per 1,000 spent, capped at 100`` is ``per: 1000, points: 1, cap: 100``.
    """

    method: Literal["points"]
    per: float = 1.0
    points: float = 1.0
    base: float = 0.0
    cap: float = 100.0
    out_of: float | None = None


class MapNorm(Spec):
    """Category to score: ``values: {大型: 100, 中型: 70}``; others get ``default``."""

    method: Literal["map"]
    values: dict[str, float]
    default: float | None = None


class ZScoreNorm(Spec):
    """``(x - mean) / std`` across customers, clipped to ``[-clip, clip]``, mapped to 0..100."""

    method: Literal["zscore"]
    clip: float = 3.0
    direction: Direction = "higher"


class IdentityNorm(Spec):
    """The raw value is already a 0..100 score (clipped)."""

    method: Literal["identity"]


Normaliser = Annotated[
    RangeNorm
    | LogRangeNorm
    | PercentileNorm
    | BinsNorm
    | PointsNorm
    | MapNorm
    | ZScoreNorm
    | IdentityNorm,
    Field(discriminator="method"),
]
NORMALISER_NAMES = (
    "range",
    "log_range",
    "percentile",
    "bins",
    "points",
    "map",
    "zscore",
    "identity",
)


# --------------------------------------------------------------------------------------------
# metrics


class MissingPolicy(Spec):
    """What a customer with no raw value gets.

    ``neutral``: a fixed ``score`` (default 50); ``zero``: 0; ``reweight``: the metric is left
    out and the weights of the metrics present are scaled up (coverage falls).
    """

    policy: Literal["neutral", "zero", "reweight"] = "reweight"
    score: float = Field(default=50.0, ge=0, le=100)


class SubAggregate(Spec):
    """One side of a ``ratio``."""

    aggregate: str
    column: str | None = None
    where: Where | None = None
    kind: str | None = None


class MetricSpec(Spec):
    """One metric: an aggregate over one table in a window, normalised to 0..100."""

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    description: str | None = None
    aggregate: str
    table: str | None = None
    column: str | None = None
    where: Where | None = None
    kind: str | None = None
    window: str | None = None
    numerator: SubAggregate | None = None
    denominator: SubAggregate | None = None
    normalise: Normaliser
    weight: float = Field(ge=0, le=100)
    missing: MissingPolicy = MissingPolicy()
    #: settings of the aggregates that take some (clv, p_alive, expected_purchases: horizon,
    #: discount_rate, ...; see docs/clv.md); checked by the aggregate
    params: dict[str, Scalar] | None = None

    @field_validator("missing", mode="before")
    @classmethod
    def _missing_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"policy": value}
        return value

    @field_validator("window", mode="before")
    @classmethod
    def _check_window(cls, value: Any) -> Any:
        if value is not None:
            parse_window(str(value))
            return str(value)
        return value

    @property
    def display(self) -> str:
        return self.label or self.id


class DimensionSpec(Spec):
    """A group of metrics with its own weight (or none, when metric weights are flat)."""

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    weight: float | None = Field(default=None, ge=0, le=100)
    metrics: list[MetricSpec] = Field(min_length=1)

    @property
    def display(self) -> str:
        return self.label or self.id


# --------------------------------------------------------------------------------------------
# tiers


class TierLevel(Spec):
    """One tier. Score tiers use ``min`` (>=) or ``above`` (>); rank tiers ``top`` / ``bottom`` (%).

    The one level with no bound catches everyone else.
    """

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    strategy: str | None = None
    min: float | None = Field(default=None, ge=0, le=100)
    above: float | None = Field(default=None, ge=0, le=100)
    top: float | None = Field(default=None, gt=0, lt=100)
    bottom: float | None = Field(default=None, gt=0, lt=100)

    @property
    def display(self) -> str:
        return self.label or self.id


class TiersSpec(Spec):
    """Ordered tiers, best first: by score thresholds or by rank share."""

    by: Literal["score", "rank"] = "score"
    levels: list[TierLevel] = Field(min_length=1)


DEFAULT_TIERS = TiersSpec(
    by="score",
    levels=[
        TierLevel(id="core", label="Core", min=90, strategy="Retain and grow: dedicated account "
                  "manager, priority service, co-planning and exclusive offers."),
        TierLevel(id="potential", label="Potential", min=70, strategy="Develop: cross-sell and "
                  "up-sell the product lines they do not buy yet; regular business reviews."),
        TierLevel(id="ordinary", label="Ordinary", min=50, strategy="Maintain at low cost: "
                  "automated nurture campaigns and self-service."),
        TierLevel(id="at_risk", label="At risk", strategy="Win back or let go: find the cause "
                  "(service, price, competitor), call within a week, offer a remedy."),
    ],
)


# --------------------------------------------------------------------------------------------
# sources


def _text_keys(value: Any) -> Any:
    """Codes written as numbers (``1: paid``) are the text a file holds (``"1"``)."""
    if isinstance(value, dict):
        return {(str(k) if isinstance(k, int | float) and not isinstance(k, bool) else k): v
                for k, v in value.items()}
    return value


class SourceSpec(Spec):
    """Where a canonical table comes from and how the user's columns map onto it.

    ``columns`` maps the user's column name to the contract's (``客户编号: customer_id``);
    ``units`` multiplies numeric columns after renaming (``amount: 10000`` for 万元);
    ``date_format`` is a strptime format for every date column (``"%Y/%m/%d"``);
    ``values`` maps the user's words in a categorical column onto the contract's, keyed by the
    contract's column (``status: {已付款: paid, 已退款: refunded}``); values it does not name
    are kept as they are.
    """

    path: str | None = None
    table: str | None = None
    sheet: str | None = None
    format: Literal["csv", "parquet", "xlsx", "txt"] | None = None
    encoding: str | None = None
    delimiter: str | None = None
    header: bool = True
    names: list[str] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    units: dict[str, float] = Field(default_factory=dict)
    date_format: str | None = None
    constants: dict[str, Scalar] = Field(default_factory=dict)
    values: dict[str, Annotated[dict[str, str], BeforeValidator(_text_keys)]] = Field(
        default_factory=dict)


class ChurnRule(Spec):
    """How churn is read from data: ``customers.churned_at``, or inactivity for N days."""

    inactivity_days: int | None = Field(default=None, gt=0)


# --------------------------------------------------------------------------------------------
# alerts (what to watch; crindex.alerts evaluates them over the history store)

Severity = Literal["info", "low", "medium", "high", "critical"]
CompareOp = Literal[">=", ">", "<=", "<", "==", "!="]


def _window_text(value: Any) -> Any:
    """A window (``7d``, ``4w``, ``1m``) as text, checked by :func:`parse_window`."""
    return value if value is None else (parse_window(str(value)) and str(value))


class AlertSpec(Spec):
    """One alert rule, evaluated on every snapshot written to the history store.

    ``rule`` names a registered rule (see :mod:`crindex.alerts.rules`, which also says which
    of the other keys each rule takes):

    - ``score_drop``: the score fell by ``relative`` % or ``absolute`` points (either is enough)
      from its highest value in the snapshots of the last ``within`` (``7d``);
    - ``tier_downgrade``: the tier is worse than in the previous snapshot (no older than
      ``within`` when given);
    - ``score_below``: the score is below ``threshold``;
    - ``metric``: a metric's ``value`` (``raw`` or ``score``) compared with ``op`` to
      ``threshold``, e.g. ``metric: email_recency, op: ">=", threshold: 30``; ``missing: fire``
      also raises it for customers with no value.

    An alert goes to the customer's owner; while it is open or acknowledged it is not raised
    again for the same customer, and with ``auto_resolve`` it resolves itself on the first
    later snapshot where its condition no longer holds.
    """

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    rule: str
    severity: Severity = "medium"
    within: Annotated[str | None, BeforeValidator(_window_text)] = None
    relative: float | None = Field(default=None, gt=0, le=100)
    absolute: float | None = Field(default=None, gt=0, le=100)
    threshold: float | str | None = None
    metric: str | None = None
    value: Literal["raw", "score"] = "raw"
    op: CompareOp = ">="
    missing: Literal["skip", "fire"] = "skip"
    auto_resolve: bool = True


class CRIModel(Spec):
    """A whole Customer Relationship Index model."""

    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    version: str | int | None = None
    as_of: dt.date | None = None
    sources: dict[str, SourceSpec] = Field(default_factory=dict)
    dimensions: list[DimensionSpec] = Field(min_length=1)
    tiers: TiersSpec = DEFAULT_TIERS
    churn: ChurnRule = ChurnRule()
    keep_personal: list[str] = Field(default_factory=list)
    alerts: list[AlertSpec] = Field(default_factory=list)
    _path: str = PrivateAttr(default="")
    _text: str = PrivateAttr(default="")

    @property
    def metrics(self) -> list[tuple[DimensionSpec, MetricSpec]]:
        """Every metric with its dimension, in file order."""
        return [(d, m) for d in self.dimensions for m in d.metrics]

    @property
    def flat_weights(self) -> bool:
        """True when dimensions carry no weight and metric weights sum to 100 overall."""
        return all(d.weight is None for d in self.dimensions)

    def effective_weight(self, dimension: DimensionSpec, metric: MetricSpec) -> float:
        """A metric's share of the total score, in percent (before any re-weighting)."""
        if self.flat_weights:
            return metric.weight
        return (dimension.weight or 0.0) * metric.weight / 100.0

    def metric(self, metric_id: str) -> MetricSpec:
        for _, m in self.metrics:
            if m.id == metric_id:
                return m
        raise KeyError(metric_id)

    @property
    def path(self) -> str:
        return self._path

    @property
    def text(self) -> str:
        """The model file's text as loaded (hashing, audit)."""
        return self._text
