"""The figures of a scoring run's report: tiers, score histogram, dimensions, quality, movers.

:func:`report_figures` returns a plain dict (written as JSON) that
:func:`crindex.report.html.render_report` draws. Top movers need the score history of
:mod:`crindex.store`; when it is not installed or holds no earlier snapshot, the section says
why and the rest of the report is unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crindex.api import ScoreResult
from crindex.backtest.metrics import band_shares
from crindex.backtest.run import model_summary

#: histogram bins of the score: 20 bins of 5 points, the last one closed
HISTOGRAM_EDGES: tuple[float, ...] = tuple(float(x) for x in range(0, 101, 5))


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else None


def report_figures(result: ScoreResult, store: str | Path | None = None,
                   movers: int = 10) -> dict[str, Any]:
    """Every figure of the scoring report of ``result``.

    Parameters
    ----------
    result
        A scoring run (:func:`crindex.api.score`).
    store
        A history store (DuckDB file or PostgreSQL URL) to compare with the latest snapshot of
        the same model before ``result.as_of``; ``None`` leaves the movers out.
    movers
        How many risers and fallers to list.
    """
    model = result.model
    frame = result.table.to_pandas()
    scores = frame["score"].to_numpy(float)
    scored = scores[~np.isnan(scores)]
    total = len(scored)
    tiers = []
    for lv in model.tiers.levels:
        in_tier = frame["tier"] == lv.id
        n = int(in_tier.sum())
        tiers.append({"tier": lv.id, "label": lv.display, "customers": n,
                      "share": n / total if total else None,
                      "mean_score": _mean(scores[in_tier.to_numpy()]),
                      "strategy": lv.strategy})
    counts = np.rint(band_shares(scored, HISTOGRAM_EDGES) * total).astype(int)
    histogram = [{"low": HISTOGRAM_EDGES[i], "high": HISTOGRAM_EDGES[i + 1],
                  "customers": int(counts[i])} for i in range(len(HISTOGRAM_EDGES) - 1)]
    dimensions = [{"id": d.id, "label": d.display,
                   "mean": _mean(frame[f"dim__{d.id}"].to_numpy(float)),
                   "customers": int(frame[f"dim__{d.id}"].notna().sum())}
                  for d in model.dimensions]
    metrics = [{"id": m.id, "label": m.display, "dimension": d.display,
                "weight": model.effective_weight(d, m),
                "mean_score": _mean(frame[f"{m.id}__score"].to_numpy(float)),
                "mean_raw": _mean(frame[f"{m.id}__raw"].to_numpy(float)),
                "missing_share": float(frame[f"{m.id}__missing"].fillna(True).mean())
                if len(frame) else None}
               for d, m in model.metrics]
    quality = result.quality.to_dict() if result.quality is not None else None
    return {
        "kind": "report",
        "model": model_summary(model),
        "as_of": result.as_of.isoformat(),
        "customers": total,
        "unscored": int(len(frame) - total),
        "mean_score": float(scored.mean()) if total else None,
        "mean_coverage": _mean(frame["coverage"].to_numpy(float)),
        "tiers": tiers,
        "histogram": histogram,
        "dimensions": dimensions,
        "metrics": metrics,
        "movers": top_movers(result, store, movers),
        "quality": quality,
        "clusters": result.clusters.report() if result.clusters is not None else None,
    }


def previous_snapshot(store: str | Path, model_name: str,
                      as_of: dt.date) -> tuple[dt.date, pd.DataFrame] | str:
    """The hook to the history store: the latest snapshot of ``model_name`` before ``as_of``.

    Returns ``(as_of, frame with customer_id, score, tier)``, or the reason there is none as
    text. Uses :func:`crindex.store.open_store`, ``Store.runs(model_name)`` (oldest first) and
    ``Store.scores(run_id)``; a missing package or a store file that does not exist is a
    reason, not an error (a report never creates a store).
    """
    try:
        from crindex.store import open_store
    except ImportError:
        return "crindex.store is not installed"
    text = str(store)
    if "://" not in text and not Path(text).exists():
        return f"store {text} does not exist"
    with open_store(text) as st:
        earlier = [r for r in st.runs(model_name) if r.as_of < as_of]
        if not earlier:
            return f"no snapshot of model {model_name} before {as_of} in {text}"
        run = earlier[-1]
        return run.as_of, st.scores(run.run_id)


def top_movers(result: ScoreResult, store: str | Path | None, n: int = 10) -> dict[str, Any]:
    """Biggest score rises and falls since the previous snapshot (see :func:`previous_snapshot`).

    Only customers scored in both runs count; ``available`` is False with a ``reason`` when
    there is nothing to compare with.
    """
    if store is None:
        return {"available": False, "reason": "no --store given", "code": "no_store"}
    found = previous_snapshot(store, result.model.name, result.as_of)
    if isinstance(found, str):
        return {"available": False, "reason": found}
    before_as_of, before = found
    now = result.table.select(["customer_id", "score", "tier"]).to_pandas()
    both = now.merge(before[["customer_id", "score", "tier"]], on="customer_id",
                     suffixes=("", "_before")).dropna(subset=["score", "score_before"])
    both["change"] = both["score"] - both["score_before"]
    both = both.sort_values(["change", "customer_id"], kind="stable")

    def rows(part: pd.DataFrame) -> list[dict[str, Any]]:
        return [{"customer_id": r.customer_id, "score": float(r.score),
                 "previous_score": float(r.score_before), "change": float(r.change),
                 "tier": r.tier, "previous_tier": r.tier_before}
                for r in part.itertuples() if not math.isnan(r.change)]

    risers = rows(both[both["change"] > 0].iloc[::-1].head(n))
    fallers = rows(both[both["change"] < 0].head(n))
    why_moved(result, store, before_as_of, risers + fallers)
    return {"available": True, "previous_as_of": before_as_of.isoformat(),
            "compared": int(len(both)), "risers": risers, "fallers": fallers}


def why_moved(result: ScoreResult, store: str | Path, before_as_of: dt.date,
              movers: list[dict[str, Any]]) -> None:
    """Add ``why`` (one line) and ``why_parts`` to each mover: why its score moved.

    Its change split into data and model parts (:mod:`crindex.act.why_changed`), from the
    stored snapshot and this run; computed scores on both sides (the movers compare what the
    model computed).
    """
    from crindex.act.why_changed import MetricState, SnapshotState, why_changed
    from crindex.store import model_hash, open_store
    from crindex.store.history import snapshot_state

    if not movers:
        return
    table = result.table
    ids = table.column("customer_id").to_pylist()
    at = {str(c): i for i, c in enumerate(ids)}
    labels = {m.id: m.display for _, m in result.model.metrics}
    this_hash = model_hash(result.model)
    with open_store(str(store)) as st:
        run = st.run(before_as_of.isoformat(), result.model.name)
        for mover in movers:
            cid = str(mover["customer_id"])
            rows = st.metric_scores([run.run_id], cid)
            before = snapshot_state(run, mover["previous_score"], mover["previous_tier"],
                                    rows[rows.kind == "metric"], None, None)
            row = table.slice(at[cid], 1).to_pylist()[0]
            metrics = {}
            for _, m in result.model.metrics:
                raw = row[f"{m.id}__raw"]
                metrics[m.id] = MetricState(
                    None if isinstance(raw, float) and math.isnan(raw) else raw,
                    _number(row[f"{m.id}__score"]), _number(row[f"{m.id}__weight"]) or 0.0,
                    _number(row[f"{m.id}__contribution"]) or 0.0, labels[m.id])
            after = SnapshotState("(this run)", result.as_of, mover["score"], mover["tier"],
                                  this_hash, metrics)
            why = why_changed(before, after)
            mover["why"] = why.summary()
            mover["why_parts"] = why.to_dict()["parts"]


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def report_paths(out: str | Path) -> tuple[Path, Path]:
    """The page and its JSON (``.json`` beside it), checked: nothing is written here.

    Raises :class:`~crindex.errors.OutputError` when either cannot be written (``--out`` is a
    folder, its folder cannot be created, ...), before any file is written.
    """
    from crindex.util import check_file_target

    path = Path(out)
    json_path = path.with_suffix(".json")
    example = path / "report.html" if path.is_dir() else "report.html"
    check_file_target(path, "--out", f"give the HTML file to write, e.g. {example}")
    check_file_target(json_path, "", "the report's JSON goes beside --out with the suffix "
                      ".json; move that folder or choose another --out")
    return path, json_path


def write_report(figures: dict[str, Any], out: str | Path, lang: str = "en") -> list[Path]:
    """Write the report page to ``out`` and its figures as JSON beside it (``.json``).

    Both paths are checked first; both files are written under temporary names and renamed
    into place only when both are complete.
    """
    from crindex.output import dumps
    from crindex.report.html import render_report
    from crindex.util import atomic_path

    path, json_path = report_paths(out)
    html = render_report(figures, lang)
    with atomic_path(json_path) as json_tmp, atomic_path(path) as html_tmp:
        json_tmp.write_text(dumps(figures) + "\n", encoding="utf-8")
        html_tmp.write_text(html, encoding="utf-8")
    return [path, json_path]
