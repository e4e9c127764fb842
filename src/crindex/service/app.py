"""The HTTP API (FastAPI) over a history store: customers, portfolio, alerts, adjustments, runs.

Every route but ``/healthz`` needs an API token (``Authorization: Bearer cri_...``, made by
``crindex token create``): none or an unknown one is 401, a token without the route's scope
403. Bad input is 422 with one line per problem naming the parameter, what was found and what
is allowed. Errors are JSON ``{"error": {"status", "code", "message", "problems"}}`` and never
carry a stack trace.

Reads are answered from :class:`~crindex.service.cache.ServiceCache` (numpy columns of the
latest snapshot), never from a query per request; writes go to the store, then the cache
reloads what changed. Several workers each hold their own cache and see the others' writes
within ``refresh`` seconds (the store's stamp is polled).

>>> app = create_app(Settings(store="history.duckdb", model="examples/b2b.yaml"))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import os
import secrets
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from crindex.errors import CrindexError, Reason
from crindex.service.auth import SCOPES, TokenInfo, hash_token
from crindex.service.cache import ServiceCache

log = logging.getLogger("crindex.service")

#: the environment variables ``crindex serve --workers N`` hands its worker processes
ENV = {"store": "CRINDEX_SERVE_STORE", "model": "CRINDEX_SERVE_MODEL",
       "data": "CRINDEX_SERVE_DATA", "refresh": "CRINDEX_SERVE_REFRESH",
       "secret": "CRINDEX_SERVE_SECRET", "live": "CRINDEX_SERVE_LIVE"}

#: the largest page number or id a route accepts (JSON numbers stay exact up to 2**53)
MAX_NUMBER = 2**53

TIER_SORTS = ("-score", "score", "change", "-change", "customer_id", "-customer_id")
ALERT_STATUSES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True)
class Settings:
    """What a server serves.

    Parameters
    ----------
    store
        The history store (DuckDB file or ``postgresql://`` URL).
    model
        The model file whose latest snapshot is served.
    data
        The data that ``POST /v1/runs`` scores (folder, DuckDB file or URL); None disables it.
    refresh
        Seconds between two checks of the store for changes made elsewhere.
    secret
        The key that signs the login form's token (shared by the workers of one server; a
        random one when empty).
    live
        Take events (``POST /v1/events``) and rescore the customers they touch
        (:mod:`crindex.service.events`); needs ``data``.
    """

    store: str
    model: str
    data: str | None = None
    refresh: float = 5.0
    secret: str = ""
    live: bool = False

    def to_env(self) -> dict[str, str]:
        env = {ENV["store"]: self.store, ENV["model"]: self.model,
               ENV["refresh"]: str(self.refresh), ENV["secret"]: self.secret,
               ENV["live"]: "1" if self.live else ""}
        if self.data:
            env[ENV["data"]] = self.data
        return env

    @classmethod
    def from_env(cls) -> Settings:
        return cls(store=os.environ[ENV["store"]], model=os.environ[ENV["model"]],
                   data=os.environ.get(ENV["data"]) or None,
                   refresh=float(os.environ.get(ENV["refresh"], "5")),
                   secret=os.environ.get(ENV["secret"], ""),
                   live=bool(os.environ.get(ENV["live"])))


# ------------------------------------------------------------------------------ errors


class ApiError(Exception):
    """An error answered as JSON with a status code (never a traceback)."""

    def __init__(self, status: int, code: str, message: str, hint: str = "",
                 problems: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.problems = problems or []
        self.headers = headers


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) \
        -> Response:
    try:
        content = body if isinstance(body, bytes) else orjson.dumps(body)
    except TypeError:  # an echoed input orjson cannot encode (an integer past 64 bits)
        import json

        content = json.dumps(body, default=str).encode()
    return Response(content, status_code=status, media_type="application/json",
                    headers=headers)


def error_body(status: int, code: str, message: str, hint: str = "",
               problems: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if hint:
        error["hint"] = hint
    if problems:
        error["problems"] = problems
    return {"error": error}


def _where(loc: tuple[Any, ...]) -> str:
    kinds = {"query": "query parameter", "path": "path parameter", "body": "body field",
             "header": "header", "cookie": "cookie"}
    if not loc:
        return "request"
    head, rest = str(loc[0]), [str(p) for p in loc[1:]]
    if head == "body" and not rest:
        return "body"
    return f"{kinds.get(head, head)} `{'.'.join(rest) or head}`"


def validation_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One readable line per problem: where, what is wrong, what was given."""
    out = []
    for err in exc.errors():
        where = _where(tuple(err.get("loc", ())))
        message = str(err.get("msg", "is not valid"))
        message = message.removeprefix("Value error, ")
        problem: dict[str, Any] = {"where": where, "message": message}
        if "input" in err and err.get("type") != "missing" and not isinstance(
                err["input"], dict):
            got = err["input"]
            problem["got"] = str(got) if isinstance(got, int) and abs(got) > MAX_NUMBER else got
        out.append(problem)
    return out


def crindex_status(exc: CrindexError) -> tuple[int, str]:
    if exc.reason == Reason.UNKNOWN_CUSTOMER:
        return 404, "not_found"
    if exc.reason in (Reason.BAD_PARAMETER, Reason.MODEL_SCHEMA):
        return 422, "invalid"
    if exc.reason == Reason.STORE:
        return 409, "conflict"
    return 400, exc.reason.value


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for the API (the dashboard answers HTML through its own handlers)."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return json_response(error_body(exc.status, exc.code, exc.message, exc.hint,
                                        exc.problems), exc.status, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = validation_problems(exc)
        summary = "; ".join(f"{p['where']}: {p['message']}" for p in problems)
        return json_response(error_body(422, "invalid", summary, problems=problems), 422)

    @app.exception_handler(CrindexError)
    async def crindex_error(request: Request, exc: CrindexError) -> Response:
        from crindex.service.security import redact

        settings = getattr(request.app.state, "settings", None)
        where = (settings.store, settings.data or "", settings.model) if settings else ()
        status, code = crindex_status(exc)
        if status >= 409:
            log.warning("%s on %s %s: %s", status, request.method, request.url.path, exc)
        problems = [{"where": redact(p.where, *where), "message": redact(p.message, *where),
                     "hint": redact(p.hint, *where)} for p in exc.problems]
        return json_response(error_body(status, code, redact(str(exc), *where),
                                        problems=problems), status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            body = error_body(404, "not_found", f"there is no route {request.url.path}",
                              "the routes are listed in /openapi.json")
        elif exc.status_code == 405:
            body = error_body(405, "method_not_allowed",
                              f"{request.method} is not allowed on {request.url.path}")
        else:
            body = error_body(exc.status_code, "http", str(exc.detail))
        return json_response(body, exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.exception("unexpected error %s on %s %s", incident, request.method, request.url.path)
        return json_response(error_body(
            500, "internal", f"the server failed on this request (incident {incident})",
            "the server log has the details under this incident id"), 500)


# ------------------------------------------------------------------------------ auth

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token made by `crindex token create` (cri_...).")


class Auth:
    """Resolves a token (header or a dashboard session) against the cache's token book.

    An unknown token costs no store round trip in the common case: a token seen unknown since
    the last change of the token book is refused from a bounded negative cache, a client with
    too many failures in a minute gets 429 without any lookup, and the misses that remain
    share one reload of the tokens (at most one per :attr:`RELOAD_GAP` seconds, awaited without
    holding a thread, so writes never queue behind them). A token made by ``crindex token
    create`` works on its first use: its miss waits for the next reload.
    """

    RELOAD_GAP = 0.25
    NEGATIVE_SIZE = 10_000
    NEGATIVE_TTL = 60.0

    def __init__(self, cache: ServiceCache) -> None:
        from crindex.service.security import FailureLimiter

        self.cache = cache
        self.failures = FailureLimiter()
        self.reloads = 0
        self._unknown: dict[str, float] = {}
        self._book: dict[str, TokenInfo] = cache.tokens
        self._last_reload = 0.0
        self._pending: asyncio.Future[None] | None = None

    def _known_unknown(self, key: str) -> bool:
        import time

        if self.cache.tokens is not self._book:  # the book changed: forget what was unknown
            self._book = self.cache.tokens
            self._unknown.clear()
        seen = self._unknown.get(key)
        return seen is not None and time.monotonic() - seen < self.NEGATIVE_TTL

    def _remember_unknown(self, key: str) -> None:
        import time

        if len(self._unknown) >= self.NEGATIVE_SIZE:
            self._unknown.pop(next(iter(self._unknown)))
        self._unknown[key] = time.monotonic()

    async def _reload(self) -> None:
        import time

        wait = self._last_reload + self.RELOAD_GAP - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._pending = None  # a miss from now on may be a token made after this read
        self._last_reload = time.monotonic()
        self.reloads += 1
        before = self.cache.tokens
        try:
            await run_in_threadpool(self.cache.reload_tokens)
        except Exception:  # the store briefly locked or down: the token stays unknown
            log.warning("reloading the tokens failed", exc_info=True)
        if self.cache.tokens.keys() == before.keys():
            self.cache.tokens = before  # nothing new: keep the negative cache

    async def lookup(self, token: str) -> TokenInfo | None:
        key = hash_token(token)
        info = self.cache.tokens.get(key)
        if info is not None or not token.startswith("cri_") or self._known_unknown(key):
            return info
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._reload())
        await asyncio.shield(self._pending)
        info = self.cache.tokens.get(key)
        if info is None and not self._known_unknown(key):
            self._remember_unknown(key)
        return info

    def by_id(self, token_id: str) -> TokenInfo | None:
        """The active token with this id (a session's token)."""
        return next((i for i in self.cache.tokens.values() if i.token_id == token_id), None)

    async def check(self, token: str | None, scope: str, client: str = "") -> TokenInfo:
        """The token's description, or the 401/403/429 :class:`ApiError`."""
        challenge = {"WWW-Authenticate": "Bearer"}
        if not token:
            raise ApiError(401, "unauthorized", "this route needs an API token",
                           "send `Authorization: Bearer <token>`; make a token with "
                           "`crindex token create --store S --name NAME --scope read`",
                           headers=challenge)
        info = self.cache.tokens.get(hash_token(token))
        if info is None:
            wait = self.failures.blocked(client)
            if wait:
                raise ApiError(429, "too_many_failures", "too many requests with an unknown "
                               f"token from this client; try again in {math.ceil(wait)} s",
                               headers={"Retry-After": str(math.ceil(wait))})
            info = await self.lookup(token)
        if info is None:
            self.failures.failed(client)
            raise ApiError(401, "unauthorized", "the API token is not valid (unknown or "
                           "revoked)", "`crindex token list` shows the tokens in force",
                           headers=challenge)
        return self.allow(info, scope)

    @staticmethod
    def allow(info: TokenInfo, scope: str) -> TokenInfo:
        """``info`` when it grants ``scope``, else the 403 :class:`ApiError`."""
        if not info.allows(scope):
            raise ApiError(403, "forbidden", f"this route needs the `{scope}` scope; token "
                           f"`{info.name}` ({info.token_id}) has {', '.join(info.scopes)}",
                           "make a token with the scope: `crindex token create --scope "
                           f"{scope}` (scopes: {' < '.join(SCOPES)})")
        return info


def client_of(request: Request) -> str:
    """The client's address (the key of the failed-authentication limit)."""
    return request.client.host if request.client else ""


def requires(scope: str) -> Any:
    """A dependency admitting tokens that grant ``scope``."""

    async def dependency(request: Request, cred: Annotated[
            HTTPAuthorizationCredentials | None, Security(bearer)]) -> TokenInfo:
        auth: Auth = request.app.state.auth
        return await auth.check(cred.credentials if cred else None, scope, client_of(request))

    return Depends(dependency)


class CustomerFastPath:
    """ASGI middleware answering a *successful* ``GET /v1/customers/{id}`` directly.

    The busiest route spends most of its time in routing, dependency injection and response
    classes rather than in the lookup (~30 us). This answers the common case (a known token
    with the read scope, an id in the snapshot) from the cache without them; anything else,
    every error included, goes on to the FastAPI route, so errors stay exactly the route's.
    """

    PREFIX = "/v1/customers/"

    def __init__(self, app: Any, cache: ServiceCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(self.PREFIX):
                body = self._answer(path[len(self.PREFIX):], scope["headers"])
                if body is not None:
                    await send({"type": "http.response.start", "status": 200, "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    def _answer(self, customer_id: str, headers: list[tuple[bytes, bytes]]) -> bytes | None:
        if not customer_id or "/" in customer_id or len(customer_id) > 200:
            return None
        for name, value in headers:
            if name == b"authorization":
                if value[:7].lower() != b"bearer ":
                    return None
                info = self.cache.tokens.get(hash_token(value[7:].strip().decode("latin-1")))
                if info is None or not info.allows("read"):
                    return None
                return self.cache.customer_json(customer_id)
        return None


class LoadingGate:
    """ASGI middleware answering 503 ``loading`` until the cache's first load is done.

    ``/healthz`` goes through (it says ``loading`` itself, with 503), so a load balancer or
    a test waits on it for readiness; every other route would answer from an empty cache.
    """

    BODY = orjson.dumps(error_body(503, "loading", "the server is loading the latest snapshot "
                                   "from the store", "retry in a moment (GET /healthz answers "
                                   "200 when it is ready)"))

    def __init__(self, app: Any, cache: ServiceCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.cache.ready and scope["path"] != "/healthz":
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", b"1"),
                (b"content-length", str(len(self.BODY)).encode())]})
            await send({"type": "http.response.body", "body": self.BODY})
            return
        await self.app(scope, receive, send)


# ------------------------------------------------------------------------------ bodies


class AckBody(BaseModel):
    """Acknowledge an alert (someone is on it)."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000, description="what is being done")


class AdjustmentBody(BaseModel):
    """A manual adjustment: points and/or a tier override, or the revocation of an entry."""

    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=3, max_length=2000, description="why (kept in the audit log)")
    points: float | None = Field(None, ge=-100, le=100, description="added to the score")
    tier: str | None = Field(None, max_length=100, description="tier override")
    effective: dt.date | None = Field(None, description="first as_of it applies to (today)")
    expires: dt.date | None = Field(None, description="first as_of it no longer applies to")
    revokes: int | None = Field(None, ge=1, le=MAX_NUMBER,
                                description="id of an adjustment to withdraw")

    @model_validator(mode="after")
    def one_action(self) -> AdjustmentBody:
        if self.revokes is not None:
            if self.points is not None or self.tier is not None:
                raise ValueError("a revocation carries no points or tier: send `revokes` "
                                 "and `reason` only")
        elif self.points is None and self.tier is None:
            raise ValueError("give `points` (-100..100), `tier`, or both (or `revokes` to "
                             "withdraw an adjustment)")
        if self.effective and self.expires and self.expires <= self.effective:
            raise ValueError(f"`expires` ({self.expires}) must be after `effective` "
                             f"({self.effective})")
        return self


class RunBody(BaseModel):
    """Score the served model on the server's data now and store the snapshot."""

    model_config = ConfigDict(extra="forbid")
    as_of: dt.date | None = Field(None, description="scoring date (default: today)")


# ------------------------------------------------------------------------------ the app


def invalid(problems: list[dict[str, Any]]) -> ApiError:
    """A 422 whose message reads every problem: ``where: what is wrong``."""
    return ApiError(422, "invalid", "; ".join(f"{p['where']}: {p['message']}" for p in problems),
                    problems=problems)


def _paging(page: int, per_page: int, total_pages: int) -> None:
    if total_pages and page > total_pages:
        raise invalid([{"where": "query parameter `page`", "got": page,
                        "message": f"page {page} is past the last page ({total_pages})"}])


def build_state(settings: Settings) -> tuple[ServiceCache, Any]:
    """Open the store, load the model and make the (not yet filled) cache."""
    from crindex.model.loader import load_model
    from crindex.store import open_store

    model = load_model(settings.model)
    store = open_store(settings.store)
    return ServiceCache(store, model.name, model), model


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI application: the API under ``/v1``, ``/healthz`` and the dashboard."""
    cache, model = build_state(settings)
    refresh_every = max(0.2, settings.refresh)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the first load runs in the background like every later refresh: start-up ends at
        # once (uvicorn's supervisor never sees a worker busy starting), and until the load
        # is done every route but /healthz answers 503 "loading" (see LoadingGate)
        stop = asyncio.Event()

        async def poll() -> None:
            first = True
            while not stop.is_set():
                if not first:
                    try:
                        await asyncio.wait_for(stop.wait(), refresh_every)
                    except TimeoutError:
                        pass
                    if stop.is_set():
                        break
                first = False
                try:
                    await run_in_threadpool(cache.refresh)
                except Exception:  # a store briefly locked or down: try again next time
                    log.warning("refreshing from the store failed", exc_info=True)

        task = asyncio.create_task(poll())
        try:
            yield
        finally:
            stop.set()
            await task

    app = FastAPI(
        title="crindex",
        summary="Customer Relationship Index: scores, tiers, explanations, alerts.",
        version=_version(),
        docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
    )
    app.state.cache = cache
    app.state.model = model
    app.state.settings = settings
    app.state.auth = Auth(cache)
    from crindex.service.auth import SessionCache

    app.state.sessions = SessionCache()
    app.state.run_lock = threading.Lock()
    app.state.secret = settings.secret or secrets.token_hex(32)
    install_error_handlers(app)
    app.add_middleware(CustomerFastPath, cache=cache)
    app.add_middleware(LoadingGate, cache=cache)
    from crindex.service.security import Guard

    app.add_middleware(Guard)  # the outermost: limits before auth, headers on every answer
    read, write, admin = requires("read"), requires("write"), requires("admin")

    @app.get("/healthz", tags=["service"], summary="Liveness and what is served (no token)")
    async def healthz() -> Response:
        state = cache.state
        snap = state.snap
        return json_response({
            "status": "ok" if cache.ready else "loading", "model": cache.model_name,
            "as_of": snap.run.as_of.isoformat() if snap else None,
            "run_id": snap.run.run_id if snap else None,
            "customers": snap.size if snap else 0, "worker": os.getpid(),
            "token_reloads": app.state.auth.reloads,
        }, 200 if cache.ready else 503, None if cache.ready else {"Retry-After": "1"})

    @app.get("/openapi.json", tags=["service"], summary="The OpenAPI description",
             dependencies=[read])
    async def openapi() -> Response:
        return json_response(app.openapi())

    @app.get("/v1/customers/{customer_id:path}", tags=["customers"], dependencies=[read],
             summary="A customer's score, tier, evaluation table, history, alerts and "
                     "adjustments")
    async def get_customer(customer_id: Annotated[str, PathParam(max_length=200)]) -> Response:
        body = cache.customer_json(customer_id)
        if body is None:
            raise _unknown_customer(cache, customer_id)
        return Response(body, media_type="application/json")

    @app.get("/v1/customers", tags=["customers"], dependencies=[read],
             summary="Customers of the latest snapshot: filter, sort, paginate")
    async def list_customers(
        tier: Annotated[list[str] | None, Query(description="tier id (repeat for several)")]
        = None,
        owner: Annotated[list[str] | None, Query(description="owner (repeat for several)")]
        = None,
        segment: Annotated[list[str] | None, Query()] = None,
        rfm_segment: Annotated[list[str] | None, Query(description="RFM segment (the "
                                                         "model's segments:; repeat for "
                                                         "several)")] = None,
        min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
        max_score: Annotated[float | None, Query(ge=0, le=100)] = None,
        q: Annotated[str | None, Query(max_length=200, description="part of the id")] = None,
        alerts: Annotated[bool | None, Query(description="with (true) or without (false) "
                                                         "open alerts")] = None,
        sort: Annotated[str, Query(description="one of " + ", ".join(TIER_SORTS))] = "-score",
        page: Annotated[int, Query(ge=1, le=MAX_NUMBER)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        problems: list[dict[str, Any]] = []
        if sort not in TIER_SORTS:
            problems.append({"where": "query parameter `sort`", "got": sort,
                             "message": "must be one of " + ", ".join(TIER_SORTS)})
        known = cache.snap.tiers if cache.snap else []
        for t in tier or []:
            if t not in known:
                problems.append({"where": "query parameter `tier`", "got": t,
                                 "message": "unknown tier; the model's tiers: "
                                 + ", ".join(known)})
        if min_score is not None and max_score is not None and min_score > max_score:
            problems.append({"where": "query parameter `min_score`", "got": min_score,
                             "message": f"must not be above max_score ({max_score})"})
        if problems:
            raise invalid(problems)
        result = cache.customers(tiers=tier or (), owners=owner or (), segments=segment or (),
                                 rfm_segments=rfm_segment or (),
                                 min_score=min_score, max_score=max_score, q=q,
                                 with_alerts=alerts, sort=sort, page=page, per_page=per_page)
        _paging(page, per_page, result["pages"])
        return json_response(result)

    @app.get("/v1/portfolio", tags=["portfolio"], dependencies=[read],
             summary="Tier shares, the average score trend and KPIs")
    async def portfolio() -> Response:
        return json_response(cache.portfolio())

    @app.get("/v1/alerts", tags=["alerts"], dependencies=[read],
             summary="Alerts of the served model, newest first")
    async def list_alerts(
        status: Annotated[list[str] | None, Query(description="open, acknowledged, resolved")]
        = None,
        severity: Annotated[list[str] | None, Query()] = None,
        owner: Annotated[str | None, Query(max_length=200)] = None,
        customer_id: Annotated[str | None, Query(max_length=200)] = None,
        rule_id: Annotated[str | None, Query(max_length=200)] = None,
        page: Annotated[int, Query(ge=1, le=MAX_NUMBER)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        problems = [{"where": "query parameter `status`", "got": s,
                     "message": "must be one of " + ", ".join(ALERT_STATUSES)}
                    for s in status or [] if s not in ALERT_STATUSES]
        if problems:
            raise invalid(problems)
        result = cache.alert_list(statuses=status or (), severities=severity or (),
                                  owner=owner, customer_id=customer_id, rule_id=rule_id,
                                  page=page, per_page=per_page)
        _paging(page, per_page, result["pages"])
        return json_response(result)

    @app.post("/v1/alerts/{alert_id}/ack", tags=["alerts"], summary="Acknowledge an alert")
    async def ack_alert(alert_id: Annotated[int, PathParam(ge=1, le=MAX_NUMBER)],
                        body: AckBody | None = None, token: TokenInfo = write) -> Response:
        await run_in_threadpool(ack, cache, alert_id, token, body.note if body else None)
        return json_response(cache.alerts.by_id[alert_id])

    @app.post("/v1/adjustments", tags=["adjustments"], status_code=201,
              summary="Adjust a customer's score or tier (or revoke an adjustment)")
    async def post_adjustment(body: AdjustmentBody, token: TokenInfo = write) -> Response:
        entry = await run_in_threadpool(adjust, cache, body, token)
        doc = cache.customer(body.customer_id) or {}
        return json_response({"adjustment": entry, "customer": {
            k: doc.get(k) for k in ("customer_id", "score", "tier", "adjusted_score",
                                    "adjusted_tier")}}, 201)

    @app.post("/v1/runs", tags=["runs"], status_code=201,
              summary="Score the model on the server's data now and store the snapshot")
    async def post_run(body: RunBody | None = None, token: TokenInfo = admin) -> Response:
        summary = await run_in_threadpool(score_now, app, body.as_of if body else None)
        return json_response(summary, 201)

    from crindex.service.pages import install_pages

    install_pages(app)
    from crindex.service.events import install_events

    install_events(app)  # POST /v1/events: live rescoring (crindex.live)
    return app


def _unknown_customer(cache: ServiceCache, customer_id: str) -> ApiError:
    snap = cache.snap
    if snap is None:
        return ApiError(404, "not_found", f"the store holds no snapshot of model "
                        f"`{cache.model_name}` yet", "score one: POST /v1/runs, or "
                        "`crindex score --store`")
    sample = ", ".join(snap.id_at(i) for i in range(min(3, snap.size)))
    return ApiError(404, "not_found", f"customer `{customer_id}` is not in the latest snapshot "
                    f"of `{snap.run.model_name}` (as of {snap.run.as_of})",
                    f"ids look like: {sample}; only customers active at as_of are scored")


def ack(cache: ServiceCache, alert_id: int, token: TokenInfo, note: str | None) -> None:
    """Acknowledge an alert in the store and reload the cache's alerts."""
    alert = cache.alerts.by_id.get(alert_id)
    if alert is None:
        raise ApiError(404, "not_found", f"there is no alert {alert_id} of model "
                       f"`{cache.model_name}`", "GET /v1/alerts lists them")
    if alert["status"] != "open":
        raise ApiError(409, "conflict", f"alert {alert_id} is already {alert['status']}",
                       "an alert moves open -> acknowledged -> resolved")
    cache.store.set_alert_status(alert_id, "acknowledged", f"token:{token.name}", note)
    cache.refresh()


def set_statuses(cache: ServiceCache, alert_ids: list[int], status: str, token: TokenInfo,
                 note: str | None) -> None:
    """Acknowledge or resolve several alerts at once (one transaction); reload the alerts.

    Alerts already at ``status`` (or past it) are refused together, naming each, and none
    is changed.
    """
    from crindex.errors import StoreError

    unknown = [i for i in alert_ids if i not in cache.alerts.by_id]
    if unknown:
        raise ApiError(404, "not_found", "there is no alert " + ", ".join(map(str, unknown))
                       + f" of model `{cache.model_name}`", "GET /v1/alerts lists them")
    try:
        cache.store.set_alerts_status(alert_ids, status, f"token:{token.name}", note)
    except StoreError as exc:
        raise ApiError(409, "conflict", "; ".join(p.message for p in exc.problems) or str(exc),
                       "an alert moves open -> acknowledged -> resolved") from exc
    cache.refresh()


def adjust(cache: ServiceCache, body: AdjustmentBody, token: TokenInfo) -> dict[str, Any]:
    """Append an adjustment (or revocation) to the store's audit log; reload the cache."""
    snap = cache.snap
    if snap is None or snap.find(body.customer_id) is None:
        raise _unknown_customer(cache, body.customer_id)
    if body.tier is not None and body.tier not in snap.tiers:
        raise invalid([{"where": "body field `tier`", "got": body.tier,
                        "message": f"unknown tier `{body.tier}`; the model's tiers: "
                        + ", ".join(snap.tiers)}])
    if body.revokes is not None:
        adj = cache.adjusted
        mine = adj.by_customer.get(body.customer_id, []) if adj else []
        if not any(a.adjustment_id == body.revokes and a.action == "add" for a in mine):
            ids = ", ".join(str(a.adjustment_id) for a in mine if a.action == "add")
            raise invalid([{"where": "body field `revokes`", "got": body.revokes,
                            "message": f"customer `{body.customer_id}` has no adjustment "
                            f"{body.revokes}; theirs: {ids or 'none'}"}])
    entry = cache.store.add_adjustment(
        body.customer_id, reason=body.reason, made_by=f"token:{token.name}",
        points=body.points, tier=body.tier, model_name=cache.model_name,
        effective=body.effective or snap.run.as_of, expires=body.expires,
        action="revoke" if body.revokes is not None else "add", revokes=body.revokes)
    cache.refresh()
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v)
            for k, v in entry.to_dict().items()}


def score_now(app: FastAPI, as_of: dt.date | None) -> dict[str, Any]:
    """Score the served model on the server's data and store the snapshot.

    The model's alert rules are then evaluated on the new snapshot, and the cache reloaded.
    """
    settings: Settings = app.state.settings
    cache: ServiceCache = app.state.cache
    if not settings.data:
        raise ApiError(409, "conflict", "this server was started without --data, so it cannot "
                       "score", "restart it with `crindex serve --data D ...`, or write "
                       "snapshots with `crindex score --store`")
    lock: threading.Lock = app.state.run_lock
    if not lock.acquire(blocking=False):
        raise ApiError(409, "conflict", "a run is already in progress",
                       "wait for it to finish, then GET /v1/portfolio")
    try:
        from crindex.api import score
        from crindex.output import result_summary
        from crindex.record import record_run
        from crindex.store import fingerprint

        model = app.state.model
        scorer = getattr(getattr(app.state, "live", None), "scorer", None)
        if scorer is not None and scorer.ready and (as_of or dt.date.today()) == scorer.as_of:
            done = scorer.start()  # the live run's full run: the data and every kept event
            result = scorer.result
        else:
            result = score(model, settings.data, as_of or dt.date.today())
            done = record_run(cache.store, result, fingerprint(settings.data))
        summary = result_summary(result)
        summary["run_id"] = done.run_id
        if model.alerts:  # the model's alert rules watch every new snapshot
            summary["alerts"] = {"raised": done.raised, "resolved": done.resolved}
        from crindex.store.manual import stale_warnings

        stale = stale_warnings(cache.store, model, result.as_of)
        if stale:
            summary["warnings"] = stale
        cache.refresh()
        return summary
    finally:
        lock.release()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("crindex")
    except Exception:
        return "0"


def app_from_env() -> FastAPI:
    """The app of ``crindex serve --workers N`` (each worker process builds its own)."""
    return create_app(Settings.from_env())


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          log_level: str = "warning") -> None:
    """Run the server with uvicorn on uvloop + httptools (until interrupted)."""
    from dataclasses import replace

    import uvicorn

    from crindex.service.security import MAX_HEAD

    if not settings.secret:
        settings = replace(settings, secret=secrets.token_hex(32))
    # httptools with a limit on the request head; no `server: uvicorn` banner
    common: dict[str, Any] = dict(host=host, port=port, loop="uvloop",
                                  http="crindex.service.security:HttpToolsLimited",
                                  h11_max_incomplete_event_size=MAX_HEAD, server_header=False,
                                  log_level=log_level, access_log=False,
                                  timeout_graceful_shutdown=5)
    if workers > 1:
        os.environ.update(settings.to_env())
        uvicorn.run("crindex.service.app:app_from_env", factory=True, workers=workers,
                    **common)
    else:
        uvicorn.run(create_app(settings), **common)
