"""A scoring run as rows of the history store: hashes, fingerprints and the long layout.

Only these columns of a result ever reach the store: ``customer_id``, ``score``, ``tier``,
``coverage``, ``owner``, ``segment``, ``rfm_segment``, ``flags``, ``submodel`` (with
sub-models), the dimension scores and, per metric, the raw value, score, weight,
contribution and missing flag. Personal columns (``name``, ``email``) are kept (as JSON in
``scores.personal``) only when the model lists them in ``keep_personal``; a metric's raw
value read from a personal column is dropped likewise.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from crindex.contract import PERSONAL_COLUMNS
from crindex.model.spec import CRIModel, TierLevel, TiersSpec


class SnapshotSource(Protocol):
    """What a snapshot is made of: a :class:`crindex.api.ScoreResult` has all three."""

    model: CRIModel
    as_of: dt.date
    table: pa.Table


@dataclass(frozen=True)
class RunInfo:
    """One snapshot's header row (table ``runs``)."""

    run_id: str
    model_name: str
    model_hash: str
    as_of: dt.date
    data_fingerprint: str | None
    ran_at: dt.datetime
    customers: int
    model_info: dict[str, Any]

    @property
    def tier_order(self) -> list[str]:
        """Tier ids, best first."""
        return stored_tiers(self.model_info.get("tiers", {})).order


def model_hash(model: CRIModel) -> str:
    """SHA-256 of what decides the scores: the model without alerts, description, guardrails.

    Flags are left out too: they are shown beside a score and never change it.

    Guardrails decide whether a run may write, never a score. Comments, key order and
    formatting of the file do not change it; a weight, a window, a normaliser or a tier bound
    does.
    """
    content = model.model_dump(mode="json", exclude={
        "alerts": True, "description": True, "guardrails": True, "flags": True,
        # which metrics a team can move decides suggestions, never a score
        "dimensions": {"__all__": {"metrics": {"__all__": {"actionable"}}}}})
    # keys added later are left out while unset, so a model that does not use them keeps the
    # hash it had before (a store compares snapshots of the same hash)
    if content.get("segments") is None:
        content.pop("segments", None)
    for level in content.get("tiers", {}).get("levels", []):
        if level.get("holdout") is None:
            level.pop("holdout", None)
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_info(model: CRIModel) -> dict[str, Any]:
    """What reading the history needs from the model: metrics, dimensions and tiers."""
    return {
        "dimensions": [{"id": d.id, "label": d.display} for d in model.dimensions],
        "metrics": [{"id": m.id, "label": m.display, "dimension": d.id}
                    for d, m in model.metrics],
        "tiers": {
            "by": model.tiers.by,
            "levels": [{"id": lv.id, "label": lv.display, "min": lv.min, "above": lv.above}
                       for lv in model.tiers.levels],
        },
    }


def stored_tiers(info: Mapping[str, Any]) -> TiersSpec:
    """The tiers recorded in ``model_info['tiers']`` (see :func:`model_info`) as a spec.

    Only the ids and the score bounds are recorded, so rank tiers come back without their
    shares: enough for their order, while :meth:`TiersSpec.tier_of` serves score tiers. The
    values were validated when the run was recorded and are not checked again, so a store
    written by an older version still reads.
    """
    levels = tuple((str(lv["id"]), lv.get("min"), lv.get("above"))
                   for lv in info.get("levels", []))
    return _stored_tiers(str(info.get("by", "score")), levels)


def stored_tier_labels(info: Mapping[str, Any]) -> dict[str, str]:
    """Tier id -> label recorded in ``model_info['tiers']`` (the id where none was recorded)."""
    return {str(lv["id"]): str(lv.get("label") or lv["id"]) for lv in info.get("levels", [])}


@functools.lru_cache(maxsize=256)
def _stored_tiers(by: str, levels: tuple[tuple[str, float | None, float | None], ...],
                  ) -> TiersSpec:
    return TiersSpec.model_construct(by=by, levels=[
        TierLevel.model_construct(id=id_, min=low, above=above) for id_, low, above in levels])


def new_run_id(as_of: dt.date) -> str:
    """``20250630-1a2b3c4d``: the as_of date and 8 random hex digits."""
    return f"{as_of:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def utc_now() -> dt.datetime:
    """The current UTC time without a zone (stored as TIMESTAMP on both engines)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------------------------
# fingerprints of input data


def _hash_file(path: Path, digest: Any) -> None:
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)


def fingerprint(data: Any) -> str:
    """A SHA-256 fingerprint of the input data a run read.

    A folder: every file's relative name and content; a file: its content; a mapping of
    tables (pandas or pyarrow): every table's name, schema and rows; a database URL: the URL
    without its password (the database's content cannot be hashed cheaply).
    """
    digest = hashlib.sha256()
    if isinstance(data, Mapping):
        for name in sorted(data):
            frame = data[name]
            table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(
                frame, preserve_index=False)
            digest.update(name.encode() + b"\0" + str(table.schema).encode() + b"\0")
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            digest.update(sink.getvalue().to_pybytes())
        return "sha256:" + digest.hexdigest()
    sources = getattr(data, "sources", None)
    if sources and not isinstance(data, str | Path):
        for name in sorted(sources):
            digest.update(f"{name}={sources[name]}\0".encode())
            path = Path(str(sources[name]))
            if path.is_file():
                _hash_file(path, digest)
        return "sha256:" + digest.hexdigest()
    text = str(data)
    path = Path(text)
    if "://" in text:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(text)
        host = parts.hostname or ""
        netloc = (f"{parts.username}@" if parts.username else "") + host + \
            (f":{parts.port}" if parts.port else "")
        return "url:" + urlunsplit(parts._replace(netloc=netloc))
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts)):
            digest.update(str(file.relative_to(path)).encode() + b"\0")
            _hash_file(file, digest)
        return "sha256:" + digest.hexdigest()
    if path.is_file():
        _hash_file(path, digest)
        return "sha256:" + digest.hexdigest()
    return "unknown:" + text


# --------------------------------------------------------------------------------------------
# result -> rows


def _no_nan(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Floats with NaN turned into nulls (both stores read nulls the same way)."""
    if pa.types.is_floating(arr.type):
        return pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)
    return arr


def _column(table: pa.Table, name: str, typ: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, typ)
    return _no_nan(table.column(name).cast(typ))


def kept_personal(model: CRIModel, table: pa.Table) -> list[str]:
    """Personal columns of ``table`` the model asks to keep."""
    return [c for c in model.keep_personal if c in PERSONAL_COLUMNS and c in table.column_names]


def snapshot_tables(source: SnapshotSource, run_id: str) -> tuple[pa.Table, pa.Table]:
    """The ``scores`` and ``metric_scores`` rows of one run."""
    table, model = source.table, source.model
    n = table.num_rows
    run = pa.repeat(pa.scalar(run_id), n)
    ids = table.column("customer_id").cast(pa.string())
    personal_cols = kept_personal(model, table)
    if personal_cols:
        records = table.select(personal_cols).to_pylist()
        personal = pa.array([json.dumps(r, ensure_ascii=False, default=str) for r in records],
                            pa.string())
    else:
        personal = pa.nulls(n, pa.string())
    scores = pa.table({
        "run_id": run,
        "customer_id": ids,
        "score": _column(table, "score", pa.float64()),
        "tier": _column(table, "tier", pa.string()),
        "coverage": _column(table, "coverage", pa.float64()),
        "owner": _column(table, "owner", pa.string()),
        "segment": _column(table, "segment", pa.string()),
        "personal": personal,
        "rfm_segment": _column(table, "rfm_segment", pa.string()),
        "flags": _column(table, "flags", pa.string()),
        "submodel": _column(table, "submodel", pa.string()),
    })
    null_f = pa.nulls(n, pa.float64())
    null_s = pa.nulls(n, pa.string())

    def long(kind: str, item: str, dimension: str, **values: Any) -> pa.Table:
        cols = {"raw_num": null_f, "raw_text": null_s, "score": null_f, "weight": null_f,
                "contribution": null_f, "missing": pa.nulls(n, pa.bool_())} | values
        return pa.table({"run_id": run, "customer_id": ids,
                         "kind": pa.repeat(pa.scalar(kind), n),
                         "item": pa.repeat(pa.scalar(item), n),
                         "dimension": pa.repeat(pa.scalar(dimension), n), **cols})

    parts = [long("dimension", d.id, d.id, score=_column(table, f"dim__{d.id}", pa.float64()))
             for d in model.dimensions]
    for d, m in model.metrics:
        raw = table.column(f"{m.id}__raw") if f"{m.id}__raw" in table.column_names else null_f
        personal_raw = m.column in PERSONAL_COLUMNS and m.column not in model.keep_personal
        numeric = pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) or \
            pa.types.is_null(raw.type)
        if personal_raw:
            raw_num, raw_text = null_f, null_s
        elif numeric:
            raw_num, raw_text = _no_nan(raw.cast(pa.float64())), null_s
        else:
            raw_num, raw_text = null_f, raw.cast(pa.string())
        parts.append(long(
            "metric", m.id, d.id, raw_num=raw_num, raw_text=raw_text,
            score=_column(table, f"{m.id}__score", pa.float64()),
            weight=_column(table, f"{m.id}__weight", pa.float64()),
            contribution=_column(table, f"{m.id}__contribution", pa.float64()),
            missing=_column(table, f"{m.id}__missing", pa.bool_())))
    metric_scores = pa.concat_tables(parts) if parts else pa.table({})
    return scores, metric_scores


def holdout_rows(source: SnapshotSource, run_id: str) -> pa.Table | None:
    """The ``holdouts`` rows of one run: its customers in a tier with a holdout, by group.

    ``None`` when the result has no ``strategy_group`` (no tier of the model has a holdout).
    """
    table, model = source.table, source.model
    if "strategy_group" not in table.column_names:
        return None
    levels = {lv.id: lv for lv in model.tiers.levels if lv.holdout is not None}
    groups = table.column("strategy_group")
    keep = pc.is_valid(groups)
    rows = table.filter(keep)
    tiers = rows.column("tier").to_pylist()
    n = rows.num_rows
    return pa.table({
        "run_id": pa.repeat(pa.scalar(run_id), n),
        "customer_id": rows.column("customer_id").cast(pa.string()),
        "tier": pa.array(tiers, pa.string()),
        "strategy": pa.array([levels[t].strategy for t in tiers], pa.string()),
        "strategy_group": rows.column("strategy_group").cast(pa.string()),
        "share": pa.array([levels[t].holdout.share for t in tiers],  # type: ignore[union-attr]
                          pa.float64()),
        "seed": pa.array([levels[t].holdout.seed for t in tiers],  # type: ignore[union-attr]
                         pa.int64()),
    })
