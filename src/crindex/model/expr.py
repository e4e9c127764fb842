"""The expression language of derived columns: a small grammar, parsed into a pure tree.

``sources.<table>.derive`` names new columns and the expression computing each from the
table's other columns (``created_at: "date('2024-06-30') - months(tenure)"``). The text is
parsed here by a hand-written recursive-descent parser into the frozen nodes below; the data
layer compiles the tree to Ibis (:mod:`crindex.data.derive`). Nothing is ever handed to a SQL
engine as text: anything outside the grammar is refused with :class:`ExprError`, whose message
says what was found and whose ``hint`` says what is allowed. Every SQL keyword that is not a
word of the grammar (``select``, ``drop``, ``union``, ...) and ``;`` are refused by name.

Grammar (lowest precedence first)::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum [ ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") sum
                    | ["not"] "in" "(" literal ("," literal)* ")"
                    | "is" ["not"] "null" ]
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | atom
    atom     := number | 'text' | true | false | null | column | `any column`
              | function "(" [expr ("," expr)*] ")" | "(" expr ")"
              | "case" ("when" expr "then" expr)+ ["else" expr] "end"

Functions: ``months(n)``, ``days(n)`` (an interval to add to or take from a date),
``date('YYYY-MM-DD')`` (a date), ``coalesce(a, b, ...)``, ``count_true(a, b, ...)`` (how many
of the values are true; the words of truth are the contract's yes/no words), ``lower(text)``,
``strip(text)``. Standard library only, like the rest of :mod:`crindex.model`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# the tree


@dataclass(frozen=True)
class Num:
    """A number literal (never negative: ``-1`` is ``Neg(Num(1))``)."""

    value: int | float


@dataclass(frozen=True)
class Text:
    """A text literal, written in single quotes (``'Yes'``; a quote inside is doubled)."""

    value: str


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Null:
    pass


@dataclass(frozen=True)
class Date:
    """A date literal: ``date('2024-06-30')``."""

    value: dt.date


@dataclass(frozen=True)
class Column:
    """A column of the table: a plain name, or any name in backquotes (```Monthly Charges```)."""

    name: str


@dataclass(frozen=True)
class Neg:
    arg: Node


@dataclass(frozen=True)
class Not:
    arg: Node


@dataclass(frozen=True)
class Binary:
    """``left op right``: arithmetic (``+ - * /``), comparison (``= != < <= > >=``), and/or."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class In:
    arg: Node
    items: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    arg: Node
    negated: bool = False


@dataclass(frozen=True)
class Case:
    whens: tuple[tuple[Node, Node], ...]
    default: Node | None = None


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Num | Text | Bool | Null | Date | Column | Neg | Not | Binary | In | IsNull | Case | Call

#: the functions and how many arguments each takes: (least, most or None for any number)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "months": (1, 1), "days": (1, 1), "date": (1, 1), "coalesce": (2, None),
    "count_true": (1, None), "lower": (1, 1), "strip": (1, 1),
}
#: what each function does, for the docs and the hints
FUNCTION_DOCS: dict[str, str] = {
    "months": "months(n): n calendar months, to add to or take from a date",
    "days": "days(n): n days, to add to or take from a date",
    "date": "date('YYYY-MM-DD'): a date",
    "coalesce": "coalesce(a, b, ...): the first value that is not empty",
    "count_true": "count_true(a, b, ...): how many of the values are true",
    "lower": "lower(text): the text in lower case",
    "strip": "strip(text): the text without leading and trailing spaces",
}
#: the words of the grammar (case is ignored)
GRAMMAR_WORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false", "case",
                           "when", "then", "else", "end"})
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "/")

#: SQL keywords (those of the common SQL dialects) that are not words of the grammar: each is
#: refused by name. A column with such a name is written in backquotes (```order```).
SQL_KEYWORDS = frozenset("""
all alter analyze anti any apply array as asc asof autoincrement begin between bigdecimal
bigint bignum bignumeric binary bit blob bool boolean bpchar byte bytea cache call char
character clob collate column comment commit constraint copy create cross cube database date
datemultirange daterange datetime dec decfloat decimal default delete desc describe distinct
div double drop enum escape except exec execute exists explain fetch file filter first fixed
float for format from full function geography geometry glob grant group having hugeint ilike
index inet inner insert int integer intersect interval into isnull join json jsonb keep kill
lateral left like limit list load localtime localtimestamp lock long longblob longtext
longvarchar map mediumblob mediumint mediumtext merge namespace natural nchar next notnull
nullable number numeric nummultirange numrange nvarchar object offset on operator optimize
order ordinality out outer over overlaps overwrite partition percent pivot pragma prepare
procedure qualify range real recursive ref references regexp rename replace returning revoke
right rlike rollback rollup row rows schema select semi sequence session set settings short
show smallint some str string struct table tablesample temp temporary text time timestamp
timestampltz timestampntz timestamptz timetz tinyblob tinyint tinytext trigger truncate
tsmultirange tsrange tstzmultirange tstzrange uhugeint uint uncache union unique unknown unnest
unpivot update use using uuid vacuum values varbinary varchar variant vector view volatile
where window with xor
""".split())

#: nesting deeper than this is refused (no formula of a column needs it)
MAX_DEPTH = 40

#: what the language allows, in one line: the hint of every refusal
ALLOWED = ("allowed: columns, numbers, 'text', date('YYYY-MM-DD'), true, false, null, "
           "+ - * /, = != < <= > >=, and, or, not, in (...), is [not] null, "
           "case when ... then ... [else ...] end, and the functions "
           + ", ".join(FUNCTIONS) + " (see docs/data.md, Derived columns)")


class ExprError(ValueError):
    """An expression outside the grammar: ``message`` says what, ``hint`` what is allowed."""

    def __init__(self, message: str, hint: str = ALLOWED):
        super().__init__(message)
        self.message = message
        self.hint = hint


# --------------------------------------------------------------------------------------------
# tokens

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<quoted>`[^`]*`)
  | (?P<text>'(?:[^']|'')*')
  | (?P<op><>|!=|==|<=|>=|[-+*/=<>(),])
""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, quoted, text, op, end
    text: str
    pos: int


def _tokens(source: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(source):
        if source[pos] == ";":
            raise ExprError(f"`;` at character {pos + 1} is not allowed: a derived column is "
                            "one expression, never SQL statements")
        for mark in ("--", "/*"):
            if source.startswith(mark, pos):
                raise ExprError(f"`{mark}` at character {pos + 1} is not allowed: comments "
                                "are SQL, not part of an expression",
                                "write a - (-1) for a minus sign after a minus sign; " + ALLOWED)
        m = _TOKEN.match(source, pos)
        if m is None:
            ch = source[pos]
            if ch == "'":
                raise ExprError(f"the text starting at character {pos + 1} is not closed: "
                                f"{source[pos:pos + 20]}", "close it with `'`; write a quote "
                                "inside a text as ''")
            if ch == '"':
                raise ExprError(f'`"` at character {pos + 1}: text is written in single quotes',
                                "write 'Yes', not \"Yes\"; a column name with spaces goes in "
                                "backquotes: `Monthly Charges`")
            if ch == "`":
                raise ExprError(f"the column name starting at character {pos + 1} is not "
                                "closed", "close it with a backquote: `Monthly Charges`")
            raise ExprError(f"unexpected character `{ch}` at character {pos + 1}")
        kind = m.lastgroup or ""
        if kind == "name" and m.group().lower() in SQL_KEYWORDS and not (
                m.group().lower() in FUNCTIONS and source[m.end():].lstrip().startswith("(")):
            word = m.group()
            raise ExprError(f"`{word}` at character {pos + 1} is an SQL keyword: a derived "
                            "column is an expression, never SQL",
                            f"if `{word}` is a column, write it in backquotes: `{word}`; "
                            + ALLOWED)
        if kind != "space":
            out.append(_Token(kind, m.group(), pos))
        pos = m.end()
    out.append(_Token("end", "", len(source)))
    return out


# --------------------------------------------------------------------------------------------
# the parser


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.toks = _tokens(source)
        self.i = 0
        self.depth = 0

    # helpers ---------------------------------------------------------------------------------

    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def word(self) -> str | None:
        """The current token as a lower-case word, when it is a plain name."""
        return self.tok.text.lower() if self.tok.kind == "name" else None

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def take(self) -> _Token:
        tok = self.tok
        self.i += 1
        return tok

    def found(self) -> str:
        tok = self.tok
        return "the end" if tok.kind == "end" else f"`{tok.text}` at character {tok.pos + 1}"

    def expect_op(self, op: str, what: str) -> None:
        if not self.at_op(op):
            raise ExprError(f"expected `{op}` {what}, found {self.found()}")
        self.take()

    def expect_word(self, word: str, what: str) -> None:
        if self.word() != word:
            raise ExprError(f"expected `{word}` {what}, found {self.found()}")
        self.take()

    # grammar ---------------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError("the expression is empty")
        node = self.expr()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected {self.found()} after a complete expression",
                            "join conditions with and/or; " + ALLOWED)
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"the expression is nested more than {MAX_DEPTH} levels deep",
                            "split it into several derived columns")
        try:
            return self.or_()
        finally:
            self.depth -= 1

    def or_(self) -> Node:
        node = self.and_()
        while self.word() == "or":
            self.take()
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.word() == "and":
            self.take()
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.word() == "not":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExprError(f"the expression is nested more than {MAX_DEPTH} levels deep",
                                "split it into several derived columns")
            try:
                return Not(self.not_())
            finally:
                self.depth -= 1
        return self.compare()

    def compare(self) -> Node:
        node = self.sum_()
        if self.at_op(*COMPARISONS, "<>", "=="):
            op = {"<>": "!=", "==": "="}.get(self.tok.text, self.tok.text)
            self.take()
            node = Binary(op, node, self.sum_())
        elif self.word() == "in" or (self.word() == "not" and self._next_word() == "in"):
            negated = self.word() == "not"
            if negated:
                self.take()
            self.take()
            node = In(node, self.literals(), negated)
        elif self.word() == "is":
            self.take()
            negated = self.word() == "not"
            if negated:
                self.take()
            self.expect_word("null", "after `is`" + (" not" if negated else ""))
            node = IsNull(node, negated)
        if self.at_op(*COMPARISONS, "<>", "==") or self.word() in ("in", "is"):
            raise ExprError(f"a comparison cannot follow another one ({self.found()})",
                            "join comparisons with and: a < b and b < c")
        return node

    def _next_word(self) -> str | None:
        nxt = self.toks[self.i + 1]
        return nxt.text.lower() if nxt.kind == "name" else None

    def literals(self) -> tuple[Node, ...]:
        self.expect_op("(", "after `in`")
        items = [self.literal()]
        while self.at_op(","):
            self.take()
            items.append(self.literal())
        self.expect_op(")", "to close the list after `in`")
        return tuple(items)

    def literal(self) -> Node:
        start = self.tok
        node = self.unary()
        if not _is_literal(node):
            raise ExprError(f"the list after `in` holds values, found {_what(start)}",
                            "write e.g. Contract in ('One year', 'Two year')")
        return node

    def sum_(self) -> Node:
        node = self.product()
        while self.at_op("+", "-"):
            op = self.take().text
            node = Binary(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at_op("*", "/"):
            op = self.take().text
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at_op("-"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExprError(f"the expression is nested more than {MAX_DEPTH} levels deep",
                                "split it into several derived columns")
            try:
                return Neg(self.unary())
            finally:
                self.depth -= 1
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            text = tok.text
            return Num(float(text) if any(c in text for c in ".eE") else int(text))
        if tok.kind == "text":
            self.take()
            return Text(tok.text[1:-1].replace("''", "'"))
        if tok.kind == "quoted":
            self.take()
            name = tok.text[1:-1]
            if not name.strip():
                raise ExprError(f"an empty column name at character {tok.pos + 1}",
                                "write the column's name between the backquotes")
            return Column(name)
        if self.at_op("("):
            self.take()
            node = self.expr()
            self.expect_op(")", "to close the `(`")
            return node
        if tok.kind == "name":
            return self.name()
        raise ExprError(f"expected a value, found {self.found()}")

    def name(self) -> Node:
        tok = self.take()
        word = tok.text.lower()
        if self.at_op("("):
            return self.call(tok)
        if word in ("true", "false"):
            return Bool(word == "true")
        if word == "null":
            return Null()
        if word == "case":
            return self.case()
        if word in GRAMMAR_WORDS:
            raise ExprError(f"expected a value, found `{tok.text}` at character {tok.pos + 1}")
        return Column(tok.text)

    def call(self, tok: _Token) -> Node:
        func = tok.text.lower()
        if func not in FUNCTIONS:
            raise ExprError(f"unknown function `{tok.text}`",
                            "functions: " + "; ".join(FUNCTION_DOCS.values()))
        self.expect_op("(", f"after `{func}`")
        args: list[Node] = []
        if not self.at_op(")"):
            args.append(self.expr())
            while self.at_op(","):
                self.take()
                args.append(self.expr())
        self.expect_op(")", f"to close `{func}(`")
        least, most = FUNCTIONS[func]
        if len(args) < least or (most is not None and len(args) > most):
            takes = (f"{least} argument" + ("s" if least > 1 else "")) if least == most else \
                f"at least {least} argument" + ("s" if least > 1 else "")
            raise ExprError(f"`{func}` takes {takes}, found {len(args)}", FUNCTION_DOCS[func])
        if func == "date":
            return _date(args[0])
        return Call(func, tuple(args))

    def case(self) -> Node:
        whens: list[tuple[Node, Node]] = []
        if self.word() != "when":
            raise ExprError(f"expected `when` after `case`, found {self.found()}",
                            "case when <condition> then <value> [else <value>] end")
        while self.word() == "when":
            self.take()
            cond = self.expr()
            self.expect_word("then", "after the condition of `when`")
            whens.append((cond, self.expr()))
        default = None
        if self.word() == "else":
            self.take()
            default = self.expr()
        self.expect_word("end", "to close `case`")
        return Case(tuple(whens), default)


def _date(arg: Node) -> Date:
    if isinstance(arg, Text):
        try:
            return Date(dt.date.fromisoformat(arg.value))
        except ValueError:
            pass
    raise ExprError(f"`date` takes a date written 'YYYY-MM-DD', found {unparse(arg)}",
                    FUNCTION_DOCS["date"])


def _is_literal(node: Node) -> bool:
    if isinstance(node, Neg):
        return isinstance(node.arg, Num)
    return isinstance(node, Num | Text | Bool | Date)


def _what(tok: _Token) -> str:
    return f"`{tok.text}` at character {tok.pos + 1}"


def parse(source: str) -> Node:
    """The tree of one expression, or :class:`ExprError` saying what is outside the grammar."""
    return _Parser(source).parse()


# --------------------------------------------------------------------------------------------
# back to text

_PRECEDENCE = {"or": 1, "and": 2, **{op: 4 for op in COMPARISONS}, "+": 5, "-": 5, "*": 6,
               "/": 6}
_NOT, _COMPARE, _UNARY, _ATOM = 3, 4, 7, 8


def _level(node: Node) -> int:
    if isinstance(node, Binary):
        return _PRECEDENCE[node.op]
    if isinstance(node, Not):
        return _NOT
    if isinstance(node, In | IsNull):
        return _COMPARE
    if isinstance(node, Neg):
        return _UNARY
    return _ATOM


def _wrap(node: Node, above: int) -> str:
    text = unparse(node)
    return f"({text})" if _level(node) < above else text


def _name(name: str) -> str:
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None
    reserved = name.lower() in SQL_KEYWORDS | GRAMMAR_WORDS
    return name if plain and not reserved else f"`{name}`"


def unparse(node: Node) -> str:
    """The expression as text; ``parse(unparse(tree)) == tree``."""
    if isinstance(node, Num):
        return repr(node.value)
    if isinstance(node, Text):
        return "'" + node.value.replace("'", "''") + "'"
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Null):
        return "null"
    if isinstance(node, Date):
        return f"date('{node.value.isoformat()}')"
    if isinstance(node, Column):
        return _name(node.name)
    if isinstance(node, Neg):
        # a minus sign before another one is parenthesised: `--` would start a comment
        inner = _wrap(node.arg, _UNARY)
        return f"-({inner})" if inner.startswith("-") else f"-{inner}"
    if isinstance(node, Not):
        return "not " + _wrap(node.arg, _NOT)
    if isinstance(node, Binary):
        level = _PRECEDENCE[node.op]
        # left-associative: an equal level on the right needs parentheses; comparisons do
        # not chain, so both of their sides are wrapped when they are comparisons
        left_min = level + 1 if node.op in COMPARISONS else level
        right = _wrap(node.right, level + 1)
        if node.op == "-" and right.startswith("-"):
            right = f"({right})"
        return f"{_wrap(node.left, left_min)} {node.op} {right}"
    if isinstance(node, In):
        items = ", ".join(unparse(i) for i in node.items)
        return f"{_wrap(node.arg, _COMPARE + 1)} {'not in' if node.negated else 'in'} ({items})"
    if isinstance(node, IsNull):
        return f"{_wrap(node.arg, _COMPARE + 1)} is {'not null' if node.negated else 'null'}"
    if isinstance(node, Case):
        parts = ["case"]
        for cond, value in node.whens:
            parts += ["when", unparse(cond), "then", unparse(value)]
        if node.default is not None:
            parts += ["else", unparse(node.default)]
        return " ".join([*parts, "end"])
    if isinstance(node, Call):
        return f"{node.func}({', '.join(unparse(a) for a in node.args)})"
    raise TypeError(node)  # pragma: no cover


def columns(node: Node) -> list[str]:
    """The columns an expression reads, in the order first written."""
    found: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Column):
            if n.name not in found:
                found.append(n.name)
        elif isinstance(n, Neg | Not):
            walk(n.arg)
        elif isinstance(n, Binary):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, In):
            walk(n.arg)
        elif isinstance(n, IsNull):
            walk(n.arg)
        elif isinstance(n, Case):
            for cond, value in n.whens:
                walk(cond)
                walk(value)
            if n.default is not None:
                walk(n.default)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)

    walk(node)
    return found
