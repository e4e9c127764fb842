"""Small shared helpers: atomic file writes and checks that a path can be written."""

from __future__ import annotations

import json as _json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crindex.errors import OutputError, Reason


def output_error(path: str | Path, message: str, hint: str = "", option: str = "") -> OutputError:
    """An :class:`OutputError` about ``path`` (named after ``option``, e.g. ``--out``)."""
    where = f"{option} {path}" if option else str(path)
    return OutputError.single(Reason.OUTPUT_PATH, message, where, hint)  # type: ignore[return-value]


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")  # pragma: no cover - the root always exists


def _check_creatable(path: Path, option: str, hint: str) -> None:
    """``path`` does not exist: its nearest existing ancestor must be a writable folder."""
    base = _nearest_existing(path)
    if not base.is_dir():
        raise output_error(path, f"cannot be created: {base} is a file, not a folder", hint,
                           option)
    if not os.access(base, os.W_OK | os.X_OK):
        raise output_error(path, f"cannot be created: no permission to write in {base}", hint,
                           option)


def check_folder_target(path: str | Path, option: str = "") -> None:
    """Raise :class:`OutputError` unless ``path`` is a writable folder or can be created as one.

    Nothing is created: call it before any work, so a wrong ``--out`` fails at once.
    """
    path = Path(path)
    hint = "give a folder for the results (it is created when missing)"
    if path.exists():
        if not path.is_dir():
            raise output_error(path, "is a file, not a folder", hint, option)
        if not os.access(path, os.W_OK | os.X_OK):
            raise output_error(path, "no permission to write in this folder", hint, option)
        return
    _check_creatable(path, option, hint)


def check_file_target(path: str | Path, option: str = "", hint: str = "") -> None:
    """Raise :class:`OutputError` unless ``path`` can be written (or replaced) as a file.

    Nothing is created: call it for every output before writing the first one.
    """
    path = Path(path)
    hint = hint or "give the path of a file"
    if path.is_dir():
        raise output_error(path, "is a folder, not a file", hint, option)
    if path.exists():
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise output_error(path, f"cannot be replaced: no permission to write in "
                               f"{path.parent}", hint, option)
        return
    _check_creatable(path, option, hint)  # names the file, not its folder


def check_duckdb_file(path: str | Path, option: str = "--duckdb",
                      new_folders: bool = False) -> None:
    """Raise :class:`OutputError` unless ``path`` is a DuckDB database or can become one.

    An existing file must start like a DuckDB database (a checksum, then the magic ``DUCK``);
    a new file needs an existing folder, or with ``new_folders`` (a history store creates its
    folders) a path whose nearest existing ancestor is a folder one may write in. Opens and
    creates nothing: call it for every target before any work.
    """
    path = Path(path).expanduser()
    hint = "give the path of a DuckDB database, or a new file name" + (
        "" if new_folders else " in an existing folder")
    check_file_target(path, option, hint)
    if not path.exists():
        if not new_folders and not path.parent.is_dir():
            raise output_error(path, f"the folder {path.parent} does not exist",
                               "create it first or choose another path", option)
        return
    try:
        with open(path, "rb") as fh:
            header = fh.read(12)
    except OSError as exc:
        raise output_error(path, f"cannot be read: {exc.strerror or exc}", hint, option) from None
    if header[8:12] != b"DUCK":
        what = "an empty file" if not header else "a file that is not a DuckDB database"
        raise output_error(path, f"is {what}; crindex does not overwrite it", hint, option)


def make_folder(path: Path, option: str = "") -> list[Path]:
    """``mkdir -p path``; returns the folders it created (deepest last), to undo on failure."""
    missing = [p for p in (path, *path.parents) if not p.exists()][::-1]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_folders(missing)
        raise output_error(path, f"cannot create the folder: {exc.strerror or exc}",
                           "give a folder you can write to", option) from None
    return missing


def remove_folders(created: list[Path]) -> None:
    """Remove folders made by :func:`make_folder` again, deepest first, if they are empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def folder_lock(folder: Path, option: str = "", timeout: float = 120.0) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself for the ``with`` block.

    A second run writing into the same folder waits for the first to finish (up to
    ``timeout`` seconds, then a clear :class:`OutputError`), so the folder always holds one
    run's complete set of files. The lock is the operating system's (``flock`` on the folder),
    released when the holder ends even if it is killed, and leaves no file behind.
    """
    import time

    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        raise output_error(folder, f"cannot be opened: {exc.strerror or exc}",
                           "give a folder you can write to", option) from None
    try:
        _lock(fd, folder, option, time.monotonic() + timeout)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _lock(fd: int, folder: Path, option: str, deadline: float) -> None:
    import time

    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks in the stdlib
        return
    pause = 0.05
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise output_error(
                    folder, "another crindex run is writing its results here",
                    "wait for it to finish, or write into another folder", option) from None
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 1.0)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    A run that fails or is killed leaves either the old file or none, never a partial one.
    """
    target = Path(target)
    if target.is_dir():
        raise output_error(target, "is a folder, not a file", "give the path of a file")
    make_folder(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file owner-only (0600); results are for sharing: honour the umask
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)


def atomic_write(target: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        write(tmp)


def console(stderr: bool = False) -> Any:
    """A rich console for the CLI: 160 columns wide when writing to a file or pipe.

    Rich assumes 80 columns off a terminal, which cut tables ("Transac…") and broke log lines
    mid-phrase in redirected output; ``COLUMNS`` still wins when set.
    """
    from rich.console import Console

    plain = Console(stderr=stderr)
    if plain.is_terminal or os.environ.get("COLUMNS"):
        return plain
    return Console(stderr=stderr, width=160)


@contextmanager
def progress(text: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner with ``text`` on stderr while a long step runs (learn, compare, backtest, ...).

    The one progress display of the CLI. Shown only on a terminal: silent when stdout or
    stderr is redirected (a pipe, a file, CI) or with ``quiet`` (``--json``), so nothing but
    the result reaches a pipe.
    """
    import sys

    if quiet or not (sys.stdout.isatty() and sys.stderr.isatty()):
        yield
        return
    with console(stderr=True).status(text, spinner="dots"):
        yield


def print_warnings(spec: object, err: Any = None) -> None:
    """A model's warnings (problems of warning-level rules), on stderr; they never fail."""
    from rich.markup import escape

    err = err or console(stderr=True)
    for problem in getattr(spec, "warnings", []):
        err.print(f"[yellow]warning[/]: {escape(str(problem))}", markup=True, highlight=False,
                  soft_wrap=True)


def wall_clock(arrow: Any) -> Any:
    """An Arrow table whose time-zone-aware timestamps become the wall-clock time they show.

    A CSV value ``2025-06-01T00:00:00+08:00`` is read as 2025-06-01 00:00, the time the user's
    system wrote; an in-memory frame of ``Asia/Shanghai`` timestamps is read the same way (the
    day counts of windows and recency follow the user's calendar, not UTC's), so a frame and
    the same data in a file give the same scores.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(arrow.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            arrow = arrow.set_column(i, field.name, pc.local_timestamp(arrow.column(i)))
    return arrow


def json_safe(obj: Any) -> Any:
    """``obj`` with what strict JSON cannot hold made plain: the one rule for crindex's JSON.

    NaN, infinities, ``pd.NA`` and ``NaT`` become ``None`` (``null``), never ``NaN``; NumPy
    scalars and arrays become Python numbers and lists; ``-0.0`` becomes ``0.0``; timestamps
    become ISO strings to the second (dates stay dates); other objects their ``str``.
    """
    import datetime as dt
    import math

    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj + 0.0
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, (str, int, float, bool)) else k: json_safe(v)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in obj]
    if type(obj).__name__ in ("NaTType", "NAType"):  # pandas' missing values
        return None
    if isinstance(obj, dt.datetime):
        return obj.replace(microsecond=0).isoformat()
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if hasattr(obj, "tolist"):  # NumPy scalars and arrays (duck-typed: no NumPy import here)
        return json_safe(obj.tolist())
    return str(obj)


def dumps(obj: Any) -> str:
    """JSON as crindex writes it: strict, indented, UTF-8 text kept as is.

    ``null``, never ``NaN``; dates as ISO strings (see :func:`json_safe`).
    """
    return _json.dumps(json_safe(obj), ensure_ascii=False, indent=2, allow_nan=False)
