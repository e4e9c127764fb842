"""Bad model files: each case rewrites ``five.yaml`` of the five-customer world.

The valid model (``tests.test_cli_store.MODEL``) is, line by line::

    1
    2  name: five
    3  dimensions:
    4    - id: all
    5      metrics:
    6        - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 100,
    7           normalise: {method: range, min: 0, max: 4000}}

so a key of the metric is on line 6 (``normalise`` on 7), and every message names the metric
and its dimension by id: ``metric `spend` (dimension `all`)``.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.corpus import Case, World

from ..test_cli_store import MODEL

#: the place every metric-level message names, by ids (never ``dimensions.0.metrics.0``)
SPEND = "metric `spend` (dimension `all`)"
#: validating the model only (no data, nothing written)
VALIDATE = ("validate", "--model", "{model}")
#: validating the model with the data: what ``score`` checks before it writes anything
VALIDATE_DATA = ("validate", "--model", "{model}", "--data", "{data}")


def _edit(old: str, new: str) -> Callable[[World], None]:
    """A setup replacing ``old`` by ``new`` in the model (``old`` must be there)."""

    def setup(world: World) -> None:
        text = world.model.read_text(encoding="utf-8")
        assert old in text, old
        world.model.write_text(text.replace(old, new, 1), encoding="utf-8")

    return setup


def _write(text: str | bytes) -> Callable[[World], None]:
    def setup(world: World) -> None:
        if isinstance(text, bytes):
            world.model.write_bytes(text)
        else:
            world.model.write_text(text, encoding="utf-8")

    return setup


def _missing_model(world: World) -> None:
    world.model.unlink()


def _folder(world: World) -> None:
    world.model.unlink()
    world.model.mkdir()


def _huge(world: World) -> None:
    # the 13 MB model: refused by its size before it is parsed
    line = b"# " + b"x" * 97 + b"\n"
    world.model.write_bytes(MODEL.encode() + line * 130_000)


def _encoded(encoding: str, label: str = "") -> Callable[[World], None]:
    """The valid model with a Chinese label, saved in ``encoding``."""

    def setup(world: World) -> None:
        text = MODEL.replace("name: five", "name: five\ndescription: 客户关系指数" + label)
        world.model.write_bytes(text.encode(encoding))

    return setup


def _many_problems(world: World) -> None:
    # 200 metrics each with an unknown column: 20 are listed, the rest counted
    metrics = "".join(
        f"      - {{id: m{i}, aggregate: sum, column: amout, weight: 0.5, "
        f"normalise: {{method: range, min: 0, max: 1}}}}\n" for i in range(200))
    world.model.write_text("name: many\ndimensions:\n  - id: all\n    metrics:\n" + metrics,
                           encoding="utf-8")


BINS = "normalise: {method: bins, out_of: 5, bins: [%s]}"


def _bins(bins: str) -> Callable[[World], None]:
    return _edit("normalise: {method: range, min: 0, max: 4000}", BINS % bins)


CASES: list[Case] = [
    # --- the file itself ----------------------------------------------------------------------
    Case("model-file-missing", "model", needles=("{model}", "does not exist"),
         setup=_missing_model),
    Case("model-file-is-a-folder", "model", needles=("{model} is a folder",),
         setup=_folder),
    Case("model-file-empty", "model", needles=("{model} is empty", "{model}:1", "name:"),
         setup=_write("")),
    Case("model-file-only-comments", "model", needles=("{model} is empty",),
         setup=_write("# a model, some day\n\n")),
    Case("model-file-binary", "model", needles=("{model} is not a text file",),
         setup=_write(bytes(range(256)) * 4)),
    Case("model-file-13mb", "model",
         needles=("{model} is 12.4 MB; a model file is at most 256 KB",
                  "names the model's YAML file"), setup=_huge),
    Case("model-gbk-validates", "model", needles=("five.yaml: 1 dimensions, 1 metrics",),
         setup=_encoded("gbk"), args=VALIDATE, exit=0),
    Case("model-utf8-bom-validates", "model", needles=("1 dimensions, 1 metrics",),
         setup=_encoded("utf-8-sig"), args=VALIDATE, exit=0),
    Case("model-utf16-validates", "model", needles=("1 dimensions, 1 metrics",),
         setup=_encoded("utf-16"), args=VALIDATE, exit=0),
    Case("model-cp1252-refused", "model",
         needles=("{model}:3", "text in an encoding crindex does not read", "byte 0xE9",
                  "save the model as UTF-8"),
         setup=_write(MODEL.replace("name: five", "name: five\ndescription: café")
                      .encode("cp1252"))),
    # --- YAML -------------------------------------------------------------------------------
    Case("model-tab-indent", "model",
         needles=("{model}:4", "indented with a tab", "replace the tab with spaces"),
         setup=_edit("  - id: all", "\t- id: all")),
    Case("model-unclosed-flow-mapping", "model",
         needles=("{model}:", "a `{{` mapping is not closed", "close it with `}}`"),
         setup=_edit("max: 4000}}", "max: 4000}")),
    Case("model-unclosed-quote", "model",
         needles=("{model}:", "a quote is not closed"), setup=_edit("name: five", "name: 'five")),
    Case("model-duplicate-key", "model",
         needles=("{model}:3", "key `name` is written twice", "keep one"),
         setup=_edit("dimensions:", "name: again\ndimensions:")),
    Case("model-not-a-mapping", "model",
         needles=("{model}:1", "must be a mapping", "`name: my_model`"),
         setup=_write("- five\n- all\n")),
    # --- keys and values, named by id, with what is allowed and a guess -------------------------
    Case("model-normalize-spelling", "model",
         needles=("{model}:7", f"{SPEND}: unknown key `normalize`",
                  "did you mean `normalise`?"),
         setup=_edit("normalise:", "normalize:")),
    Case("model-dimensions-spelling", "model",
         needles=("{model}:3", "unknown key `dimension`", "did you mean `dimensions`?"),
         setup=_edit("dimensions:", "dimension:")),
    Case("model-weight-negative", "model",
         needles=("{model}:6", f"{SPEND}, key `weight` is `-5`", "a number from 0 to 100"),
         setup=_edit("weight: 100", "weight: -5")),
    Case("model-weight-nan", "model",
         needles=("{model}:6", f"{SPEND}, key `weight` is .nan (not a number)",
                  "not a number allowed here", "a number from 0 to 100"),
         setup=_edit("weight: 100", "weight: .nan")),
    Case("model-weight-text", "model",
         needles=("{model}:6", f"{SPEND}, key `weight` is `lots`, but it must be a number"),
         setup=_edit("weight: 100", "weight: lots")),
    Case("model-weights-sum-95", "model",
         needles=("{model}:4", "metric weights sum to 95, they must sum to 100"),
         setup=_edit("weight: 100", "weight: 95")),
    Case("model-unknown-aggregate", "model",
         needles=("{model}:6", "metric `spend`: unknown aggregate `summ`",
                  "did you mean `sum`?"), setup=_edit("aggregate: sum", "aggregate: summ")),
    Case("model-unknown-normaliser", "model",
         needles=("{model}:7", "unknown normaliser `rnage`", "did you mean `range`?"),
         setup=_edit("method: range", "method: rnage")),
    Case("model-normaliser-without-method", "model",
         needles=("{model}:7", f"{SPEND}, key `normalise` needs a `method`"),
         setup=_edit("method: range", "methd: range")),
    Case("model-direction-not-allowed", "model",
         needles=("{model}:7", f"{SPEND}, key `normalise.direction` is `up`",
                  "one of: `higher`, `lower`"),
         setup=_edit("max: 4000}", "max: 4000, direction: up}")),
    Case("model-missing-policy-spelling", "model",
         needles=("{model}:6", f"{SPEND}, key `missing.policy` is `reweigh`",
                  "did you mean `reweight`?"),
         setup=_edit("weight: 100,", "weight: 100, missing: reweigh,")),
    Case("model-column-spelling", "model",
         needles=("{model}:6", "column `amout` is not a column of orders",
                  "did you mean `amount`?"), setup=_edit("column: amount", "column: amout")),
    Case("model-table-spelling", "model",
         needles=("{model}:6", "unknown table `order`", "did you mean `orders`?"),
         setup=_edit("column: amount,", "column: amount, table: order,")),
    Case("model-filter-column-spelling", "model",
         needles=("{model}:6", "filter column `stauts` is not a column of orders",
                  "did you mean `status`?"),
         setup=_edit("column: amount,", "column: amount, where: {stauts: paid},")),
    Case("model-source-table-spelling", "model",
         needles=("{model}:4", "unknown table `order` in sources", "did you mean `orders`?"),
         setup=_edit("dimensions:", "sources:\n  order: {path: orders.csv}\ndimensions:")),
    Case("model-bad-id", "model",
         needles=("{model}:6", "key `id` is `my-spend`, not a valid id", "`my_spend`"),
         setup=_edit("id: spend", "id: my-spend")),
    Case("model-no-dimensions", "model",
         needles=("{model}:2", "key `dimensions` is empty", "at least one item"),
         setup=_write("name: five\ndimensions: []\n")),
    Case("model-as-of-not-a-date", "model",
         needles=("{model}:3", "key `as_of` is `2025-13-01`, not a date", "YYYY-MM-DD"),
         setup=_edit("dimensions:", "as_of: 2025-13-01\ndimensions:")),
    Case("model-unknown-param", "model",
         needles=("{model}:6", "metric `spend`: unknown param `horizon` of aggregate `sum`",
                  "`sum` takes no params: remove them"),
         setup=_edit("weight: 100,", "weight: 100, params: {horizon: 12m},")),
    Case("model-lapse-without-rule", "model",
         needles=("{model}:3", "key `churn.lapse`", "set `inactivity_days` too"),
         setup=_edit("dimensions:", "churn: {lapse: at_horizon_end}\ndimensions:")),
    Case("model-tier-min-over-100", "model",
         needles=("tier `core`, key `min` is `120`", "a number from 0 to 100"),
         setup=_edit("dimensions:", "tiers:\n  levels:\n    - {id: core, min: 120}\n"
                     "    - {id: rest}\ndimensions:")),
    Case("model-tiers-rising", "model",
         needles=("{model}:", "falling thresholds"),
         setup=_edit("dimensions:", "tiers:\n  levels:\n    - {id: low, min: 20}\n"
                     "    - {id: high, min: 80}\n    - {id: rest}\ndimensions:")),
    Case("model-tier-min-zero", "model",
         needles=("{model}:6", "tier `low` (min 0): tier(s) `rest` can never be reached",
                  "a bound above 0"),
         setup=_edit("dimensions:", "tiers:\n  levels:\n    - {id: high, min: 80}\n"
                     "    - {id: low, min: 0}\n    - {id: rest}\ndimensions:")),
    Case("model-many-problems-bounded", "model",
         needles=("has 200 problem(s)", "and 180 more problem(s) of the same kind",
                  "fix the ones above"), setup=_many_problems, args=VALIDATE),
    # --- semantic checks: refused in validate and in score ------------------------------------
    Case("model-window-zero", "model",
         needles=("{model}:6", "metric `spend`: `window: 0d` covers no day",
                  "at least one day"), setup=_edit("window: 365d", "window: 0d")),
    Case("model-window-zero-validate", "model",
         needles=("{model}:6", "`window: 0d` covers no day"),
         setup=_edit("window: 365d", "window: 0d"), args=VALIDATE_DATA),
    Case("model-window-not-understood", "model",
         needles=("{model}:6", f"{SPEND}, key `window` is `0x`", "90d, 12w, 6m, 1y"),
         setup=_edit("window: 365d", "window: 0x")),
    Case("model-range-max-inf", "model",
         needles=("{model}:7", f"{SPEND}, key `normalise.max` is .inf (infinite)",
                  "not a number allowed here"),
         setup=_edit("max: 4000", "max: .inf")),
    Case("model-range-min-nan", "model",
         needles=("{model}:7", "key `normalise.min` is .nan (not a number)"),
         setup=_edit("min: 0", "min: .nan")),
    Case("model-range-max-below-min", "model",
         needles=("{model}:7", "metric `spend`: range needs max > min"),
         setup=_edit("max: 4000", "max: -1")),
    Case("model-bins-max-inf", "model",
         needles=("{model}:7", "bin 1 of `normalise.bins`, key `max` is .inf (infinite)",
                  "leave the key out for a bin without that bound"),
         setup=_bins("{min: 0, max: .inf, points: 5}")),
    Case("model-bins-unreachable", "model",
         needles=("{model}:7", "bin 2 (min 2000) can never be reached: bin(s) 1 before it",
                  "remove it, or move it before"),
         setup=_bins("{min: 1000, points: 5}, {min: 2000, points: 4}, {points: 1}")),
    Case("model-bins-overlap", "model",
         needles=("{model}:7", "bin 2 (min 400, max 2000) overlaps bin 1 (min 0, max 500)",
                  "values from 400 to below 500", "meet without overlapping"),
         setup=_bins("{min: 0, max: 500, points: 1}, {min: 400, max: 2000, points: 3}")),
    Case("model-bins-empty", "model",
         needles=("{model}:7", "bin 1 (min 500, max 100) holds no value", "swap the two"),
         setup=_bins("{min: 500, max: 100, points: 5}, {points: 1}")),
    Case("model-bins-second-catch-all", "model",
         needles=("bin 3 (no bounds) can never be reached",),
         setup=_bins("{min: 1000, points: 5}, {points: 1}, {points: 2}")),
]
