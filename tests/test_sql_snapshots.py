"""The SQL a model compiles to: snapshots per example and dialect, named steps, and the SQL shown
is the query that runs.

A snapshot differs when the compiler changes the query: run ``pytest --update-snapshots`` and
review the change in the diff of tests/snapshots/sql/ like any other code.
"""

from __future__ import annotations

import importlib.util
import os
import re

import pytest

from crindex.examples import example_path
from crindex.model import load_model, parse_model
from tests.conftest import AS_OF, ROOT

SNAPSHOTS = ROOT / "tests" / "snapshots" / "sql"
EXAMPLES = ["ecommerce", "b2b", "saas_health"]
#: file name -> what `crindex sql --dialect` is given
DIALECTS = {"duckdb": "duckdb", "spark": "spark", "postgres": "postgresql"}
#: fixed, so that window bounds in the SQL do not move with the calendar
SNAPSHOT_AS_OF = "2025-06-30"
CTE = re.compile(r'^(?:WITH |\), )["`](\w+)["`] AS \($', re.MULTILINE)


def need_pyspark() -> None:
    """The spark dialect's compiler ships with pyspark: skip without it, fail when CI=true."""
    if importlib.util.find_spec("pyspark") is None:
        reason = "the spark dialect needs pyspark (pip install 'crindex[spark]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true")
        pytest.skip(reason)


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("example", EXAMPLES)
def test_the_sql_of_each_example_matches_its_snapshot(example, dialect, cli, snapshot):
    if dialect == "spark":
        need_pyspark()
    code, text = cli("sql", "--model", str(example_path(example)), "--as-of", SNAPSHOT_AS_OF,
                     "--dialect", DIALECTS[dialect])
    assert code == 0, text
    snapshot(SNAPSHOTS / f"{example}.{dialect}.sql", text)


def test_a_changed_query_fails_with_a_unified_diff_and_a_missing_snapshot_fails(
        snapshot, tmp_path, request):
    if request.config.getoption("--update-snapshots"):
        pytest.skip("--update-snapshots writes instead of comparing")
    kept = tmp_path / "kept.sql"
    kept.write_text("SELECT\n  1 AS a\nFROM t\n", encoding="utf-8")
    snapshot(kept, "SELECT\n  1 AS a\nFROM t\n")
    with pytest.raises(pytest.fail.Exception) as err:
        snapshot(kept, "SELECT\n  2 AS a\nFROM t\n")
    message = str(err.value)
    assert "--update-snapshots" in message
    assert "\n-  1 AS a\n+  2 AS a\n" in message and "@@ " in message
    with pytest.raises(pytest.fail.Exception, match="no snapshot"):
        snapshot(tmp_path / "absent.sql", "SELECT 1")
    assert not (tmp_path / "absent.sql").exists()


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_sql_is_built_from_named_steps_with_each_metric_named(example, cli):
    model = load_model(example_path(example))
    code, text = cli("sql", "--model", str(example_path(example)), "--as-of", SNAPSHOT_AS_OF)
    assert code == 0, text
    from crindex.model.loader import metric_table

    sources = sorted({metric_table(m) for _, m in model.metrics} - {"customers"})
    steps = CTE.findall(text)
    # one step per source table read, in the order of the plan
    assert steps[0] == "active_customers"
    assert sorted(s for s in steps if s.startswith("agg_")) == [f"agg_{t}" for t in sources]
    assert steps[1 + len(sources):] == ["raw", "normalised", "scored", "weighted", "tiered"]
    # every metric is named where its raw value, normalised score, policy and weight are made
    for _, m in model.metrics:
        for what in ("raw", "norm", "score", "weight"):
            assert re.search(rf'AS ["`]{m.id}__{what}["`],? /\* metric {m.id}: ', text), \
                (m.id, what)


def test_the_sql_shown_computes_what_runs(five):
    """DuckDB runs the text of ``Compiled.sql()`` (comments and all) to the same table."""
    from crindex.data import open_dataset
    from crindex.engine.compile import compile_model
    from tests.test_scoring_golden import AGGREGATES_MODEL

    # the opened tables are views named after the contract's tables, as the SQL names them
    dataset = open_dataset(five, as_of=AS_OF)
    con = dataset.con
    compiled = compile_model(parse_model(AGGREGATES_MODEL), dataset.tables, AS_OF)
    ran = con.to_pyarrow(compiled.expr)
    shown = con.con.sql(compiled.sql()).to_arrow_table()
    assert shown.column_names == ran.column_names
    assert shown.num_rows == 5
    assert shown.equals(ran)


def test_a_model_value_cannot_end_a_comment_early():
    from crindex.cli import contract_tables
    from crindex.engine.compile import compile_model

    model = parse_model("""
name: tricky
dimensions:
  - id: d
    metrics:
      - {id: band, aggregate: attribute, column: segment, weight: 100, normalise: {method: map, values: {"a */ DROP TABLE x; /*": 100}}}
""")
    text = compile_model(model, contract_tables(), AS_OF).sql()
    comments = re.findall(r"/\*.*?\*/", text, re.DOTALL)
    assert any("metric band: normalise map" in c for c in comments)
    # outside comments and string literals, the value never appears as SQL
    code = re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL))
    assert "DROP TABLE" not in code
