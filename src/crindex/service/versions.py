"""Saving the model from the dashboard's editor, and the versions saved.

A save writes the edited text over the served model file (temporary file, then rename) only
when it passes the loader's checks and the file on disk is still the one the server loaded
(an edit made meanwhile in a text editor is never overwritten). Each save is recorded in the
store: a version number per model, the model's hash (:func:`crindex.store.snapshot.model_hash`,
the hash its snapshots will carry), who saved it, when, and the diff (table
``service_model_versions``, made by the server like its tokens table). The server serves the
saved model at once; other workers of ``crindex serve --workers N`` read it when restarted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crindex.service.auth import TokenInfo
    from crindex.store import Store
    from crindex.weights.edit import ModelEdit

VERSIONS_TABLE = """CREATE TABLE IF NOT EXISTS service_model_versions (
    model_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    model_hash TEXT NOT NULL,
    path TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at TIMESTAMP NOT NULL,
    diff TEXT NOT NULL,
    PRIMARY KEY (model_name, version)
)"""


def model_versions(store: Store, model_name: str) -> list[dict[str, Any]]:
    """The versions of ``model_name`` saved from the editor, newest first."""
    with store.transaction() as tx:
        tx.execute(VERSIONS_TABLE)
    with store.reading() as tx:
        tx.execute("SELECT version, model_hash, path, saved_by, saved_at FROM "
                   "service_model_versions WHERE model_name = ? ORDER BY version DESC",
                   (model_name,))
        names = tx.columns()
        rows = tx.rows()
    return [dict(zip(names, r, strict=True)) for r in rows]


def record_version(store: Store, model_name: str, model_hash: str, path: str, by: str,
                   diff: list[str]) -> int:
    """Append a version of ``model_name``; returns its number (1, 2, ...)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with store.transaction() as tx:
        tx.execute(VERSIONS_TABLE)
        found = tx.execute("SELECT MAX(version) FROM service_model_versions WHERE "
                           "model_name = ?", (model_name,)).rows()
        version = int(found[0][0] or 0) + 1
        tx.execute("INSERT INTO service_model_versions (model_name, version, model_hash, path, "
                   "saved_by, saved_at, diff) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (model_name, version, model_hash, path, by, now, "\n".join(diff)))
    return version


def save_model(app: FastAPI, edit: ModelEdit, who: TokenInfo) -> dict[str, Any]:
    """Write the edited model over the served file, record its version, serve it.

    Raises :class:`~crindex.errors.ModelError` when the edit does not pass the loader's checks
    and :class:`~crindex.service.app.ApiError` (409) when the file changed on disk since it
    was loaded, or (422) when the edit changes nothing.
    """
    from crindex.model.loader import read_model_text
    from crindex.service.app import ApiError
    from crindex.store.snapshot import model_hash
    from crindex.util import atomic_write_text
    from crindex.weights.edit import edited_text, text_diff

    model = app.state.model
    path = Path(app.state.settings.model)
    if read_model_text(path) != model.text:
        raise ApiError(409, "conflict", f"the model file {path.name} changed on disk since "
                       "the server loaded it; nothing was written",
                       "restart the server to load the file as it is now, then edit again")
    text, after = edited_text(model, edit)
    if text == model.text:
        raise ApiError(422, "invalid", "nothing to save: every value is as in the file",
                       "change a weight, a bound or a threshold first")
    diff = text_diff(model.text, text, path.name)
    atomic_write_text(path, text)
    digest = model_hash(after)
    cache = app.state.cache
    version = record_version(cache.store, after.name, digest, str(path),
                             f"token:{who.name}", diff)
    app.state.model = after
    cache.model = after
    cache.strategies = {lv.id: lv.strategy or "" for lv in after.tiers.levels}
    return {"version": version, "model_hash": digest, "diff": diff, "path": path.name}
