"""The scoring model as code: frozen pydantic specs that forbid unknown keys.

A model file (YAML) is parsed into :class:`CRIModel`. These classes say *what* to compute; they
know nothing about engines (see :mod:`crindex.engine`). Every object keeps the file and line it
came from in ``.at`` so that errors can point at it.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from crindex.calendar import parse_window
from crindex.contract import CHURNED_WORDS, CONTRACT, STAYED_WORDS
from crindex.errors import Problem
from crindex.model.registry import NORMALISERS, RegisteredUnion

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Spec(BaseModel):
    """Base of every spec: frozen, unknown keys forbidden, remembers file:line (``.at``).

    Schemas are built on first use, not when the class is defined: a metric's ``normalise``
    is a union of the registered normalisers, known only once the plug-ins have registered.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True,
                              allow_inf_nan=False)
    _where: str = PrivateAttr(default="")
    _loc: tuple[str | int, ...] = PrivateAttr(default=())

    @property
    def at(self) -> str:
        """``file:line`` this object came from (empty when built in code)."""
        return self._where

    @property
    def loc(self) -> tuple[str | int, ...]:
        """Path of this object inside the model document (empty when built in code)."""
        return self._loc


# --------------------------------------------------------------------------------------------
# filters

Scalar = str | int | float | bool | None
Condition = Scalar | list[Scalar] | dict[str, Scalar | list[Scalar]]
#: ``{column: value}`` equality, ``{column: [a, b]}`` membership, or
#: ``{column: {">=": 100, "<": 500, "in": [...], "not_in": [...], "!=": x}}``
Where = dict[str, Condition]
FILTER_OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "is_null")


# --------------------------------------------------------------------------------------------
# normalisers (each registers its settings and computation in crindex.engine.normalisers)


class RawDomain(NamedTuple):
    """The values a metric's raw value can take: bounds (``None``: open) and whole numbers.

    From the metric's aggregate (:func:`crindex.model.registry.raw_domain`): a count is a
    whole number from 0, an NPS lies in -100..100. A suggested change stays inside it.
    """

    lowest: float | None = None
    highest: float | None = None
    whole: bool = False

    def holds(self, value: float) -> bool:
        """True when ``value`` is one the raw value can take."""
        if self.lowest is not None and value < self.lowest:
            return False
        if self.highest is not None and value > self.highest:
            return False
        return not self.whole or float(value).is_integer()


#: any number: the domain of a raw value nothing is known about
ANY_NUMBER = RawDomain()


class NormaliserSpec(Spec):
    """Base of a normaliser's settings: ``method`` names it, the other fields are its params.

    A subclass fixes ``method`` to one ``Literal`` value, registers itself with
    :func:`crindex.model.registry.register_normaliser` and says what is wrong with its
    settings in :meth:`problems`; ``looks_across`` names the population figures it needs
    (``ranks`` or ``moments``) when it compares customers with each other.
    """

    method: str
    looks_across: ClassVar[str | None] = None

    def problems(self) -> list[str]:
        """What is wrong with these settings, beyond their types (empty when fine)."""
        return []

    def reversal(self) -> dict[str, str | None] | None:
        """How to turn this normaliser around (a metric read backwards), or ``None``.

        ``{"change": "direction: lower -> higher", "direction": "higher"}`` for a normaliser
        with a ``direction``; a normaliser with its own way (a map's points) overrides this
        with ``direction: None``. The one answer of the backtest's fix and the learner's flip.
        """
        now = getattr(self, "direction", None)
        if now is None:
            return None
        other = "lower" if now == "higher" else "higher"
        return {"change": f"direction: {now} -> {other}", "direction": other}

    def located_problems(self) -> list[tuple[tuple[str | int, ...], str, str]]:
        """(the key path under ``normalise``, what is wrong, the fix) for each problem.

        By default :meth:`problems` at the ``normalise`` key itself; a normaliser with lists
        of settings (``bins``) points at the item.
        """
        return [((), text, "") for text in self.problems()]

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        """The score of one raw value in plain Python: what :meth:`score` gives the engine.

        ``peers`` are the other customers' raw values, sorted (normalisers that look across
        customers read them; the customer's own value is ``raw``). ``None`` for no score.
        """
        raise NotImplementedError(f"normaliser `{self.method}` has no plain-Python score")

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        """The raw value nearest ``raw`` whose score is at least ``target``, or ``None``.

        Inside ``domain`` (whole numbers stay whole); ``raw`` itself when its score already
        reaches ``target``. With ``raw`` unknown (``None``), the value of the lowest score
        that reaches ``target``. ``None`` when no value of the domain reaches it.
        """
        return None


#: a metric's ``normalise:``, validated as the registered class its ``method`` names
Normaliser = Annotated[NormaliserSpec, RegisteredUnion(NORMALISERS, "method")]


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



def window_text(value: Any) -> Any:
    """A ``window:`` value checked by :func:`parse_window` and kept as its text (None stays)."""
    if value is not None:
        parse_window(str(value))
        return str(value)
    return value


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
    #: the customer success team can move it (orders, answers, logins); a background metric
    #: (tenure, company size) is never part of a path to the next tier (docs/act.md)
    actionable: bool = False
    #: settings of the aggregates that take some (clv, p_alive, expected_purchases: horizon,
    #: discount_rate, ...; see docs/clv.md); checked on load against the aggregate's schema
    #: (:func:`crindex.model.registry.params_of` gives them typed)
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
        return window_text(value)

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


def _share_shorthand(value: Any) -> Any:
    """``holdout: 0.2`` is ``holdout: {share: 0.2}``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"share": value}
    return value


class HoldoutSpec(Spec):
    """A random holdout of a tier's strategy: customers the strategy is *not* applied to.

    A customer of the tier is held out when the uniform draw of a hash of ``seed`` and their
    id is below ``share`` (:func:`crindex.stats.holdout_draw`): the same customer is drawn the
    same way on every run while the share and seed stay. Kept in the store and exported with
    the scores (``strategy_group``: ``treated`` or ``holdout``); ``crindex uplift`` compares
    the two groups (docs/act.md, Strategy uplift).
    """

    share: float = Field(gt=0, lt=1)
    seed: int = 0


class TierLevel(Spec):
    """One tier. Score tiers use ``min`` (>=) or ``above`` (>); rank tiers ``top`` / ``bottom`` (%).

    The one level with no bound catches everyone else. ``holdout`` keeps a random share of
    the tier's customers out of its strategy, to measure the strategy (:class:`HoldoutSpec`).
    """

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    strategy: str | None = None
    min: float | None = Field(default=None, ge=0, le=100)
    above: float | None = Field(default=None, ge=0, le=100)
    top: float | None = Field(default=None, gt=0, lt=100)
    bottom: float | None = Field(default=None, gt=0, lt=100)
    holdout: Annotated[HoldoutSpec | None, BeforeValidator(_share_shorthand)] = None

    @property
    def display(self) -> str:
        return self.label or self.id

    @property
    def is_catch_all(self) -> bool:
        """True for the level with no bound, which takes every score no other level takes."""
        return all(v is None for v in (self.min, self.above, self.top, self.bottom))


#: how a score tier compares a score with its bound: ``min`` is >=, ``above`` is >
_COMPARE = {">=": operator.ge, ">": operator.gt}


class ScoreRule(NamedTuple):
    """One bounded score tier: a score is in ``tier`` when ``score <op> bound`` holds."""

    tier: str
    op: Literal[">=", ">"]
    bound: float

    def holds(self, score: Any) -> Any:
        """``score <op> bound`` for a number, or the same comparison as an engine expression.

        The engine passes a column expression, plain Python a float: both go through this one
        comparison, so the SQL and the Python arithmetic cannot disagree about a bound.
        """
        return _COMPARE[self.op](score, self.bound)


class TiersSpec(Spec):
    """Ordered tiers, best first: by score thresholds or by rank share.

    Score tiers: the bounded levels are tried in the order written and the first that holds
    wins; the catch-all level takes the rest, wherever it is written (validation asks for it
    last). This is the one definition of the rule; the engine's SQL, the arithmetic and the
    manual adjustments all use :meth:`score_rules` / :meth:`tier_of`.
    """

    by: Literal["score", "rank"] = "score"
    levels: list[TierLevel] = Field(min_length=1)

    @property
    def order(self) -> list[str]:
        """Tier ids as written: best first once the model passes validation."""
        return [lv.id for lv in self.levels]

    @property
    def catch_all(self) -> TierLevel:
        """The level without a bound (the first one, should validation have failed)."""
        for lv in self.levels:
            if lv.is_catch_all:
                return lv
        raise ValueError(f"tiers {self.order}: no tier without a bound to catch the other "
                         "scores; remove the bound of the lowest tier")

    def score_rules(self) -> list[ScoreRule]:
        """The bounded score tiers in the order they are tried (as written).

        ``min`` is used when a level has both ``min`` and ``above`` (validation rejects that).
        """
        rules = []
        for lv in self.levels:
            if lv.min is not None:
                rules.append(ScoreRule(lv.id, ">=", lv.min))
            elif lv.above is not None:
                rules.append(ScoreRule(lv.id, ">", lv.above))
        return rules

    def tier_of(self, score: float | None) -> str | None:
        """The tier of one score under score thresholds (``None`` for no score).

        Raises
        ------
        ValueError
            For rank tiers, which depend on every customer's score (use the engine).
        """
        if score is None:
            return None
        if self.by != "score":
            raise ValueError("rank tiers depend on every customer's score; use the engine")
        for rule in self.score_rules():
            if rule.holds(score):
                return rule.tier
        return self.catch_all.id


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


#: the types an extra column (one the contract does not name) may be read as
ExtraType = Literal["num", "cat", "ts", "bool"]


def _expression_text(value: Any) -> Any:
    """``derive: {name: "expression"}``: the text is the derived column's ``expr``."""
    return {"expr": value} if isinstance(value, str) else value


DERIVE_TEXT = ("an expression of the table's columns (docs/data.md, Derived columns), e.g. "
               "date('2024-06-30') - months(tenure)")


class DerivedColumn(Spec):
    """One derived column: an expression of the table's other columns (see docs/data.md).

    ``tree`` is the parsed expression (:mod:`crindex.model.expr`); the validation rule
    ``derived columns parse`` reports text outside the grammar at the key's file:line.
    """

    expr: str

    @property
    def tree(self) -> Any:
        from crindex.model.expr import parse

        return parse(self.expr)


#: ``sources.<table>.date_format`` for Excel serial day numbers (45123 is 2023-07-16)
EXCEL_SERIAL = "excel"


#: the columns of customers derived from another table (``customers: {from: orders}``)
DERIVED_CUSTOMER_COLUMNS = ("customer_id", "created_at")

#: the functions a roll-up may apply to the lines of a group (see :class:`RollupSpec`)
ROLLUP_FUNCTIONS = ("sum", "min", "max", "mean", "first", "last", "count", "count_distinct")


class Reading(Spec):
    """Where a user's table is and how to read it: the reading keys of a source or lookup."""

    path: str | None = None
    table: str | None = None
    sheet: str | None = None
    format: Literal["csv", "parquet", "xlsx", "txt"] | None = None
    encoding: str | None = None
    delimiter: str | None = None
    decimal: Literal[".", ","] | None = None
    header: bool = True
    names: list[str] | None = None


class LookupSpec(Reading):
    """Another file or table joined onto a source's rows by a key (left join, before mapping).

    ``on`` names the key: one column name present in both (``household_key``), or
    ``{<column of the table>: <column of the lookup>}``. ``columns`` picks the lookup's columns
    to bring (a list, or ``{<lookup column>: <new name>}`` to rename); by default every column
    but the key. The reading keys (``path``, ``table``, ``sheet``, ``format``, ``encoding``,
    ``delimiter``, ``header``, ``names``) are those of :class:`SourceSpec`. A key repeated in
    the lookup is an error (a lookup never multiplies rows).
    """

    on: str | dict[str, str]
    columns: list[str] | dict[str, str] | None = None

    @property
    def keys(self) -> tuple[str, str]:
        """(the table's key column, the lookup's key column)."""
        if isinstance(self.on, str):
            return self.on, self.on
        (left, right), = self.on.items()
        return left, right

    @field_validator("on")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError("`on` names one key: `on: household_key` or "
                             "`on: {<column of the table>: <column of the lookup>}`")
        return value

    def reading(self) -> SourceSpec:
        """How to read the lookup's file or table, as a source."""
        return SourceSpec(**{k: getattr(self, k) for k in Reading.model_fields})


def _flat_rollup(value: Any) -> Any:
    """``{by: basket_id, amount: sum(sales_value)}``: every key but ``by`` is an output column."""
    if isinstance(value, dict) and "columns" not in value:
        flat = {"columns": {k: v for k, v in value.items() if k != "by"}}
        return {"by": value["by"], **flat} if "by" in value else flat
    return value


_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*\(\s*([^()]*?)\s*\)\s*$")


def parse_rollup(text: str) -> tuple[str, str | None] | None:
    """``sum(sales_value)`` -> ``("sum", "sales_value")``; ``count()`` -> ``("count", None)``.

    None when ``text`` is not ``<function>(<column>)`` with a function of
    :data:`ROLLUP_FUNCTIONS`, or when the function and its column do not go together
    (``count`` takes no column, the others one).
    """
    found = _CALL.match(str(text))
    if not found:
        return None
    fn, col = found.group(1).lower(), found.group(2).strip().strip('"`')
    if fn not in ROLLUP_FUNCTIONS or (fn == "count") != (col == ""):
        return None
    return fn, (col or None)


def rollup_kind(fn: str, read: str | None) -> str | None:
    """The type of a roll-up's output made by ``fn`` from a column of type ``read``.

    A count, a sum or a mean is a number (``num``); ``min``, ``max``, ``first`` and ``last``
    keep their column's type (None: not known before the data is open).
    """
    return "num" if fn in ("count", "count_distinct", "sum", "mean") else read


class RollupSpec(Spec):
    """Lines rolled up into one row per ``by`` (purchase lines into orders, per basket).

    ``by`` is the column holding the group's id: the user's column or the contract's id column
    it is mapped to (``order_id``); it becomes the table's id. Every other key is an output
    column, ``<column>: <function>(<input column>)`` with a function of
    :data:`ROLLUP_FUNCTIONS` (``count()`` takes no column); an input is the user's column or
    its contract name. Contract columns not named keep a default
    (:func:`crindex.data.shape.default_function`): the table's time column the first time
    (``min``), ``customer_id`` and words the first line's (``first``), ratings the ``mean``,
    other numbers the ``sum``. The lines are checked one by one first (a bad line is set aside
    with its line number), then the clean lines are rolled up.
    """

    by: str
    columns: dict[str, str] = Field(default_factory=dict)

    _flat = model_validator(mode="before")(staticmethod(_flat_rollup))


class SourceSpec(Reading):
    """Where a canonical table comes from and how the user's columns map onto it.

    ``columns`` maps the user's column name to the contract's (``客户编号: customer_id``);
    ``units`` multiplies numeric columns after renaming (``amount: 10000`` for 万元);
    ``date_format`` is a strptime format for every date column (``"%Y/%m/%d"``), or
    ``excel`` for Excel serial day numbers (45123 is 2023-07-16);
    ``decimal`` is the decimal separator of numbers written as text (``","`` for 1810,67;
    detected when not given);
    ``values`` maps the user's words in a categorical column onto the contract's, keyed by the
    contract's column (``status: {已付款: paid, 已退款: refunded}``); values it does not name
    are kept as they are.

    Any other column of the user's table may be read too: ``types`` declares the columns a
    metric reads besides the contract's and how each is read (``tenure: num``; ``num``,
    ``cat``, ``ts`` or ``bool``); ``derive`` adds columns computed from the table's columns
    by an expression (``created_at: "date('2024-06-30') - months(tenure)"``), in the same
    pass as the read (see docs/data.md, Any column and Derived columns).
    """

    model_config = ConfigDict(populate_by_name=True)

    columns: dict[str, str] = Field(default_factory=dict)
    units: dict[str, float] = Field(default_factory=dict)
    date_format: str | None = None
    constants: dict[str, Scalar] = Field(default_factory=dict)
    values: dict[str, Annotated[dict[str, str], BeforeValidator(_text_keys)]] = Field(
        default_factory=dict)
    types: dict[str, ExtraType] = Field(default_factory=dict)
    derive: dict[Annotated[str, Field(pattern=IDENT)],
                 Annotated[DerivedColumn, BeforeValidator(_expression_text),
                           WithJsonSchema({"type": "string", "description": DERIVE_TEXT})]] = Field(
        default_factory=dict)
    #: files or tables joined onto the rows by a key before the columns are mapped
    lookups: list[LookupSpec] = Field(default_factory=list)
    #: lines rolled up into one row per group after the checks (purchase lines into orders)
    rollup: RollupSpec | None = None
    #: derive the table from another one instead of reading a file: ``customers: {from:
    #: orders}`` is one customer per distinct customer_id of orders, created on its first date
    from_: str | None = Field(default=None, alias="from")


#: when the inactivity rule counts a lapse as churn in a horizon; see :class:`ChurnRule`
Lapse = Literal["reached", "at_horizon_end"]


#: the one column a static churn label is read from (map the user's column onto it)
LABEL_COLUMN = "churn_label"


def _words(value: Any) -> Any:
    """Label words as the text a file holds, case folded: ``1`` is ``"1"``, ``true`` ``"true"``."""
    if not isinstance(value, list):
        return value
    out = []
    for v in value:
        if isinstance(v, bool):
            v = str(v).lower()
        elif isinstance(v, float) and v.is_integer():
            v = str(int(v))
        out.append(str(v).strip().lower())
    return out


class ChurnLabel(Spec):
    """A static churn outcome: one label per customer, from one export with no time stamps.

    The label is read from ``customers.churn_label`` (map the user's column onto it:
    ``sources.customers.columns: {Churn: churn_label}``). A value (case folded, trimmed) in
    ``churned`` means churned, one in ``stayed`` means stayed, a date means churned on that
    day; in a column that holds dates an empty cell means stayed. Any other value is an error
    that lists the customers and values (:func:`crindex.outcomes.label_churn`).

    Backtests and learned weights then keep a seeded holdout, stratified by the label: a
    ``holdout`` share of the churners and of the stayers, drawn with ``seed``
    (:func:`crindex.stats.stratified_holdout`; docs/backtest.md).
    """

    column: str = LABEL_COLUMN
    churned: Annotated[list[str], BeforeValidator(_words)] = Field(
        default_factory=lambda: list(CHURNED_WORDS), min_length=1)
    stayed: Annotated[list[str], BeforeValidator(_words)] = Field(
        default_factory=lambda: list(STAYED_WORDS), min_length=1)
    holdout: float = Field(default=0.3, gt=0, lt=1)
    seed: int = 0

    @field_validator("column")
    @classmethod
    def _the_label_column(cls, value: str) -> str:
        if value != LABEL_COLUMN:
            raise ValueError(f"the churn label is read from customers.{LABEL_COLUMN}, not "
                             f"`{value}`: map your column onto it (sources.customers.columns: "
                             f"{{{value}: {LABEL_COLUMN}}}) and write `label: {LABEL_COLUMN}`")
        return value

    @field_validator("stayed")
    @classmethod
    def _words_apart(cls, value: list[str], info: Any) -> list[str]:
        both = sorted(set(value) & set(info.data.get("churned") or ()))
        if both:
            raise ValueError("a word cannot mean both churned and stayed: "
                             + ", ".join(f"`{w}`" for w in both))
        return value


def _label_shorthand(value: Any) -> Any:
    """``label: churn_label`` is ``label: {column: churn_label}``; ``label: true`` the defaults."""
    if value is True:
        return {}
    if isinstance(value, str):
        return {"column": value}
    return value


class ChurnRule(Spec):
    """How churn is read from data: ``customers.churned_at``, inactivity for N days, or a label.

    Without ``inactivity_days`` a customer churns in a horizon ``(as_of, end]`` when
    ``customers.churned_at`` falls in it. With ``inactivity_days: N`` the data's churn dates
    are not read: a customer's activity days are the days of their paid orders and the day they
    joined, and N days after an activity day with no activity in between the customer lapses.
    A customer is on the books on a day when they had activity in the N days up to it.
    ``lapse`` says when a lapse counts as churn in the horizon (see docs/backtest.md):

    - ``reached`` (default): the lapse is reached in the horizon (its N-th day without
      activity falls in ``(as_of, end]``), whatever the customer does afterwards, just as a
      ``churned_at`` date in the horizon counts;
    - ``at_horizon_end``: the lapse is reached in the horizon *and* the customer is still
      without activity on ``end``; a customer who came back before the horizon's end has not
      churned.

    With ``label`` (:class:`ChurnLabel`) churn is a static outcome of each customer, read from
    ``customers.churn_label`` whatever the horizon: for one export with no time stamps.

    ``crindex.outcomes`` computes all three; backtests, learned weights, model comparisons and
    KPIs all read churn through it.
    """

    inactivity_days: int | None = Field(default=None, gt=0)
    lapse: Lapse = "reached"
    label: Annotated[ChurnLabel | None, BeforeValidator(_label_shorthand)] = None

    @property
    def label_column(self) -> str:
        """The column a churn label is read from (the outcome: never a metric's input)."""
        return self.label.column if self.label is not None else LABEL_COLUMN

    @field_validator("label")
    @classmethod
    def _one_rule(cls, value: ChurnLabel | None, info: Any) -> ChurnLabel | None:
        if value is not None and info.data.get("inactivity_days") is not None:
            raise ValueError("a churn rule is a label or inactivity, not both: remove "
                             "`inactivity_days` (and `lapse`) or `label`")
        return value

    @field_validator("lapse")
    @classmethod
    def _lapse_needs_the_rule(cls, value: str, info: Any) -> str:
        if value != "reached" and info.data.get("inactivity_days") is None:
            raise ValueError("`lapse` applies to the inactivity rule: set `inactivity_days` too, "
                             "or remove `lapse`")
        return value


# --------------------------------------------------------------------------------------------
# guardrails (when a run refuses to write; the rules live in crindex.data.guardrails)

#: a share of a table's rows, 0 to 1
Share = Annotated[float, Field(ge=0, le=1)]
#: the share of a table's rows the data checks may set aside when the model says nothing
DEFAULT_MAX_REJECTED = 0.2
#: how many days older than as_of the newest row of a fact table may be, by default
DEFAULT_MAX_AGE_DAYS = 60


def _every_table(value: Any) -> Any:
    """One share for every table (``max_rejected: 0.3``) is that share per table."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dict.fromkeys(CONTRACT, value)
    return value


class GuardrailsSpec(Spec):
    """When a run refuses to write rather than score garbage (see docs/data.md, "Guardrails").

    ``max_rejected`` is the share of a table's rows the data checks may set aside: one share
    for every table (``0.2``) or per table (``{orders: 0.5}``; tables not named keep the
    default 0.2). ``max_age_days`` is how much older than ``as_of`` the newest row of a fact
    table may be (``null``: never refuse for it). ``ratio_limits`` gives a ratio metric's
    highest possible value (``{open_rate: 1}``), or ``null`` to check none for that metric.
    """

    max_rejected: Annotated[dict[str, Share], BeforeValidator(_every_table)] = Field(
        default_factory=dict)
    max_age_days: int | None = Field(default=DEFAULT_MAX_AGE_DAYS, gt=0)
    ratio_limits: dict[str, Annotated[float, Field(gt=0)] | None] = Field(default_factory=dict)

    @field_validator("max_rejected")
    @classmethod
    def _known_tables(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [t for t in value if t not in CONTRACT]
        if unknown:
            raise ValueError(f"unknown table {', '.join(unknown)}; tables: "
                             + ", ".join(CONTRACT))
        return value

    def rejected_limit(self, table: str) -> float:
        """The share of ``table``'s rows the checks may set aside."""
        return self.max_rejected.get(table, DEFAULT_MAX_REJECTED)


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
      also raises it for customers with no value;
    - ``flag``: the customer's ``flag`` (one of the model's ``flags``) is raised.

    An alert is an episode (see :mod:`crindex.alerts.episodes`): it opens on the first snapshot
    where the rule holds for a customer and goes to the customer's owner; the rule raises
    nothing more for the customer while it lasts, and with ``auto_resolve`` it resolves itself
    on the first later snapshot where its condition no longer holds.
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
    #: the flag a ``flag`` rule watches (an id of the model's ``flags``)
    flag: str | None = None


# --------------------------------------------------------------------------------------------
# RFM segments (the presets, the cell grid and the linter live in crindex.model.segments)

#: the RFM segment presets (see :mod:`crindex.model.segments`)
SegmentPreset = Literal["china8", "shopify11", "rfm10"]
#: an axis of a segment rule: one cell (``5``) or an inclusive range (``[4, 5]``)
CellRange = int | Annotated[list[int], Field(min_length=2, max_length=2)]


class SegmentRule(Spec):
    """One user-defined RFM segment: the cells of the R x F x M grid it takes.

    ``r``, ``f`` and ``m`` each give one cell (``5``) or an inclusive range (``[4, 5]``) on
    the grid's scale (1..``levels``, higher is better); an axis left out takes every cell. The
    rules are tried in the order written and the first that holds wins, but the linter asks
    that no two rules share a cell (:func:`crindex.model.segments.lint`), except a last rule
    with no axis, which takes every cell no earlier rule took.
    """

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    strategy: str | None = None
    r: CellRange | None = None
    f: CellRange | None = None
    m: CellRange | None = None

    @property
    def display(self) -> str:
        return self.label or self.id

    @property
    def is_catch_all(self) -> bool:
        """True for a rule without ``r``, ``f`` or ``m``: it takes the cells left over."""
        return self.r is None and self.f is None and self.m is None

    def bounds(self, axis: str, levels: int) -> tuple[int, int]:
        """The inclusive (low, high) cells of one axis (``r``, ``f`` or ``m``)."""
        value = getattr(self, axis)
        if value is None:
            return 1, levels
        if isinstance(value, int):
            return value, value
        return value[0], value[1]


#: how a customer's R, F or M score becomes a cell of a 5-level grid
CellMethod = Literal["quintiles", "bands"]
#: what a 2-level grid compares a score with: the customers' mean, their median, or numbers
Split = Literal["mean", "median"] | dict[Literal["r", "f", "m"], float]


class SegmentsSpec(Spec):
    """RFM segments: which metrics are R, F and M, the grid, and a preset or rules.

    R, F and M are the scores (0..100, higher is better) of the metrics named by ``recency``,
    ``frequency`` and ``monetary``. A grid of ``levels: 2`` marks each score high (at least
    ``split``: the customers' ``mean``, their ``median``, or a number per axis, e.g.
    ``{r: 60, f: 50, m: 50}``) or low; a grid of ``levels: 5`` gives each score a cell 1..5,
    by ``quintiles`` of the customers (ties share a cell) or by ``bands`` of 20 points. The
    segment of a customer is the first rule (or preset segment) whose cells hold theirs; a
    customer missing one of the three scores gets none (``prospects`` under ``shopify11``).
    Written to the output as ``rfm_segment`` (``segment`` stays the customers' attribute).
    """

    recency: str
    frequency: str
    monetary: str
    preset: SegmentPreset | None = None
    levels: Literal[2, 5] | None = None
    split: Split = "mean"
    cells: CellMethod = "quintiles"
    rules: list[SegmentRule] = Field(default_factory=list)

    @property
    def grid_levels(self) -> int:
        """Cells per axis: 2 for ``china8``, 5 for the other presets, else ``levels`` (5)."""
        if self.preset == "china8":
            return 2
        if self.preset is not None:
            return 5
        return self.levels or 5

    @property
    def axes(self) -> dict[str, str]:
        """``{"r": metric id, "f": ..., "m": ...}``."""
        return {"r": self.recency, "f": self.frequency, "m": self.monetary}


# --------------------------------------------------------------------------------------------
# flags (yes/no facts shown beside the score and in alerts, never part of the score)


class FlagSpec(Spec):
    """A yes/no fact about a customer: raised when a row of ``table`` matches, never scored.

    On an event table (``interactions``, ``orders``, ...) the flag is raised when the customer
    has at least one row through ``kind`` and ``where`` in ``window`` (all history when not
    given), up to ``as_of``: ``{id: payment_failed, table: interactions, kind:
    payment_failed, window: 30d}``. On ``customers`` it is raised when the customer's own row
    matches ``where``: ``{id: champion_left, table: customers, where: {champion_left:
    true}}``. The output gets ``flag__<id>`` and ``flags`` (the raised ids); the alert rule
    ``flag`` raises an alert for it. A flag never changes a score, a weight or a tier.
    """

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    table: str = "interactions"
    kind: str | None = None
    where: Where | None = None
    window: str | None = None

    @field_validator("window", mode="before")
    @classmethod
    def _check_window(cls, value: Any) -> Any:
        return window_text(value)

    @property
    def display(self) -> str:
        return self.label or self.id


# --------------------------------------------------------------------------------------------
# sub-models (one model file, other weights per segment or lifecycle stage)


class SubModelSpec(Spec):
    """One sub-model: the customers its ``match`` rule takes, scored with its own weights.

    ``match`` is a filter over the customers table (``{segment: b2b}``, ``{region: [north,
    east]}``, ``{employees: {">=": 250}}``; any customers column, the operators of a metric's
    ``where``); columns are combined with *and*. The one sub-model with ``default: true`` and
    no ``match`` takes every customer no other rule takes. ``weights`` replaces the weights of
    the metrics and dimensions it names (by id); the others keep the model's. Every sub-model
    computes the same metrics, so each output row names the sub-model that scored it
    (``submodel``) and its weights, contributions and score are that sub-model's. The
    validation rule ``sub-model rules are exhaustive and exclusive`` proves that every
    customer gets exactly one sub-model (:mod:`crindex.model.partition`).
    """

    id: Annotated[str, Field(pattern=IDENT)]
    label: str | None = None
    match: Where | None = None
    default: bool = False
    weights: dict[str, Annotated[float, Field(ge=0, le=100)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _match_or_default(self) -> SubModelSpec:
        if self.default and self.match is not None:
            raise ValueError("the default sub-model takes the customers no rule takes: remove "
                             "its `match`, or `default: true`")
        if not self.default and self.match is None:
            raise ValueError("a sub-model needs a `match` rule (e.g. `match: {segment: b2b}`),"
                             " or `default: true` for the customers no rule takes")
        return self

    @property
    def display(self) -> str:
        return self.label or self.id


# --------------------------------------------------------------------------------------------
# account hierarchy (a parent account's score is a roll-up of its children's)

#: how a parent account's score is made from its children's (see :class:`HierarchySpec`)
ROLLUP_RULES = ("mean", "weighted_mean", "min", "healthy_share")
#: the customers column naming a customer's parent account
PARENT_COLUMN = "parent_id"


class HierarchySpec(Spec):
    """Parent accounts scored as a roll-up of their children (several levels).

    A customer's parent is ``customers.parent_id`` (map your column onto it). A parent's score
    is, over its scored children (customers or parent accounts themselves):

    - ``mean``: the plain mean of the children's scores;
    - ``weighted_mean``: the mean weighted by ``weight``, the id of a metric whose raw value is
      the child's size (revenue, contract value); a parent account weighs the sum of its
      children's weights; a negative or missing weight counts 0;
    - ``min``: the lowest child's score;
    - ``healthy_share``: the share of children (0..100) whose tier is one of ``healthy``.

    Parents get ``tiers`` (default: the model's, which must then be score tiers) and the
    model's alerts, like any customer. ``crindex explain`` of a parent lists each child's
    contribution (the four rules' contributions sum to the parent's score).
    """

    rule: Literal["mean", "weighted_mean", "min", "healthy_share"] = "mean"
    weight: str | None = None
    healthy: list[str] = Field(default_factory=list)
    tiers: TiersSpec | None = None

    @model_validator(mode="after")
    def _rule_settings(self) -> HierarchySpec:
        if self.rule == "weighted_mean" and self.weight is None:
            raise ValueError("`rule: weighted_mean` weighs each child by a metric's raw value: "
                             "name it with `weight: <metric id>` (revenue, contract value)")
        if self.rule != "weighted_mean" and self.weight is not None:
            raise ValueError(f"`weight` is read by `rule: weighted_mean` only, not `{self.rule}`"
                             ": remove it")
        if self.rule == "healthy_share" and not self.healthy:
            raise ValueError("`rule: healthy_share` counts the children in healthy tiers: list "
                             "them with `healthy: [core, potential]`")
        return self


# --------------------------------------------------------------------------------------------
# clustering (k-means tiers, an alternative to score tiers)


class ClusterSpec(Spec):
    """K-means clusters over scaled metrics: another way to tier customers.

    ``on`` lists the metric ids whose raw values are clustered (each standardised to mean 0,
    standard deviation 1 first); ``k`` clusters, drawn with ``seed``. Clusters are ordered by
    their customers' mean score, best first, and named by ``names`` (``k`` names, best first;
    default ``cluster_1`` .. ``cluster_k``). See :mod:`crindex.cluster`.
    """

    on: list[str] = Field(min_length=1)
    k: int = Field(default=3, ge=2, le=20)
    seed: int = 0
    names: list[Annotated[str, Field(pattern=IDENT)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _k_names(self) -> ClusterSpec:
        if self.names and len(self.names) != self.k:
            raise ValueError(f"`names` gives {len(self.names)} names for k = {self.k} clusters:"
                             " give one name per cluster, best first")
        return self

    @property
    def labels(self) -> list[str]:
        """The clusters' names, best first."""
        return self.names or [f"cluster_{i}" for i in range(1, self.k + 1)]


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
    guardrails: GuardrailsSpec = GuardrailsSpec()
    keep_personal: list[str] = Field(default_factory=list)
    alerts: list[AlertSpec] = Field(default_factory=list)
    #: RFM segments (``rfm_segment`` in the output); see :class:`SegmentsSpec`
    segments: SegmentsSpec | None = None
    #: yes/no facts shown beside the score and in alerts, never scored; see :class:`FlagSpec`
    flags: list[FlagSpec] = Field(default_factory=list)
    #: sub-models per segment or stage (:class:`SubModelSpec`); empty: one model for all
    submodels: list[SubModelSpec] = Field(default_factory=list)
    #: parent accounts rolled up from their children (:class:`HierarchySpec`)
    hierarchy: HierarchySpec | None = None
    #: k-means clusters as an alternative tiering (:class:`ClusterSpec`)
    clusters: ClusterSpec | None = None
    _path: str = PrivateAttr(default="")
    _text: str = PrivateAttr(default="")
    _warnings: list[Problem] = PrivateAttr(default_factory=list)

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

    def submodel(self, submodel_id: str) -> CRIModel:
        """The model as sub-model ``submodel_id`` scores: its weights, no sub-models.

        Everything but the weights it names is the model's (metrics, tiers, alerts, ...); each
        object keeps its file:line.
        """
        sub = next((s for s in self.submodels if s.id == submodel_id), None)
        if sub is None:
            raise KeyError(submodel_id)
        dims = []
        for d in self.dimensions:
            metrics = [m.model_copy(update={"weight": sub.weights[m.id]})
                       if m.id in sub.weights else m for m in d.metrics]
            update: dict[str, Any] = {"metrics": metrics}
            if d.id in sub.weights:
                update["weight"] = sub.weights[d.id]
            dims.append(d.model_copy(update=update))
        out = self.model_copy(update={"dimensions": dims, "submodels": []})
        out._path, out._text = self._path, self._text
        return out

    @property
    def path(self) -> str:
        return self._path

    @property
    def text(self) -> str:
        """The model file's text as loaded (hashing, audit)."""
        return self._text

    @property
    def warnings(self) -> list[Problem]:
        """Problems of the warning-level validation rules found when the model was loaded."""
        return list(self._warnings)
