"""Model files as users save them: encodings, empty and binary files, tabs, size, many problems;
messages in crindex's words; bins that cannot be reached; random one-character corruptions."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crindex.errors import ModelError
from crindex.model import load_model, parse_model
from crindex.model.loader import MAX_MODEL_BYTES, MAX_PROBLEMS_PER_KIND
from crindex.model.wording import did_you_mean

from .test_cli_store import MODEL, write_five

AS_OF = "2025-06-30"
#: a key path with a list index in it (`dimensions.0.metrics`): never shown to a user
ZERO_BASED = re.compile(r"`[A-Za-z_]+(\.[A-Za-z_]+)*\.\d+(\.|`)")


def refusal(path: Path) -> ModelError:
    with pytest.raises(ModelError) as info:
        load_model(path)
    return info.value


# --------------------------------------------------------------------------------------------
# encodings


def test_a_gbk_model_scores_exactly_like_the_utf8_one(tmp_path: Path) -> None:
    from crindex.api import score

    _, data = write_five(tmp_path)
    text = MODEL.replace("name: five", "name: five\ndescription: 客户关系指数（五位客户）")
    utf8, gbk, bom = tmp_path / "utf8.yaml", tmp_path / "gbk.yaml", tmp_path / "bom.yaml"
    utf8.write_bytes(text.encode("utf-8"))
    gbk.write_bytes(text.encode("gbk"))
    bom.write_bytes(text.encode("utf-8-sig"))
    assert gbk.read_bytes() != utf8.read_bytes()  # the Chinese text is really GBK bytes
    models = [load_model(p) for p in (utf8, gbk, bom)]
    assert {m.description for m in models} == {"客户关系指数（五位客户）"}
    assert {m.text for m in models} == {text}  # the same text, so the same model hash
    assert models[0].model_dump() == models[1].model_dump() == models[2].model_dump()
    tables = [score(m, data, AS_OF).table.to_pandas() for m in models[:2]]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    # c1: 1500 paid in the window / 4000 x 100 = 37.5 (tests/test_cli_store.py)
    assert tables[1].set_index("customer_id").loc["c1", "score"] == 37.5


def test_empty_binary_folder_and_oversized_files_get_one_line_each(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.yaml"
    blank.write_text("\n# nothing yet\n   \n", encoding="utf-8")
    binary = tmp_path / "model.xlsx"
    binary.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    folder = tmp_path / "models"
    folder.mkdir()
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_MODEL_BYTES + 1))
    for path, words in ((empty, "is empty"), (blank, "is empty"),
                        (binary, "is not a text file"), (folder, "is a folder, not a file"),
                        (big, "is 257 KB; a model file is at most 256 KB")):
        err = refusal(path)
        assert len(err.problems) == 1, err
        assert f"{path} {words}" in str(err), err
        assert "\n" not in str(err)
        assert "codec" not in str(err) and "Traceback" not in str(err)


def test_a_tab_indent_says_tab_with_its_line() -> None:
    text = MODEL.replace("    metrics:", "\tmetrics:")
    with pytest.raises(ModelError) as info:
        parse_model(text, "m.yaml")
    [problem] = info.value.problems
    assert problem.where == "m.yaml:5" and "tab" in problem.message
    assert problem.hint == "replace the tab with spaces (2 per level)"


def test_problems_are_bounded_per_kind_with_a_count_of_the_rest() -> None:
    # 50 metrics with a misspelt aggregate (one kind) and 50 with weight -1 (another)
    metrics = "".join(
        f"      - {{id: m{i}, aggregate: summ, column: amount, weight: 0.1, "
        f"normalise: {{method: range, min: 0, max: 1}}}}\n" for i in range(50))
    metrics += "".join(
        f"      - {{id: n{i}, aggregate: count, weight: -1, "
        f"normalise: {{method: range, min: 0, max: 1}}}}\n" for i in range(50))
    with pytest.raises(ModelError) as info:
        parse_model("name: big\ndimensions:\n  - id: d\n    metrics:\n" + metrics, "big.yaml")
    err = info.value
    lines = str(err).splitlines()
    assert lines[0] == "model big.yaml has 100 problem(s):"
    # 20 of each kind listed, then one line per kind counting the 30 others
    assert len(err.problems) == 2 * MAX_PROBLEMS_PER_KIND + 2
    assert sum("... and 30 more problem(s) of the same kind" in line for line in lines) == 2
    assert "(unknown_aggregate)" in lines[-2] + lines[-1] and "(model_schema)" in lines[-2] + lines[-1]


# --------------------------------------------------------------------------------------------
# crindex's words: ids, not indexes; what is allowed; a guess


BROKEN = """\
name: broken
as_of: 2025-02-30
dimensions:
  - id: value
    weight: 150
    metrics:
      - id: recency
        aggregate: recency_days
        weight: .nan
        missing: {policy: Neutral, score: 120}
        normalise: {method: bins, out_of: five, bins: [{min: 0, max: .inf, point: 5}]}
  - id: loyalty
    weight: -50
    metrics:
      - {id: 2nps, aggregate: nps, weight: 100, normalise: {method: range, min: x, max: 100}}
tiers:
  by: scor
  levels:
    - {id: best, min: 101}
    - {id: rest}
alerts:
  - {id: drop, rule: score_drop, relative: 0, severity: urgent}
"""


def test_schema_problems_name_ids_say_what_is_allowed_and_never_show_library_words() -> None:
    with pytest.raises(ModelError) as info:
        parse_model(BROKEN, "b.yaml")
    text = str(info.value)
    problems = [str(p) for p in info.value.problems]
    assert "Input should" not in text and "validation error" not in text
    assert not ZERO_BASED.search(text), ZERO_BASED.search(text)
    expected = [
        "b.yaml:2: key `as_of` is `2025-02-30`, not a date (write a date as YYYY-MM-DD",
        "b.yaml:5: dimension `value`, key `weight` is `150`, outside what is allowed (write a "
        "number from 0 to 100)",
        "b.yaml:9: metric `recency` (dimension `value`), key `weight` is .nan (not a number), "
        "which is not a number allowed here (write a number from 0 to 100)",
        "b.yaml:10: metric `recency` (dimension `value`), key `missing.policy` is `Neutral`, "
        "not one of the values allowed (did you mean `neutral`?",
        "b.yaml:10: metric `recency` (dimension `value`), key `missing.score` is `120`",
        "b.yaml:11: metric `recency` (dimension `value`), key `normalise.out_of` is `five`, "
        "but it must be a number",
        "b.yaml:11: metric `recency` (dimension `value`), bin 1 of `normalise.bins`, key `max` "
        "is .inf (infinite), which is not a number allowed here (write a number; leave the key "
        "out for a bin without that bound)",
        "b.yaml:11: metric `recency` (dimension `value`), bin 1 of `normalise.bins`: unknown "
        "key `point` (did you mean `points`? allowed keys: min, max, points)",
        "b.yaml:13: dimension `loyalty`, key `weight` is `-50`",
        "b.yaml:15: metric `2nps` (dimension `loyalty`), key `id` is `2nps`, not a valid id",
        "b.yaml:15: metric `2nps` (dimension `loyalty`), key `normalise.min` is `x`, but it "
        "must be a number",
        "b.yaml:17: key `tiers.by` is `scor`, not one of the values allowed (did you mean "
        "`score`? write one of: `score`, `rank`)",
        "b.yaml:19: tier `best`, key `min` is `101`",
        "b.yaml:22: alert `drop`, key `relative` is `0`, outside what is allowed (write a "
        "number above 0 and at most 100)",
        "b.yaml:22: alert `drop`, key `severity` is `urgent`, not one of the values allowed",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    # and nothing else: the missing `points` of bin 1 is the misspelt `point` beside it
    assert len(problems) == len(expected), problems


@pytest.mark.parametrize(("word", "choices", "guess"), [
    ("normalize", ["normalise", "weight"], "normalise"),
    ("reweigh", ["neutral", "zero", "reweight"], "reweight"),
    ("Neutral", ["neutral", "zero"], "neutral"),
    ("log-range", ["range", "log_range"], "log_range"),
    ("summ", ["sum", "count", "mean"], "sum"),
    ("order", ["customers", "orders"], "orders"),
    ("colour", ["amount", "status"], None),  # nothing near: no guess rather than a wild one
])
def test_did_you_mean(word: str, choices: list[str], guess: str | None) -> None:
    assert did_you_mean(word, choices) == (f"did you mean `{guess}`?" if guess else "")


# --------------------------------------------------------------------------------------------
# bins: a bin refused as never reached (or holding nothing) is exactly one no value reaches

BOUND = st.one_of(st.none(), st.integers(-3, 3))
BIN = st.fixed_dictionaries({"min": BOUND, "max": BOUND, "points": st.integers(0, 5)})


def _first_bin(bins: list[dict[str, int | None]], x: float) -> int | None:
    """The engine's rule, written out: the first bin with min <= x < max wins."""
    for i, b in enumerate(bins):
        lo, hi = b["min"], b["max"]
        if (lo is None or x >= lo) and (hi is None or x < hi):
            return i
    return None


@settings(max_examples=150, deadline=None)
@given(bins=st.lists(BIN, min_size=1, max_size=5))
def test_a_bin_is_refused_as_dead_exactly_when_no_value_reaches_it(bins) -> None:
    from crindex.engine.normalisers import BinsNorm

    norm = BinsNorm.model_validate({"method": "bins", "bins": bins})
    dead = {sub[1] for sub, text, _ in norm.located_problems()
            if "never be reached" in text or "holds no value" in text}
    # every region between the integer bounds -3..3 holds a half-integer of -4.5..4.5
    grid = [k / 2 for k in range(-9, 10)]
    reached = {_first_bin(bins, x) for x in grid}
    assert dead == set(range(len(bins))) - reached, (bins, norm.located_problems())


def test_bins_written_as_thresholds_are_not_overlaps() -> None:
    # the b2b example's style: each bin a lower bound, the first that holds wins
    model = load_model(Path(__file__).parents[1] / "examples" / "b2b.yaml")
    assert model.warnings == []
    overlapping = [{"min": 0, "max": 10, "points": 1}, {"min": 5, "max": 20, "points": 2}]
    from crindex.engine.normalisers import BinsNorm

    [(_, text, fix)] = BinsNorm.model_validate(
        {"method": "bins", "bins": overlapping}).located_problems()
    assert text == ("bin 2 (min 5, max 20) overlaps bin 1 (min 0, max 10): values from 5 to "
                    "below 10 get bin 1's points")
    assert "`max` of one bin is the `min` of the next" in fix


# --------------------------------------------------------------------------------------------
# random one-character corruptions of a valid model

CHARS = list("az09 .:-_{}[],#'\"\t\n") + ["\x00", "é", "客"]
_counter = itertools.count()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(at=st.integers(0, len(MODEL) - 1), how=st.sampled_from(["replace", "insert", "delete"]),
       char=st.sampled_from(CHARS))
@example(at=0, how="delete", char="")  # the valid model itself (its first blank line gone)
@example(at=MODEL.index("4000"), how="replace", char="8")  # a valid change: max 8000
@example(at=MODEL.index("100,"), how="delete", char="")  # weight 00: still 0, refused (sum)
def test_a_corrupted_model_is_refused_cleanly_or_scores_as_it_loads(
        at: int, how: str, char: str, tmp_path_factory: pytest.TempPathFactory, cli) -> None:
    """No traceback; exit 0 only when the corrupted model loads, with the score of that model.

    A change that still loads is a valid model change (a new name, a longer window, another
    range): ``crindex score`` must then give exactly what the Python API gives for the model
    as loaded. Any other change is refused with exit 2 and crindex's own words.
    """
    from crindex.api import score

    text = {"replace": MODEL[:at] + char + MODEL[at + 1:], "insert": MODEL[:at] + char + MODEL[at:],
            "delete": MODEL[:at] + MODEL[at + 1:]}[how]
    folder = _world(tmp_path_factory)
    path = folder / f"m{next(_counter)}.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        model = load_model(path)
    except ModelError as exc:
        message = str(exc)
        assert "Input should" not in message and not ZERO_BASED.search(message), message
        assert all(p.where.startswith(str(path)) or str(path) in p.message
                   for p in exc.problems), message  # every problem names its place
        code, out = cli("validate", "--model", str(path))
        assert code == 2 and "Traceback" not in out, out
        return
    # the same model under another name or layout scores the same: checked once
    same = repr(model.model_dump(exclude={"name", "description"}))
    if same in _SCORED:
        return
    _SCORED.add(same)
    out_dir = folder / f"out{next(_counter)}"
    code, out = cli("score", "--model", str(path), "--data", str(folder / "data"),
                    "--as-of", AS_OF, "--out", str(out_dir))
    assert "Traceback" not in out, out
    if code != 0:  # a model that loads may still not fit the data: refused, nothing written
        assert code == 2 and not out_dir.exists(), out
        return
    written = pd.read_parquet(out_dir / "scores.parquet").set_index("customer_id")["score"]
    direct = score(model, folder / "data", AS_OF).table.to_pandas()
    expected = direct.set_index("customer_id")["score"]
    assert list(written.index) == list(expected.index)
    for cid in expected.index:
        a, b = written[cid], expected[cid]
        assert (pd.isna(a) and pd.isna(b)) or math.isclose(a, b, abs_tol=1e-9), (cid, a, b)


def _world(factory: pytest.TempPathFactory) -> Path:
    """One five-customer data folder for every example (written once)."""
    global _WORLD
    if _WORLD is None:
        _WORLD = factory.mktemp("corrupt")
        write_five(_WORLD)
    return _WORLD


_WORLD: Path | None = None
_SCORED: set[str] = set()
