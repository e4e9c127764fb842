"""The data contract as one declarative table: every canonical table, column and rule.

Each :class:`Column` says its type, whether every row needs it, whether it is unique, the words
it may hold (strictly or as usual values), whether it is personal data, its valid range, its
default and what it refers to. Everything else is derived from :data:`TABLES`: the checks of
:mod:`crindex.data`, the Ibis schema, the engines' defaults, the model's column checks and the
contract tables of docs/data.md (:func:`contract_markdown`; rewrite them with
``python -m crindex.contract docs/data.md``, a test keeps them current).

Standard library only: the model package and the command line import this without any engine.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

#: the types of the contract, and the Ibis type each is read as
IBIS_TYPES: dict[str, str] = {"id": "string", "cat": "string", "ts": "timestamp",
                              "num": "float64", "bool": "boolean"}

#: the types in words, for the docs
TYPE_WORDS: dict[str, str] = {
    "id": "text id (`007` stays `007`)",
    "ts": "date or timestamp",
    "num": "number",
    "cat": "category (short text)",
    "bool": "yes/no",
}


@dataclass(frozen=True)
class Column:
    """One column of a canonical table and every rule about it.

    ``vocabulary`` lists the words the column may hold (case is folded: ``Paid`` is ``paid``);
    with ``strict`` a row holding another word is set aside, else it is kept and the value
    reported. ``usual`` lists the usual words of an open column (a model may count its own).
    ``valid`` is the closed range of a number; ``valid_by`` the range per value of another
    column (a survey score by its kind). ``negative_only_when`` names the (column, value) that
    alone allows a negative number. ``references`` names the table whose ``customer_id`` must
    hold the value. ``default`` replaces an empty value when the table is read. ``rule`` is a
    sentence the docs show for a rule the scoring engine applies.
    """

    name: str
    type: str
    required: bool = False
    unique: bool = False
    vocabulary: tuple[str, ...] = ()
    strict: bool = False
    usual: tuple[str, ...] = ()
    personal: bool = False
    valid: tuple[float, float] | None = None
    valid_by: tuple[str, dict[str, tuple[float, float]]] | None = None
    negative_only_when: tuple[str, str] | None = None
    references: str | None = None
    default: str | None = None
    rule: str = ""


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns in order and its event time."""

    name: str
    time: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}.{name}")


def _range(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g}"


def _c(name: str, type_: str, **rules: object) -> Column:
    return Column(name, type_, **rules)  # type: ignore[arg-type]


_OF_CUSTOMER = {"required": True, "references": "customers"}

#: the canonical tables, in the order they are read and checked (orphans are judged against
#: the cleaned customers, so customers comes first)
TABLES: tuple[Table, ...] = (
    Table("customers", "created_at", (
        _c("customer_id", "id", required=True, unique=True),
        _c("name", "cat", personal=True),
        _c("email", "cat", personal=True),
        _c("created_at", "ts"),
        _c("industry", "cat"),
        _c("region", "cat"),
        _c("segment", "cat"),
        _c("size_band", "cat"),
        _c("employees", "num"),
        _c("owner", "cat"),
        _c("parent_id", "id", rule="the customer's parent account (any id, a customer or not);"
           " read only under the model's `hierarchy:`, where a parent's score is the roll-up "
           "of its children's"),
        _c("lifecycle_stage", "cat", vocabulary=("new", "growth", "mature", "decline")),
        _c("churned_at", "ts"),
        _c("churn_label", "cat", rule="the churn outcome of a one-row-per-customer export "
           "(yes/no, 1/0, true/false, or a churn date); read only under the model's "
           "`churn: {label: churn_label}`, never a metric's input"),
    )),
    Table("orders", "ordered_at", (
        _c("order_id", "id", unique=True),
        _c("customer_id", "id", **_OF_CUSTOMER),
        _c("ordered_at", "ts", required=True),
        _c("amount", "num", required=True, negative_only_when=("status", "refunded")),
        _c("cost", "num"),
        _c("product_line", "cat"),
        _c("status", "cat", vocabulary=("paid", "refunded", "cancelled"), strict=True,
           default="paid", rule="empty means `paid`; only `paid` orders count as purchases"),
    )),
    Table("interactions", "occurred_at", (
        _c("interaction_id", "id", unique=True),
        _c("customer_id", "id", **_OF_CUSTOMER),
        _c("occurred_at", "ts", required=True),
        _c("channel", "cat", vocabulary=("support", "email", "event", "social", "web", "app",
                                         "phone", "visit")),
        _c("kind", "cat", required=True, usual=(
            "ticket_opened", "ticket_resolved", "email_sent", "email_opened", "email_clicked",
            "event_attended", "content_downloaded", "like", "comment", "share", "follow",
            "login", "feature_used", "visit", "call")),
        _c("value", "num"),
        _c("satisfaction", "num", valid=(1, 5)),
    )),
    Table("surveys", "answered_at", (
        _c("customer_id", "id", **_OF_CUSTOMER),
        _c("answered_at", "ts", required=True),
        # an answer of an unknown kind has no scale
        _c("kind", "cat", required=True, vocabulary=("nps", "csat", "ces"), strict=True),
        _c("score", "num", required=True,
           valid_by=("kind", {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)})),
    )),
    Table("subscriptions", "started_at", (
        _c("customer_id", "id", **_OF_CUSTOMER),
        _c("started_at", "ts", required=True),
        _c("ended_at", "ts"),
        _c("renewed", "bool"),
        _c("mrr", "num"),
    )),
    Table("leads", "created_at", (
        _c("lead_id", "id", required=True, unique=True),
        _c("created_at", "ts", required=True),
        _c("source", "cat"),
        _c("converted_customer_id", "id"),
    )),
    Table("spend", "period_start", (
        _c("period_start", "ts", required=True),
        _c("period_end", "ts"),
        _c("channel", "cat"),
        _c("amount", "num", required=True),
    )),
)

TABLE: dict[str, Table] = {t.name: t for t in TABLES}

# --- derived views: what the rest of crindex reads ------------------------------------------

#: the canonical tables and their columns, with types
CONTRACT: dict[str, dict[str, str]] = {t.name: {c.name: c.type for c in t.columns}
                                       for t in TABLES}

#: the event time of each table: windows and ``as_of`` apply to it
TIME_COLUMN: dict[str, str] = {t.name: t.time for t in TABLES}

#: columns every row of a table must have for the table to be usable
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns if c.required) for t in TABLES}

#: the values a categorical column may take where the contract fixes them. A user's own words
#: are mapped onto them with ``sources.<table>.values``; case is folded (``Paid`` is ``paid``).
VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    t.name: {c.name: c.vocabulary for c in t.columns if c.vocabulary}
    for t in TABLES if any(c.vocabulary for c in t.columns)}

#: the usual values of an open categorical column: a model may count kinds of its own, so a
#: value outside this list and the model's own filters is reported, never an error
USUAL_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    t.name: {c.name: c.usual for c in t.columns if c.usual}
    for t in TABLES if any(c.usual for c in t.columns)}

#: interaction kinds that answer another kind (an e-mail is opened or clicked after it was
#: sent): over a customer base there are never more of them than of the kind they answer, so
#: a ratio of counts of the two is a share, at most 1 (the ratio guardrail's default limit)
ANSWERS: dict[str, str] = {"email_opened": "email_sent", "email_clicked": "email_sent"}

#: columns where a value outside the vocabulary makes the row unusable, so the row is set
#: aside: an order whose status is unknown is neither a purchase nor a refund, and a survey
#: answer of an unknown kind has no scale. Elsewhere the row is kept and the value reported.
STRICT_VOCABULARIES: frozenset[tuple[str, str]] = frozenset(
    (t.name, c.name) for t in TABLES for c in t.columns if c.strict)

#: personal data: never copied into outputs or stores unless the model asks for it
PERSONAL_COLUMNS: frozenset[str] = frozenset(
    c.name for t in TABLES for c in t.columns if c.personal)

#: the id column that must be unique in each table that has one
UNIQUE_ID: dict[str, str] = {t.name: c.name for t in TABLES for c in t.columns if c.unique}

#: survey scales by kind
SURVEY_SCALES: dict[str, tuple[float, float]] = dict(
    TABLE["surveys"].column("score").valid_by[1])  # type: ignore[index]

#: the ``orders.status`` of an order that counts as a purchase (the other statuses never do)
PURCHASE = "paid"

#: words read as yes in a yes/no column (case folded): a ``bool`` column, a churn label
TRUE_WORDS = ("true", "t", "yes", "y", "1", "是", "真")
#: words read as no in a yes/no column (case folded)
FALSE_WORDS = ("false", "f", "no", "n", "0", "否", "假")

#: the words of ``customers.churn_label`` read as churned / stayed unless the model's
#: ``churn.label`` names its own (case folded; a date also means churned, on that day)
CHURNED_WORDS = (*TRUE_WORDS, "churned", "lost", "流失")
STAYED_WORDS = (*FALSE_WORDS, "stayed", "retained", "active", "留存")

#: values an empty cell takes when a table is read: ``{table: {column: value}}``
DEFAULTS: dict[str, dict[str, str]] = {
    t.name: {c.name: c.default for c in t.columns if c.default is not None}
    for t in TABLES if any(c.default is not None for c in t.columns)}


def scales_text() -> str:
    """Every valid range in words: ``nps 0-10, csat 1-5, ces 1-7, satisfaction 1-5``."""
    columns = [c for t in TABLES for c in t.columns]
    parts = [f"{k} {_range(*r)}" for c in columns if c.valid_by for k, r in c.valid_by[1].items()]
    parts += [f"{c.name} {_range(*c.valid)}" for c in columns if c.valid]
    return ", ".join(parts)


def ibis_schema(table: str) -> dict[str, str]:
    """``{column: Ibis type}`` of a canonical table."""
    return {col: IBIS_TYPES[kind] for col, kind in CONTRACT[table].items()}


# --- the docs table -------------------------------------------------------------------------

START = "<!-- contract tables: generated by python -m crindex.contract, do not edit -->"
END = "<!-- end of contract tables -->"


def column_notes(table: str, column: str) -> str:
    """What the contract says about one column, as one table cell."""
    t = TABLE[table]
    c = t.column(column)
    notes = []
    if c.required:
        notes.append("required in every row")
    if c.unique:
        notes.append("unique")
    if t.time == column:
        notes.append("event time (windows and as_of apply to it)")
    if c.personal:
        notes.append("personal data")
    if c.references:
        notes.append(f"must be in {c.references} (else the row is set aside)")
    if c.negative_only_when:
        other, value = c.negative_only_when
        notes.append(f"negative only when {other} is `{value}` (else the row is set aside)")
    if c.valid_by:
        notes.append("on the scale of its kind: " + ", ".join(
            f"{k} {_range(*r)}" for k, r in c.valid_by[1].items()) + " (else the row is set aside)")
    if c.valid:
        notes.append(f"a {_range(*c.valid)} rating (else the row is set aside)")
    if c.rule:
        notes.append(c.rule)
    if c.vocabulary:
        then = "row set aside" if c.strict else "row kept, value reported"
        notes.append("one of " + ", ".join(f"`{v}`" for v in c.vocabulary)
                     + f"; other values: {then}")
    if c.usual:
        notes.append("usually " + ", ".join(f"`{v}`" for v in c.usual) + "; other values a "
                     "metric does not count: row kept, value reported")
    return "; ".join(notes)


def contract_markdown() -> str:
    """Every contract table: its columns, types, what is required and the allowed values."""
    out = [START, ""]
    for t in TABLES:
        out += [f"**{t.name}**", "", "| column | type | notes |", "|---|---|---|"]
        out += [f"| {c.name} | {c.type} | {column_notes(t.name, c.name)} |" for c in t.columns]
        out.append("")
    out.append("Types: " + "; ".join(f"`{k}` {v}" for k, v in TYPE_WORDS.items()) + ".")
    out += ["", END]
    return "\n".join(out)


def rewrite(path: Path) -> bool:
    """Put the current tables between the markers of ``path``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, found, tail = rest.partition(END)
    if not found:
        raise SystemExit(f"{path}: the markers {START!r} and {END!r} are missing")
    new = head + contract_markdown() + tail
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 1:
        for name in sys.argv[1:]:
            print(f"{name}: {'rewritten' if rewrite(Path(name)) else 'current'}")
    else:
        print(contract_markdown())
