"""Bad command lines: options, dates, targets that are files or folders, stores that are not
stores. Every target is checked before any work, so none of these leaves a file behind."""

from __future__ import annotations

from tests.corpus import SCORE, Case, World

#: the valid scoring run without ``--out`` (each case adds its own targets)
RUN = SCORE[:-2]


def _file(name: str, text: str = "x\n") -> object:
    def setup(world: World) -> None:
        (world.folder / name).write_text(text, encoding="utf-8")

    return setup


def _folder(name: str) -> object:
    def setup(world: World) -> None:
        (world.folder / name).mkdir()

    return setup


def _as_of(day: str) -> tuple[str, ...]:
    args = list(SCORE)
    args[args.index("--as-of") + 1] = day
    return tuple(args)


CASES: list[Case] = [
    # --- options and commands
    Case("cli-unknown-option", "command line", ("No such option: --bogus",),
         args=(*SCORE, "--bogus")),
    Case("cli-missing-out", "command line", ("Missing option '--out'",), args=RUN),
    Case("cli-missing-model", "command line", ("Missing option '--model'",),
         args=("score", "--data", "{data}", "--out", "{dir}/out")),
    Case("cli-unknown-command", "command line", ("No such command 'scroe'",
                                                 "Did you mean 'score'"),
         args=("scroe", *SCORE[1:])),
    Case("cli-unknown-format", "command line", ("unknown format xml", "parquet and/or csv"),
         args=(*SCORE, "--format", "xml")),
    Case("cli-unknown-engine", "command line", ("unknown engine `bogus`", "duckdb or spark"),
         args=(*SCORE, "--engine", "bogus")),
    Case("cli-master-without-spark", "command line",
         ("--master only applies to --engine spark",), args=(*SCORE, "--master", "local[2]")),
    # --- dates
    Case("cli-as-of-month-13", "command line",
         ("--as-of", "'2025-13-45' is not a date", "YYYY-MM-DD"), args=_as_of("2025-13-45")),
    Case("cli-as-of-day-first", "command line",
         ("'30/06/2025' is not a date", "YYYY-MM-DD"), args=_as_of("30/06/2025")),
    Case("cli-as-of-a-word", "command line", ("'yesterday' is not a date",),
         args=_as_of("yesterday")),
    Case("cli-as-of-feb-30", "command line", ("'2025-02-30' is not a date",),
         args=_as_of("2025-02-30")),
    # --- --out
    Case("cli-out-is-a-file", "command line",
         ("--out {dir}/out: is a file, not a folder",), setup=_file("out")),
    Case("cli-out-under-a-file", "command line",
         ("--out {dir}/notes/out: cannot be created: {dir}/notes is a file",),
         setup=_file("notes"), args=(*RUN, "--out", "{dir}/notes/out")),
    # --- --duckdb
    Case("cli-duckdb-is-a-folder", "command line",
         ("--duckdb {dir}/scores.duckdb: is a folder, not a file",),
         setup=_folder("scores.duckdb"), args=(*SCORE, "--duckdb", "{dir}/scores.duckdb")),
    Case("cli-duckdb-not-duckdb", "command line",
         ("--duckdb {dir}/scores.csv: is a file that is not a DuckDB database",
          "crindex does not overwrite it"),
         setup=_file("scores.csv", "customer_id,score\n"),
         args=(*SCORE, "--duckdb", "{dir}/scores.csv")),
    Case("cli-duckdb-folder-missing", "command line",
         ("--duckdb {dir}/nowhere/s.duckdb: the folder {dir}/nowhere does not exist",),
         args=(*SCORE, "--duckdb", "{dir}/nowhere/s.duckdb")),
    # --- --store: checked before --out is written
    Case("cli-store-is-a-folder", "command line",
         ("--store {dir}/history: is a folder, not a file", "give the path of a DuckDB database"),
         setup=_folder("history"), args=(*SCORE, "--store", "{dir}/history")),
    Case("cli-store-not-duckdb", "command line",
         ("--store {dir}/history.duckdb: is a file that is not a DuckDB database",),
         setup=_file("history.duckdb", "not a database\n"),
         args=(*SCORE, "--store", "{dir}/history.duckdb")),
    Case("cli-store-empty-file", "command line",
         ("--store {dir}/history.duckdb: is an empty file",), setup=_file("history.duckdb", ""),
         args=(*SCORE, "--store", "{dir}/history.duckdb")),
    Case("cli-store-under-a-file", "command line",
         ("--store {dir}/notes/h.duckdb: cannot be created: {dir}/notes is a file",),
         setup=_file("notes"), args=(*SCORE, "--store", "{dir}/notes/h.duckdb")),
    Case("cli-store-unknown-url", "command line",
         ("unknown store `mysql://db/crm`", "postgresql:// URL"),
         args=(*SCORE, "--store", "mysql://db/crm")),
]
