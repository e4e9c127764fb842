"""The same model on Spark local[2] gives the same answers as on embedded DuckDB.

The hand-computed golden suite (tests/test_scoring_golden.py) runs on both engines through the
``con`` fixture; here: the demo world and the other example worlds customer by customer, the
distributed rank against hand counts, the command line, and the errors a Spark user meets.
Everything shares one local[2] session (tests/conftest.py: skipped with a reason where pyspark
or Java is missing, failed when CI=true).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from crindex.api import score
from crindex.cli import app
from crindex.engine.compile import RAW_DECIMALS, SCORE_DECIMALS
from crindex.errors import DataError
from crindex.examples import example_path
from crindex.model import CRIModel, load_model, parse_model
from tests.conftest import WORLD_AS_OF

pytestmark = pytest.mark.spark

#: profile -> the example model that scores its world (the shared worlds of tests/conftest.py)
WORLDS = {"ecommerce": "ecommerce", "b2b": "b2b", "saas": "saas_health"}

# How far the engines may differ. Both sum floats in their own order, so a sum can differ in
# its last bits (~1e-13 here). The score, coverage and dimension scores are then rounded to
# SCORE_DECIMALS: where the exact value sits on a rounding tie (x.xxxxxx5), that noise moves
# the rounded value by one unit in the last place, 1e-6, which the float representation of
# the two rounded values can make 1.00000000458e-06. So: one unit plus half a unit for float
# noise, never less than a possible flip. Raw values are rounded to RAW_DECIMALS before any
# ranking (a flip there is 1e-9); a metric score, weight or contribution follows from them by
# a linear map of slope at most 100 per unit (a range of width 1), so 1e-9 x 100 = 1e-7 at
# most, and the same 1.5e-6 covers them with room.
TOLERANCE = 1.5 * 10.0 ** -SCORE_DECIMALS
assert 100 * 10.0 ** -RAW_DECIMALS < TOLERANCE


def frame(result) -> pd.DataFrame:
    return result.table.to_pandas().set_index("customer_id").sort_index()


def tier_edges(model: CRIModel, scores: pd.DataFrame) -> np.ndarray:
    """The scores where one tier ends and the next begins: the model's thresholds, or (tiers
    by rank) the lowest and highest score of each tier."""
    if model.tiers.by == "score":
        return np.array([lv.min if lv.min is not None else lv.above
                         for lv in model.tiers.levels
                         if lv.min is not None or lv.above is not None])
    return scores.groupby("tier").score.agg(["min", "max"]).to_numpy().ravel()


def assert_same_scores(duck: pd.DataFrame, spark: pd.DataFrame, model: CRIModel) -> None:
    """Same customers and columns, numbers within TOLERANCE, the same tier for everyone whose
    score is not within TOLERANCE of a tier edge (there a flip of the last place may cross it)."""
    assert list(spark.index) == list(duck.index)
    assert list(spark.columns) == list(duck.columns)
    for column in [c for c in duck.columns if duck[c].dtype.kind == "f"]:
        assert (spark[column].isna() == duck[column].isna()).all(), column
        assert (spark[column] - duck[column]).abs().max() <= TOLERANCE, column
    edges = tier_edges(model, duck)
    near = (np.abs(duck.score.to_numpy()[:, None] - edges[None, :]) <= TOLERANCE).any(axis=1)
    same = spark.tier.fillna("") == duck.tier.fillna("")
    assert (same | near).all(), duck.index[~(same | near)].tolist()
    # the excuse must not swallow the comparison (by rank, the customers at each tier's lowest
    # and highest score are always excused: a handful)
    assert near.mean() < 0.05, near.sum()


@pytest.mark.parametrize("world", list(WORLDS))
def test_every_customer_scores_the_same_on_both_engines(request, spark_con, world):
    import ibis.expr.operations as ops

    folder = request.getfixturevalue(f"{world}_world")
    model = load_model(example_path(WORLDS[world]))
    on_duck = score(model, folder, WORLD_AS_OF)
    on_spark = score(model, folder, WORLD_AS_OF, con=spark_con)
    # Spark's query has no final sort (it would run the query twice); its rows are sorted
    # after collecting, so they come in DuckDB's order, which its ORDER BY gives
    assert isinstance(on_duck.compiled.expr.op(), ops.Sort)
    assert not isinstance(on_spark.compiled.expr.op(), ops.Sort)
    assert on_spark.compiled.sort_after == ("customer_id",) and not on_duck.compiled.sort_after
    assert on_spark.table["customer_id"].equals(on_duck.table["customer_id"])
    duck, spark = frame(on_duck), frame(on_spark)
    assert len(duck) > 500
    # every raw value, metric score, contribution, coverage and score, and every tier
    assert_same_scores(duck, spark, model)
    # the tiers are not all one: equality above is not two empty answers
    assert duck.tier.nunique() >= 3


def test_the_distributed_rank_counts_by_hand(spark_con):
    from crindex.engine.spark import value_ranks

    t = spark_con.create_table(
        "ranks_fixture", pd.DataFrame({"x": [3.0, 1.0, 3.0, 2.0, None, 3.0, 5.0, 1.0]}),
        overwrite=True)
    got = spark_con.to_pandas(value_ranks(t, "x", buckets=3)).sort_values("_v")
    # 7 values: 1 1 2 3 3 3 5 -> below / same per distinct value
    assert got._v.tolist() == [1.0, 2.0, 3.0, 5.0]
    assert got._below.tolist() == [0, 2, 3, 6]
    assert got._same.tolist() == [2, 1, 3, 1]
    assert got._n.tolist() == [7, 7, 7, 7]


def test_ranks_are_exact_whatever_the_buckets(spark_con):
    import numpy as np

    from crindex.engine.spark import value_ranks

    rng = np.random.default_rng(3)
    values = rng.integers(0, 500, 20_000).astype(float)  # many ties
    t = spark_con.create_table("ranks_many", pd.DataFrame({"x": values}), overwrite=True)
    got = spark_con.to_pandas(value_ranks(t, "x", buckets=16)).set_index("_v").sort_index()
    uniq, counts = np.unique(values, return_counts=True)
    assert got.index.tolist() == uniq.tolist()
    assert got._same.tolist() == counts.tolist()
    assert got._below.tolist() == (np.cumsum(counts) - counts).tolist()


def test_the_session_runs_in_utc(spark_con):
    session = spark_con._session
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"
    # a timestamp late on the as_of date still counts as that day, as on DuckDB
    model = parse_model("""
name: utc
dimensions:
  - id: d
    metrics:
      - {id: recency, aggregate: recency_days, weight: 100, normalise: {method: identity}}
""")
    frames = {
        "customers": pd.DataFrame({"customer_id": ["a", "b"],
                                   "created_at": pd.to_datetime(["2020-01-01"] * 2)}),
        "orders": pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "b"],
                                "ordered_at": pd.to_datetime(["2025-06-30 23:30",
                                                              "2025-06-28 00:10"]),
                                "amount": [1.0, 1.0]}),
    }
    got = frame(score(model, frames, "2025-06-30", con=spark_con))
    assert got["recency__raw"].tolist() == [0.0, 2.0]


def test_the_command_line_scores_on_spark(ecommerce_world, spark_con, tmp_path):
    runner = CliRunner()
    args = ["score", "--model", str(example_path("ecommerce")), "--data", str(ecommerce_world),
            "--as-of", WORLD_AS_OF]
    on_duck = runner.invoke(app, [*args, "--out", str(tmp_path / "duck")])
    on_spark = runner.invoke(app, [*args, "--out", str(tmp_path / "spark"), "--engine", "spark",
                                   "--master", "local[2]", "--conf", "spark.crindex.probe=cli",
                                   "--conf", "spark.sql.shuffle.partitions=8"])
    assert on_duck.exit_code == 0, on_duck.output
    assert on_spark.exit_code == 0, on_spark.output
    duck, spark = (pd.read_parquet(tmp_path / side / "scores.parquet")
                   .set_index("customer_id").sort_index() for side in ("duck", "spark"))
    assert_same_scores(duck, spark, load_model(example_path("ecommerce")))
    # --conf reached the session builder (the session is shared, so an inert key of our own)
    assert spark_con._session.conf.get("spark.crindex.probe") == "cli"
    # the SQL written beside the scores is what Spark ran, step by step
    sql = (tmp_path / "spark" / "model.sql").read_text()
    assert sql.startswith("WITH `active_customers` AS (")
    assert "`tiered` AS (" in sql and "/* metric annual_spend: " in sql


def test_a_mapped_model_is_refused_on_spark(ecommerce_world, spark_con):
    text = example_path("ecommerce").read_text(encoding="utf-8")
    mapped = parse_model(text + "\nsources:\n  orders:\n    columns: {金额: amount}\n")
    with pytest.raises(DataError) as err:
        score(mapped, ecommerce_world, WORLD_AS_OF, con=spark_con)
    message = str(err.value)
    assert "sources:" in message and "spark" in message


def test_a_folder_without_customers_is_a_clear_error(spark_con, tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\n",
                                         encoding="utf-8")
    with pytest.raises(DataError) as err:
        score(example_path("ecommerce"), tmp_path, "2025-06-30", con=spark_con)
    assert "customers.parquet or customers.csv" in str(err.value)


def test_master_without_the_spark_engine_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["score", "--model", str(example_path("ecommerce")),
                                      "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                                      "--master", "local[2]"])
    assert result.exit_code != 0
    assert "--master only applies to --engine spark" in result.output
    assert "Traceback" not in result.output


def test_settings_a_running_session_cannot_change_are_a_clear_error(spark_con):
    """Without --master the running session is used: what it cannot change is named."""
    from crindex.engine.spark import spark_session
    from crindex.errors import EngineError

    session = spark_con._session
    with pytest.raises(EngineError) as err:
        spark_session(None, conf={"spark.driver.memory": "64g",
                                  "spark.crindex.probe": "running"})
    message = str(err.value)
    assert "cannot change `spark.driver.memory`" in message
    assert "spark-submit --conf spark.driver.memory=64g" in message
    assert "probe" not in message  # a setting it can change is set, not reported
    assert session.conf.get("spark.crindex.probe") == "running"


def test_a_folder_given_as_a_url_is_read_through_the_cluster_file_system(spark_con, tmp_path):
    from tests.conftest import AS_OF, five_frames
    from tests.test_scoring_golden import AGGREGATES_MODEL

    for name, df in five_frames().items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    model = parse_model(AGGREGATES_MODEL)
    local = frame(score(model, tmp_path, AS_OF))
    by_url = frame(score(model, f"file://{tmp_path}", AS_OF, con=spark_con))
    assert list(by_url.index) == ["c1", "c2", "c3", "c4", "c5"]
    assert_same_scores(local, by_url, model)
    with pytest.raises(DataError) as err:
        score(model, f"file://{tmp_path}/nowhere", AS_OF, con=spark_con)
    assert "no customers table" in str(err.value)


def test_scores_can_be_written_by_spark_itself(spark_con, tmp_path):
    """The docs/spark.md route that leaves the scores on the cluster."""
    from crindex.data import open_dataset
    from crindex.engine.compile import compile_model
    from tests.conftest import AS_OF, five_frames
    from tests.test_scoring_golden import AGGREGATES_MODEL

    data = tmp_path / "data"
    data.mkdir()
    for name, df in five_frames().items():
        df.to_parquet(data / f"{name}.parquet", index=False)
    model = parse_model(AGGREGATES_MODEL)
    ds = open_dataset(str(data), model, AS_OF, con=spark_con)
    assert ds.sources["orders"] == "orders.parquet"
    compiled = compile_model(model, ds.tables, AS_OF, engine="pyspark")
    spark_con.to_parquet(compiled.expr, str(tmp_path / "scores"))
    written = pd.read_parquet(tmp_path / "scores").set_index("customer_id").sort_index()
    expected = frame(score(model, data, AS_OF))
    assert_same_scores(expected, written, model)


def test_rows_keep_their_place_in_a_file_spark_splits(spark_con, tmp_path):
    """A file read in several partitions: lines numbered as on DuckDB, the first repeat kept."""
    from crindex.data import open_dataset

    n = 3000
    ids = [f"c{i % 2500}" for i in range(n)]  # c0..c499 come twice: lines 2502.. repeat them
    lines = ["customer_id,created_at,segment"] + [f"{c},2024-01-01,s{i}" for i, c in
                                                  enumerate(ids)]
    (tmp_path / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    session = spark_con._session
    before = session.conf.get("spark.sql.files.maxPartitionBytes")
    session.conf.set("spark.sql.files.maxPartitionBytes", "8192")
    try:
        spark = open_dataset(tmp_path, as_of="2025-06-30", con=spark_con)
        assert session.read.csv(str(tmp_path / "customers.csv")).rdd.getNumPartitions() > 3
    finally:
        session.conf.set("spark.sql.files.maxPartitionBytes", before)
    duck = open_dataset(tmp_path, as_of="2025-06-30")
    got = spark.quality.table("customers").quarantine.to_pylist()
    want = duck.quality.table("customers").quarantine.to_pylist()
    assert len(got) == 500
    assert [r["crindex_line"] for r in got] == [r["crindex_line"] for r in want] == \
        list(range(2502, 3002))
    # the rows kept are the first of each id (segment s0..s2499)
    kept = spark_con.to_pandas(spark.tables["customers"]).set_index("customer_id").segment
    assert kept["c7"] == "s7" and kept["c499"] == "s499"


def test_a_clv_model_scores_on_spark_as_on_duckdb(spark_con):
    """Issue 13: the fitted predictions (an Ibis in-memory table) reach Spark's cached table.

    The CDNOW sample with the CLV, P(alive) and expected-purchases metrics, percentile
    normalised (the distributed rank caches the per-customer table first): every customer,
    with the same score as on DuckDB within the 6-decimal rounding of scores.
    """
    from crindex.clv.cdnow import read_cdnow
    from tests.conftest import require_shared_data
    from tests.test_clv_metrics import AS_OF, MODEL

    orders = read_cdnow(require_shared_data() / "cdnow" / "CDNOW_sample.txt")
    customers = pd.DataFrame({"customer_id": sorted(orders.customer_id.unique()) +
                              ["never_bought"], "created_at": pd.Timestamp("1997-01-01")})
    data = {"customers": customers, "orders": orders}
    model = parse_model(MODEL)
    duck = frame(score(model, data, AS_OF))
    spark = frame(score(model, data, AS_OF, con=spark_con))
    assert len(duck) == 2358
    assert list(spark.index) == list(duck.index)
    # every number within the rounding, the same tier (never_bought has none on either engine)
    assert_same_scores(duck, spark, model)
    # the scores are spread out: equality above is not two constant answers
    assert duck.score.nunique() > 1000
