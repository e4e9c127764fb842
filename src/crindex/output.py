"""Writing a scoring run's results: every file lands whole or not at all.

All files of a run are first written into a hidden staging folder beside the results, then
moved into place with ``os.replace`` (atomic per file). A run that fails or is killed before
that leaves the previous results untouched; its staging folder is removed by the next run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crindex.util import atomic_write_text

if TYPE_CHECKING:
    from crindex.api import ScoreResult

STAGING_PREFIX = ".crindex-staging-"


def write_csv_bom(table: pa.Table, path: Path) -> None:
    """CSV in UTF-8 with a BOM, so Excel opens Chinese text correctly."""
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, fh)


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


def write_result(result: ScoreResult, out_dir: Path, formats: tuple[str, ...],
                 duckdb_file: str | Path | None = None) -> list[Path]:
    """Write ``scores.parquet`` / ``scores.csv``, ``model.sql``, ``summary.json`` and quality."""
    from crindex.api import dumps, result_summary

    out_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(out_dir)
    staging = out_dir / f"{STAGING_PREFIX}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
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
        summary["files"] = sorted(str(p.relative_to(staging)) for p in staging.rglob("*")
                                  if p.is_file()) + ["summary.json"]
        (staging / "summary.json").write_text(dumps(summary) + "\n", encoding="utf-8")
        if duckdb_file is not None:
            write_duckdb_table(table, Path(duckdb_file))
        written = []
        # summary.json last: its presence says the set is complete
        files = sorted((p for p in staging.rglob("*") if p.is_file()),
                       key=lambda p: p.name == "summary.json")
        for src in files:
            dest = out_dir / src.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            written.append(dest)
        if duckdb_file is not None:
            written.append(Path(duckdb_file))
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_duckdb_table(table: pa.Table, path: Path, name: str = "scores") -> None:
    """Replace table ``name`` in a DuckDB file in one transaction."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("BEGIN")
        con.register("_crindex_scores", table)
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _crindex_scores')
        con.execute("COMMIT")
    finally:
        con.close()


def dump_json(path: Path, obj: object) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
