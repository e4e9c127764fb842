"""Writing a scoring run's results: every file lands whole or not at all.

All files of a run are first written into a hidden staging folder beside the results, then
moved into place with ``os.replace`` (atomic per file). A run that fails or is killed before
that leaves the previous results untouched; its staging folder is removed by the next run.

The folder describes one run: files an earlier run wrote there (``scores.csv`` when only
Parquet is asked for now, ``quarantine/<table>.csv`` of a table that is clean now) are removed
when the new set is in place. Only names crindex writes are touched, never other files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crindex.findings import mean_points, score_findings
from crindex.util import (  # the JSON rule lives in util so every layer can reach it
    atomic_write_text,
    check_duckdb_file,
    check_folder_target,
    dumps,
    folder_lock,
    json_safe,
    make_folder,
    output_error,
    remove_folders,
)

if TYPE_CHECKING:
    from crindex.api import ScoreResult

STAGING_PREFIX = ".crindex-staging-"
#: the files a scoring run writes in its folder, besides ``quarantine/<table>.csv``
RESULT_FILES = ("scores.parquet", "scores.csv", "model.sql", "quality.json", "summary.json")
_QUARANTINE_FILE = re.compile(r"quarantine/[A-Za-z0-9_]+\.csv")


#: decimals of every number in a CSV crindex writes: scores to 2 decimals, money to cents
CSV_DECIMALS = 2


def csv_ready(table: pa.Table) -> pa.Table:
    """``table`` as crindex's CSVs show it; Parquet and DuckDB keep full precision.

    The one home of the rule: floating-point columns rounded to :data:`CSV_DECIMALS` (a score
    ``24.861111111111107`` is written ``24.86``, an amount to the cent; ``-0.0`` as ``0``),
    timestamps to the second.
    """
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_floating(field.type):
            rounded = pc.round(column, ndigits=CSV_DECIMALS)
            column = pc.add(rounded, pa.scalar(0.0, field.type))  # -0.0 + 0.0 is 0.0
        elif pa.types.is_timestamp(field.type) and field.type.unit != "s":
            column = pc.floor_temporal(column, unit="second").cast(
                pa.timestamp("s", field.type.tz))
        else:
            continue
        table = table.set_column(i, field.name, column)
    return table


def write_csv_bom(table: pa.Table, path: Path) -> None:
    """CSV in UTF-8 with a BOM, so Excel opens Chinese text correctly (see :func:`csv_ready`)."""
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(csv_ready(table), fh)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def clean_stale_staging(out_dir: Path) -> None:
    """Remove staging folders left by runs that were killed."""
    for folder in out_dir.glob(STAGING_PREFIX + "*"):
        pid = folder.name[len(STAGING_PREFIX):]
        if not pid.isdigit() or not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def check_result_targets(out_dir: Path, duckdb_file: str | Path | None = None) -> None:
    """Fail with an :class:`~crindex.errors.OutputError` if a result cannot go where asked.

    Creates nothing; the CLI calls it before scoring and :func:`write_result` again before
    writing.
    """
    check_folder_target(out_dir, "--out")
    if duckdb_file is not None:
        check_duckdb_file(duckdb_file, "--duckdb")


def _owned_files(out_dir: Path) -> set[str]:
    """Names (relative to ``out_dir``) of files an earlier run may have left there."""
    from crindex.contract import CONTRACT

    names = set(RESULT_FILES) | {f"quarantine/{table}.csv" for table in CONTRACT}
    try:
        listed = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        listed = []
    if isinstance(listed, list):
        names |= {f for f in listed if isinstance(f, str) and (
            f in RESULT_FILES or _QUARANTINE_FILE.fullmatch(f))}
    return names


def write_result(result: ScoreResult, out_dir: Path, formats: tuple[str, ...],
                 duckdb_file: str | Path | None = None, lock_timeout: float = 120.0) -> list[Path]:
    """Write ``scores.parquet`` / ``scores.csv``, ``model.sql``, ``summary.json`` and quality.

    Files of an earlier run in ``out_dir`` that this run does not write are removed, so the
    folder describes this run only. The folder is locked (:func:`crindex.util.folder_lock`)
    from staging to the last move: a second run into it waits up to ``lock_timeout`` seconds,
    so two runs never leave a mix of their files. A failure leaves no new folder or file
    behind.
    """
    check_result_targets(out_dir, duckdb_file)
    created = make_folder(out_dir, "--out")
    duck_path = Path(duckdb_file) if duckdb_file is not None else None
    duck_is_new = duck_path is not None and not duck_path.exists()
    staging = out_dir / f"{STAGING_PREFIX}{os.getpid()}"
    done = False
    try:
        with folder_lock(out_dir, "--out", lock_timeout):
            clean_stale_staging(out_dir)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            _stage(result, staging, formats)
            if duck_path is not None:
                write_duckdb_table(result.table, duck_path)
            written = _move_into_place(staging, out_dir)
            shutil.rmtree(staging, ignore_errors=True)
        if duck_path is not None:
            written.append(duck_path)
        done = True
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            if duck_is_new and duck_path is not None:
                for leftover in (duck_path, duck_path.with_name(duck_path.name + ".wal")):
                    leftover.unlink(missing_ok=True)
            remove_folders(created)


def _stage(result: ScoreResult, staging: Path, formats: tuple[str, ...]) -> None:
    table = result.table
    for fmt in formats:
        target = staging / f"scores.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, target)
        elif fmt == "csv":
            write_csv_bom(table, target)
        else:
            raise ValueError(f"unknown output format {fmt}")
    (staging / "model.sql").write_text(result.sql + "\n", encoding="utf-8")
    if result.quality is not None:
        result.quality.write(staging)
    summary = result_summary(result)
    summary["files"] = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                              if p.is_file()) + ["summary.json"]
    (staging / "summary.json").write_text(dumps(summary) + "\n", encoding="utf-8")


def _move_into_place(staging: Path, out_dir: Path) -> list[Path]:
    """Replace the previous run's files by the staged ones; ``summary.json`` goes last.

    The old ``summary.json`` goes first: while files move, no summary claims a complete set.
    """
    owned = _owned_files(out_dir)
    (out_dir / "summary.json").unlink(missing_ok=True)
    files = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != "summary.json")
    written = []

    def move(src: Path) -> None:
        dest = out_dir / src.relative_to(staging)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        written.append(dest)

    for src in files:
        move(src)
    new = {p.relative_to(out_dir).as_posix() for p in written} | {"summary.json"}
    for name in sorted(owned - new):  # the earlier run's files this run did not write
        (out_dir / name).unlink(missing_ok=True)
    quarantine = out_dir / "quarantine"
    if quarantine.is_dir() and not any(quarantine.iterdir()):
        quarantine.rmdir()
    move(staging / "summary.json")
    return written


def write_duckdb_table(table: pa.Table, path: Path, name: str = "scores") -> None:
    """Replace table ``name`` in a DuckDB file in one transaction."""
    import duckdb

    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise output_error(path, f"cannot open it: {str(exc).splitlines()[0]}",
                           "give a DuckDB database file that no other program has open",
                           "--duckdb") from None
    try:
        con.execute("BEGIN")
        con.register("_crindex_scores", table)
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _crindex_scores')
        con.execute("COMMIT")
    except duckdb.Error as exc:
        raise output_error(path, f"cannot write table `{name}`: {str(exc).splitlines()[0]}",
                           "", "--duckdb") from None
    finally:
        con.close()


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-ready dicts (missing values ``None``)."""
    return [json_safe(r) for r in frame.to_dict(orient="records")]


def print_json(obj: Any) -> None:
    """Write ``obj`` to stdout as one strict JSON document (``--json`` of every command)."""
    import sys

    sys.stdout.write(dumps(obj) + "\n")


def dump_json(path: Path, obj: object) -> None:
    atomic_write_text(path, dumps(obj) + "\n")


def result_summary(result: ScoreResult) -> dict[str, Any]:
    """Figures for a run's summary: counts per tier, mean score, coverage."""
    import pyarrow.compute as pc

    scores = result.table.column("score")
    out: dict[str, Any] = {
        "model": result.model.name,
        "as_of": result.as_of.isoformat(),
        "customers": result.table.num_rows,
        "tiers": result.tier_counts(),
        "mean_score": pc.mean(scores).as_py(),
        "mean_coverage": pc.mean(result.table.column("coverage")).as_py(),
    }
    fitted = result.fitted.report() if result.fitted is not None else {}
    if fitted:
        out["fitted"] = fitted
    if getattr(result, "clusters", None) is not None:
        out["clusters"] = result.clusters.report()
    if getattr(result, "warnings", None):
        out["warnings"] = list(result.warnings)
    out["findings"] = run_findings(result)
    return out


def run_findings(result: ScoreResult) -> list[dict[str, Any]]:
    """What the run shows about the model without any outcome (:mod:`crindex.findings`).

    A tier holding more than half of the customers, an empty tier, a metric at one end of its
    scale: the same findings as the backtest's, on this run's customers.
    """
    return score_findings(result.tier_counts(), mean_points(result.model, result.table),
                          result.as_of.isoformat())
