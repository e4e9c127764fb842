"""Live events: ``POST /v1/events`` (write scope) and ``GET /v1/events/status`` (read scope).

A server started with ``--live --data D`` (and one worker) starts a
:class:`~crindex.live.scorer.LiveScorer` in the background: it loads the data and every event
kept in the store, scores everyone (the full run) and then takes events. Until it is ready,
``POST /v1/events`` answers 503 ``starting``. An event batch is checked (all problems at once,
422), kept in the store in one transaction, and only then acknowledged, with the rescored
customers' new scores and the alerts raised or resolved (201). See docs/service.md.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Annotated, Any

from fastapi import Body, FastAPI
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from crindex.service.app import ENV, ApiError, json_response, requires
from crindex.service.auth import TokenInfo

log = logging.getLogger("crindex.service")

#: the most events one request may carry
MAX_EVENTS = 10_000


class LiveState:
    """The server's live scorer, its start and what went wrong starting it."""

    def __init__(self) -> None:
        self.scorer: Any = None
        self.error: str | None = None
        self.refusal: str | None = None

    def start(self, app: FastAPI) -> None:
        """Start the live scorer in a background thread (its full run may take a while)."""
        settings = app.state.settings
        if not settings.live:
            self.refusal = ("this server was started without --live: start it with "
                            "`crindex serve --live --data D ...` to take events")
            return
        if not settings.data:
            self.refusal = ("this server was started without --data, so it cannot rescore: "
                            "restart it with `crindex serve --data D ...`")
            return
        if os.environ.get(ENV["store"]):  # set by `crindex serve --workers N` for its workers
            self.refusal = ("live events need a single worker (each worker would hold its "
                            "own copy of the data): restart with --workers 1")
            return
        from crindex.live.scorer import LiveScorer, check_live_model
        from crindex.store import fingerprint

        model = app.state.model
        try:
            check_live_model(model)
        except Exception as exc:  # a model the live scorer cannot take: said on every call
            self.refusal = str(exc)
            return
        self.scorer = LiveScorer(model, settings.data, app.state.cache.store,
                                 fingerprint=fingerprint(settings.data))

        def run() -> None:
            try:
                self.scorer.start()
                app.state.cache.refresh()
            except Exception as exc:
                self.error = str(exc)
                log.exception("the live scorer failed to start")

        threading.Thread(target=run, name="crindex-live-start", daemon=True).start()

    def status(self) -> dict[str, Any]:
        scorer = self.scorer
        full = scorer.full if scorer is not None else None
        return {
            "ready": bool(scorer is not None and scorer.ready),
            "as_of": scorer.as_of.isoformat() if scorer is not None else None,
            "run_id": full.run_id if full is not None else None,
            "last_event": scorer.last_event if scorer is not None else None,
            "error": self.error or self.refusal,
        }

    def ready_scorer(self) -> Any:
        """The scorer, or the 409/503 :class:`ApiError` saying why there is none yet."""
        if self.refusal:
            raise ApiError(409, "conflict", self.refusal)
        if self.error:
            raise ApiError(503, "live_failed", "the live scorer failed to start: "
                           + self.error, "fix the cause and restart the server")
        if self.scorer is None or not self.scorer.ready:
            raise ApiError(503, "starting", "the live scorer is starting (the full run is in "
                           "progress)", "retry in a moment; GET /v1/events/status says when "
                           "it is ready", headers={"Retry-After": "1"})
        return self.scorer


def _items(body: Any) -> list[Any]:
    """The events of a body: one event object, a list of them, or ``{"events": [...]}``."""
    if isinstance(body, dict) and "events" in body and "kind" not in body:
        body = body["events"]
    items = body if isinstance(body, list) else [body]
    if not items:
        raise ApiError(422, "invalid", "body: no event given",
                       problems=[{"where": "body", "message": "give one event or a list"}])
    if len(items) > MAX_EVENTS:
        raise ApiError(422, "invalid", f"body: {len(items)} events in one request; at most "
                       f"{MAX_EVENTS}", problems=[{"where": "body", "message": "send at most "
                                                   f"{MAX_EVENTS} events per request"}])
    return items


def install_events(app: FastAPI) -> None:
    """Add the events routes to ``app`` and start its live scorer."""
    live = LiveState()
    app.state.live = live
    write, read = requires("write"), requires("read")

    @app.post("/v1/events", tags=["events"], status_code=201,
              summary="Send orders, interactions or survey answers; the customers they touch "
                      "are rescored")
    async def post_events(body: Annotated[Any, Body(description="one event, a list, or "
                                                    '{"events": [...]}')],
                          token: TokenInfo = write) -> Response:
        scorer = live.ready_scorer()
        items = _items(body)
        result = await run_in_threadpool(scorer.submit_json, items, f"token:{token.name}")
        return json_response(result.to_dict(), 201)

    @app.get("/v1/events/status", tags=["events"], dependencies=[read],
             summary="Whether the live scorer is ready, its run and last event")
    async def events_status() -> Response:
        return json_response(live.status())

    live.start(app)
