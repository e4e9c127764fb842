"""API tokens with scopes, kept hashed in the history store (table ``service_tokens``).

A token reads ``cri_<token id>_<secret>``: the id (8 hex digits) names it in lists and logs,
the secret is 32 random bytes (URL-safe base64). Only the SHA-256 of the whole token is stored,
so a copy of the store gives no usable token; the token itself is printed once, on creation.
A fast hash is enough here because the secret is random and 256 bits long (nothing to guess,
unlike a password).

Scopes nest: ``admin`` can do what ``write`` can, and ``write`` what ``read`` can.

>>> from crindex.store import open_store                               # doctest: +SKIP
>>> token, info = create_token(open_store("history.duckdb"), "crm-sync", ["read"])  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crindex.errors import Reason, StoreError

if TYPE_CHECKING:
    from crindex.store import Store

#: every scope, weakest first; a scope grants the ones before it
SCOPES = ("read", "write", "admin")

TOKENS_TABLE = """CREATE TABLE IF NOT EXISTS service_tokens (
    token_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
)"""

SESSIONS_TABLE = """CREATE TABLE IF NOT EXISTS service_sessions (
    session_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
)"""

PREFIX = "cri_"

#: how long a dashboard session lasts after signing in
SESSION_HOURS = 12


@dataclass(frozen=True)
class TokenInfo:
    """One stored token (never the token itself)."""

    token_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def allows(self, scope: str) -> bool:
        """True when one of the token's scopes grants ``scope`` (admin > write > read)."""
        need = SCOPES.index(scope)
        return any(SCOPES.index(s) >= need for s in self.scopes if s in SCOPES)

    def to_dict(self) -> dict[str, Any]:
        return {"token_id": self.token_id, "name": self.name, "scopes": list(self.scopes),
                "created_at": self.created_at, "revoked_at": self.revoked_at}


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The scopes, validated and de-duplicated; a clear error naming the allowed ones."""
    wrong = [s for s in scopes if s not in SCOPES]
    if wrong or not scopes:
        what = f"unknown scope `{wrong[0]}`" if wrong else "a token needs at least one scope"
        raise StoreError.single(Reason.BAD_PARAMETER, what, "--scope",
                                "scopes: " + ", ".join(SCOPES) + " (admin > write > read)")
    return tuple(dict.fromkeys(scopes))


def ensure_table(store: Store) -> None:
    """Create the tokens and sessions tables in the store when it is not there yet."""
    with store.transaction() as tx:
        tx.execute(TOKENS_TABLE)
        tx.execute(SESSIONS_TABLE)


def create_token(store: Store, name: str, scopes: list[str] | tuple[str, ...],
                 now: dt.datetime | None = None) -> tuple[str, TokenInfo]:
    """Create a token; returns (the token, shown only now, and its stored description)."""
    scopes = check_scopes(scopes)
    if not name.strip():
        raise StoreError.single(Reason.BAD_PARAMETER, "a token needs a name", "--name",
                                "name who or what uses it, e.g. --name crm-sync")
    ensure_table(store)
    token_id = secrets.token_hex(4)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    created = now or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with store.transaction() as tx:
        tx.execute("INSERT INTO service_tokens (token_id, name, scopes, token_hash, created_at) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (token_id, name.strip(), " ".join(scopes), hash_token(token), created))
    return token, TokenInfo(token_id, name.strip(), scopes, created)


def _info(row: tuple[Any, ...]) -> TokenInfo:
    return TokenInfo(row[0], row[1], tuple(row[2].split()), row[3], row[4])


def list_tokens(store: Store) -> list[TokenInfo]:
    """Every token, revoked ones included, oldest first."""
    ensure_table(store)
    with store.reading() as tx:
        rows = tx.execute("SELECT token_id, name, scopes, created_at, revoked_at "
                          "FROM service_tokens ORDER BY created_at, token_id").rows()
    return [_info(r) for r in rows]


def revoke_token(store: Store, token_id: str, now: dt.datetime | None = None) -> TokenInfo:
    """Revoke a token by its id (``crindex token list`` shows them)."""
    ensure_table(store)
    when = now or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with store.transaction() as tx:
        found = tx.execute("SELECT token_id, name, scopes, created_at, revoked_at "
                           "FROM service_tokens WHERE token_id = ?", (token_id,)).rows()
        if not found:
            raise StoreError.single(Reason.BAD_PARAMETER, f"there is no token `{token_id}`",
                                    "TOKEN_ID", "`crindex token list` shows the ids")
        if found[0][4] is None:
            tx.execute("UPDATE service_tokens SET revoked_at = ? WHERE token_id = ?",
                       (when, token_id))
    return _info(found[0][:4] + (found[0][4] or when,))


def active_tokens(store: Store, ensure: bool = True) -> dict[str, TokenInfo]:
    """Hash -> token, for the tokens not revoked (what the server checks against).

    ``ensure=False`` when the tables are known to exist (no write transaction).
    """
    if ensure:
        ensure_table(store)
    with store.reading() as tx:
        rows = tx.execute("SELECT token_id, name, scopes, created_at, revoked_at, token_hash "
                          "FROM service_tokens WHERE revoked_at IS NULL").rows()
    return {r[5]: _info(r[:5]) for r in rows}


# ------------------------------------------------------------------------------ sessions


@dataclass(frozen=True)
class Session:
    """A dashboard session: whose token it stands for, and its form (CSRF) token."""

    token_id: str
    csrf: str
    expires_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def create_session(store: Store, token_id: str, hours: float = SESSION_HOURS) \
        -> tuple[str, Session]:
    """Open a session for a signed-in token; returns (the cookie's value, the session).

    The store keeps only the SHA-256 of the cookie's value, so a copy of the store gives no
    usable session; sessions past their expiry are deleted on the way.
    """
    session_id = secrets.token_urlsafe(32)
    now = _now()
    session = Session(token_id, secrets.token_urlsafe(32), now + dt.timedelta(hours=hours))
    ensure_table(store)
    with store.transaction() as tx:
        tx.execute("DELETE FROM service_sessions WHERE expires_at < ?", (now,))
        tx.execute("INSERT INTO service_sessions (session_hash, token_id, csrf, created_at, "
                   "expires_at) VALUES (?, ?, ?, ?, ?)",
                   (hash_token(session_id), token_id, session.csrf, now, session.expires_at))
    return session_id, session


def find_session(store: Store, session_id: str) -> Session | None:
    """The session of a cookie's value, or None when unknown, ended or expired."""
    with store.reading() as tx:
        rows = tx.execute("SELECT token_id, csrf, expires_at FROM service_sessions "
                          "WHERE session_hash = ? AND ended_at IS NULL AND expires_at > ?",
                          (hash_token(session_id), _now())).rows()
    return Session(*rows[0]) if rows else None


class SessionCache:
    """Sessions a worker found in the store in the last :attr:`TTL` seconds.

    A page costs no store read for its session while the entry is fresh: a session ended by
    signing out on this worker is dropped at once (:meth:`forget`), one ended on another worker
    stops working here within :attr:`TTL` seconds; an expired session is never served (its
    ``expires_at`` is checked on every use), nor one whose token was revoked (the token book is
    checked on every use).
    """

    TTL = 2.0
    SIZE = 10_000

    def __init__(self) -> None:
        self._seen: dict[str, tuple[Session, float]] = {}

    def find(self, store: Store, session_id: str) -> Session | None:
        import time

        key = hash_token(session_id)
        hit = self._seen.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[1] < self.TTL:
            return hit[0] if hit[0].expires_at > _now() else None
        found = find_session(store, session_id)
        if found is None:
            self._seen.pop(key, None)
            return None
        if len(self._seen) >= self.SIZE:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = (found, now)
        return found

    def forget(self, session_id: str) -> None:
        self._seen.pop(hash_token(session_id), None)


def end_session(store: Store, session_id: str) -> None:
    """End a session (signing out): its cookie's value stops working at once, on every worker."""
    with store.transaction() as tx:
        tx.execute("UPDATE service_sessions SET ended_at = ? WHERE session_hash = ? "
                   "AND ended_at IS NULL", (_now(), hash_token(session_id)))
