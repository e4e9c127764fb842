"""The expression language of derived columns: its laws, and every refusal with its message.

The parser (:mod:`crindex.model.expr`) is pure: these tests load no engine. Laws, by
hypothesis: text printed from a tree parses back to the same tree; every SQL keyword is
refused by name wherever it stands; `;` outside a text is refused wherever it stands; any
text either parses or is refused with an :class:`ExprError` (never another exception).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.model import expr as ex
from crindex.model.expr import ExprError, parse, unparse

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------------------------
# trees

names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
    st.text(st.characters(blacklist_characters="`", blacklist_categories=("Cs",)),
            min_size=1, max_size=8).filter(lambda s: s.strip() != ""),
)
numbers = st.one_of(st.integers(0, 10**12),
                    st.floats(0, 1e15, allow_nan=False, allow_infinity=False))
literals = st.one_of(
    numbers.map(ex.Num),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8).map(ex.Text),
    st.booleans().map(ex.Bool),
    st.just(ex.Null()),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)).map(ex.Date),
    names.map(ex.Column),
)
in_items = st.one_of(numbers.map(ex.Num), numbers.map(lambda n: ex.Neg(ex.Num(n))),
                     st.text(max_size=5).map(ex.Text))


def _extend(children: st.SearchStrategy[ex.Node]) -> st.SearchStrategy[ex.Node]:
    ops = [*ex.ARITHMETIC, *ex.COMPARISONS, "and", "or"]
    funcs = [f for f in ex.FUNCTIONS if f != "date"]  # date('...') is the Date literal

    @st.composite
    def call(draw: st.DrawFn) -> ex.Node:
        f = draw(st.sampled_from(funcs))
        least, most = ex.FUNCTIONS[f]
        n = draw(st.integers(least, most if most is not None else least + 2))
        return ex.Call(f, tuple(draw(children) for _ in range(n)))

    return st.one_of(
        st.builds(ex.Binary, st.sampled_from(ops), children, children),
        st.builds(ex.Neg, children),
        st.builds(ex.Not, children),
        st.builds(ex.In, children, st.lists(in_items, min_size=1, max_size=3).map(tuple),
                  st.booleans()),
        st.builds(ex.IsNull, children, st.booleans()),
        st.builds(ex.Case, st.lists(st.tuples(children, children), min_size=1, max_size=2)
                  .map(tuple), st.none() | children),
        call(),
    )


trees = st.recursive(literals, _extend, max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(trees)
def test_printed_text_parses_back_to_the_same_tree(tree):
    assert parse(unparse(tree)) == tree


@settings(max_examples=80, deadline=None)
@given(trees)
def test_printing_is_stable(tree):
    text = unparse(tree)
    assert unparse(parse(text)) == text


# --------------------------------------------------------------------------------------------
# SQL is refused, wherever it stands

KEYWORD_PLACES = ("{k}", "{k} 1", "a + {k}", "a {k} b", "{k}(a)", "count_true(a, {k})",
                  "case when {k} then 1 end", "a in (1) {k}")


def test_the_keyword_list_holds_every_sql_keyword_of_the_common_dialects():
    # sqlglot's tokenizer knows the keywords of the dialects it reads: each one that is not a
    # word of the grammar is on the refused list
    from sqlglot.tokens import Tokenizer

    words = {k.lower() for k in Tokenizer.KEYWORDS if k.isalpha()}
    assert words - ex.GRAMMAR_WORDS <= ex.SQL_KEYWORDS
    for word in ("select", "drop", "union", "insert", "delete", "update", "from", "where",
                 "join", "exec", "execute", "grant", "truncate", "create", "alter"):
        assert word in ex.SQL_KEYWORDS


def test_every_sql_keyword_is_refused_by_name_wherever_it_stands():
    # every keyword, in every place, in three cases: a finite list, so all of it is tried
    for keyword in sorted(ex.SQL_KEYWORDS):
        for place in KEYWORD_PLACES:
            if keyword in ex.FUNCTIONS and place == "{k}(a)":
                continue  # date(...) is the date function
            for word in (keyword.lower(), keyword.upper(), keyword.title()):
                with pytest.raises(ExprError) as err:
                    parse(place.format(k=word))
                assert f"`{word}` at character" in err.value.message
                assert "is an SQL keyword: a derived column is an expression, never SQL" in \
                    err.value.message
                assert f"write it in backquotes: `{word}`" in err.value.hint


@pytest.mark.parametrize("keyword", ["select", "order", "date", "values"])
def test_a_column_named_like_a_keyword_is_written_in_backquotes(keyword):
    assert parse(f"`{keyword}` + 1") == ex.Binary("+", ex.Column(keyword), ex.Num(1))


@settings(max_examples=100, deadline=None)
@given(trees, st.sampled_from([";", "; drop table customers", ";select 1"]),
       st.booleans())
def test_a_semicolon_is_refused_before_or_after_any_expression(tree, tail, before):
    text = unparse(tree)
    text = tail + " " + text if before else text + tail
    with pytest.raises(ExprError) as err:
        parse(text)
    assert "`;` at character" in err.value.message
    assert "is not allowed: a derived column is one expression, never SQL statements" in \
        err.value.message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "1", "+", "(", ")", " ", "'x'", "and", "b", ","]),
                max_size=6), st.lists(st.sampled_from(["a", "1", "+", " ", ")"]), max_size=4))
def test_a_semicolon_between_any_tokens_is_refused(before, after):
    with pytest.raises(ExprError, match="`;` at character"):
        parse("".join(before) + ";" + "".join(after))


def test_a_semicolon_inside_a_text_is_only_text():
    assert parse("lower(x) = 'a;b'") == ex.Binary("=", ex.Call("lower", (ex.Column("x"),)),
                                                  ex.Text("a;b"))


OUTSIDE = "@#$%^&|~[]{}?:\\!\"\x00"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1 +(", max_size=5), st.sampled_from(sorted(set(OUTSIDE))),
       st.text(alphabet="ab1 +)", max_size=5))
def test_a_character_outside_the_grammar_is_refused(before, char, after):
    with pytest.raises(ExprError) as err:
        parse(before + char + after)
    assert any(s in err.value.message for s in (
        "unexpected character", "text is written in single quotes"))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_any_text_parses_or_is_refused_with_a_message(text):
    try:
        parse(text)
    except ExprError as err:
        assert err.message and err.hint


# --------------------------------------------------------------------------------------------
# every refusal of the parser, with its message and what it says is allowed

REFUSALS = [
    # (expression, message, a phrase of the hint)
    ("a; drop table x", "`;` at character 2 is not allowed: a derived column is one "
     "expression, never SQL statements", "allowed:"),
    ("a -- comment", "`--` at character 3 is not allowed: comments are SQL", "a - (-1)"),
    ("a /* x */", "`/*` at character 3 is not allowed: comments are SQL", "allowed:"),
    ("select 1", "`select` at character 1 is an SQL keyword: a derived column is an "
     "expression, never SQL", "write it in backquotes: `select`"),
    ("Churn = 'Yes", "the text starting at character 9 is not closed: 'Yes",
     "write a quote inside a text as ''"),
    ('Churn = "Yes"', '`"` at character 9: text is written in single quotes',
     "write 'Yes', not \"Yes\""),
    ("`Monthly Charges", "the column name starting at character 1 is not closed",
     "close it with a backquote"),
    ("a @ b", "unexpected character `@` at character 3", "allowed:"),
    ("", "the expression is empty", "allowed:"),
    ("a b", "unexpected `b` at character 3 after a complete expression",
     "join conditions with and/or"),
    ("(a + 1", "expected `)` to close the `(`, found the end", "allowed:"),
    ("a in 1", "expected `(` after `in`, found `1` at character 6", "allowed:"),
    ("a is 1", "expected `null` after `is`, found `1` at character 6", "allowed:"),
    ("case when a then 1", "expected `end` to close `case`, found the end", "allowed:"),
    ("case when a 1 end", "expected `then` after the condition of `when`", "allowed:"),
    ("case a end", "expected `when` after `case`, found `a` at character 6",
     "case when <condition> then <value>"),
    ("a < b < c", "a comparison cannot follow another one (`<` at character 7)",
     "join comparisons with and"),
    ("a in (b)", "the list after `in` holds values, found `b` at character 7",
     "Contract in ('One year', 'Two year')"),
    ("`` + 1", "an empty column name at character 1", "between the backquotes"),
    ("a + ", "expected a value, found the end", "allowed:"),
    ("a + then", "expected a value, found `then` at character 5", "allowed:"),
    ("sqrt(a)", "unknown function `sqrt`", "months(n): n calendar months"),
    ("months(a, b)", "`months` takes 1 argument, found 2", "months(n)"),
    ("coalesce(a)", "`coalesce` takes at least 2 arguments, found 1", "coalesce(a, b, ...)"),
    ("date('30/06/2024')", "`date` takes a date written 'YYYY-MM-DD', found '30/06/2024'",
     "date('YYYY-MM-DD')"),
    ("(" * 41 + "1" + ")" * 41, "the expression is nested more than 40 levels deep",
     "split it into several derived columns"),
    ("- " * 41 + "1",
     "the expression is nested more than 40 levels deep", "several derived columns"),
    ("not " * 41 + "a", "the expression is nested more than 40 levels deep",
     "several derived columns"),
]


@pytest.mark.parametrize("text,message,hint", REFUSALS, ids=[r[1][:40] for r in REFUSALS])
def test_every_refusal_says_what_and_what_is_allowed(text, message, hint):
    with pytest.raises(ExprError) as err:
        parse(text)
    assert message in err.value.message
    assert hint in err.value.hint


# --------------------------------------------------------------------------------------------
# what parses, and into what

def test_precedence_and_the_tree():
    assert parse("a + b * c") == ex.Binary("+", ex.Column("a"),
                                           ex.Binary("*", ex.Column("b"), ex.Column("c")))
    assert parse("not a = 1 and b or c") == ex.Binary(
        "or", ex.Binary("and", ex.Not(ex.Binary("=", ex.Column("a"), ex.Num(1))),
                        ex.Column("b")), ex.Column("c"))
    assert parse("a - b - c") == ex.Binary("-", ex.Binary("-", ex.Column("a"), ex.Column("b")),
                                           ex.Column("c"))
    assert parse("a <> 1") == parse("a != 1") and parse("a == 1") == parse("a = 1")
    assert parse("Contract NOT IN ('One year')") == ex.In(ex.Column("Contract"),
                                                          (ex.Text("One year"),), True)
    assert parse("date('2024-06-30') - months(tenure)") == ex.Binary(
        "-", ex.Date(dt.date(2024, 6, 30)), ex.Call("months", (ex.Column("tenure"),)))
    assert parse("'it''s'") == ex.Text("it's")
    assert ex.columns(parse("count_true(a, b, a) + coalesce(`c d`, 0)")) == ["a", "b", "c d"]


def test_the_grammar_in_the_docs_is_the_parsers():
    docs = (ROOT / "docs/data.md").read_text(encoding="utf-8")
    section = docs.split("## Derived columns", 1)[1]
    grammar = re.search(r"```\n(expr .*?)```", section, re.S)
    assert grammar is not None
    flat = " ".join(grammar.group(1).split())
    assert flat in " ".join((ex.__doc__ or "").split())
    for name in ex.FUNCTIONS:
        assert f"`{name}(" in section
