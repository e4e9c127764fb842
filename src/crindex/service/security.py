"""What every request goes through before any route: size limits, security headers, throttles.

- :class:`Guard` (ASGI middleware, the outermost): refuses a body over :data:`MAX_BODY` with 413
  *before* authentication reads it (by ``Content-Length`` at once, by counting the bytes of a
  chunked body as they arrive), and adds the security headers to every answer (a CSP without
  inline script, no framing, nosniff, no referrer to other sites, no caching).
- :class:`HttpToolsLimited`: uvicorn's httptools protocol refusing a request head (request line
  and headers) over :data:`MAX_HEAD` with 431 while it arrives (httptools itself has no limit
  and would buffer a 50 MB header).
- :class:`FailureLimiter`: failed authentications per client, bounded in memory.
- :func:`redact`: error texts without file paths or database URLs.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: the largest request body accepted (the API's bodies are a few kB)
MAX_BODY = 64 * 1024
#: the largest request head (request line and headers) accepted
MAX_HEAD = 32 * 1024


def _style_hash() -> str:
    """The CSP hash of the dashboard's one ``<style>`` element (the only inline content)."""
    source = (Path(__file__).parent / "templates" / "base.html").read_text(encoding="utf-8")
    found = re.search(r"<style>(.*?)</style>", source, re.S)
    css = found.group(1) if found else ""
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode() \
        + "'"


#: no script at all, the style element by its hash and the tier colours' stylesheet
#: (``/ui/tiers.css``, derived from the model's tiers), forms only to this site, never framed
CSP = ("default-src 'none'; style-src 'self' " + _style_hash() + "; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def _refusal(status: int, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    import orjson

    body = orjson.dumps({"error": {"status": status, "code": "too_large", "message": message}})
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")], body


class Guard:
    """ASGI middleware: body limit before anything reads the body; security headers on all."""

    def __init__(self, app: Any, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {n for n, _ in message.get("headers", [])}
                message = {**message, "headers": [
                    *message.get("headers", []), *(h for h in HEADERS if h[0] not in names)]}
            await send(message)

        async def refuse() -> None:
            headers, body = _refusal(413, f"the request body is larger than {self.max_body:,} "
                                     "bytes, the most this server accepts")
            await send_with_headers({"type": "http.response.start", "status": 413,
                                     "headers": headers})
            await send({"type": "http.response.body", "body": body})

        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_body + 1
        if declared is not None:  # the HTTP parser stops a body at its declared length
            if declared > self.max_body:
                await refuse()
                return
            await self.app(scope, receive, send_with_headers)
            return
        # a body of unknown length (chunked): read it here, at most max_body bytes, then hand
        # it on (the routes would read it anyway, so this costs no memory they would not)
        chunks: list[bytes] = []
        seen, more = 0, scope["method"] not in ("GET", "HEAD")
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_body:
                await refuse()
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)


class HttpToolsLimited(HttpToolsProtocol):
    """uvicorn's httptools protocol with a limit on the request head (431 past it)."""

    max_head = MAX_HEAD

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True  # what comes next is the head of the next request
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        while data:
            if not self._in_head:
                super().data_received(data)
                return
            room = self.max_head - self._head_bytes
            if room <= 0:
                headers, body = _refusal(431, f"the request head (request line and headers) "
                                         f"is larger than {self.max_head:,} bytes")
                self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                     + b"".join(n + b": " + v + b"\r\n" for n, v in headers)
                                     + b"\r\n" + body)
                self.transport.close()
                return
            chunk, data = data[:room], data[room:]
            self._head_bytes += len(chunk)
            super().data_received(chunk)
            if self.transport.is_closing():
                return


class FailureLimiter:
    """Failed authentications per client: more than ``limit`` in ``window`` seconds is refused.

    Remembers at most ``clients`` clients (the least recently failing are forgotten first), so
    a flood from many addresses cannot grow it without bound.
    """

    def __init__(self, limit: int = 30, window: float = 60.0, clients: int = 10_000) -> None:
        self.limit, self.window, self.clients = limit, window, clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is not None:
            while times and times[0] <= now - self.window:
                times.popleft()
        return times

    def blocked(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 when it may now)."""
        now = time.monotonic()
        times = self._recent(client, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window - now)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        times = self._recent(client, now)
        if times is None:
            times = self._failures[client] = deque(maxlen=self.limit)
        self._failures.move_to_end(client)
        times.append(now)
        while len(self._failures) > self.clients:
            self._failures.popitem(last=False)


_PATHS = re.compile(r"(?:postgres(?:ql)?://\S+|(?<![\w.])(?:/[\w.@%+~-]+){2,}/?|"
                    r"[A-Za-z]:\\[^\s'\"`]+)")


def redact(text: str, *secrets: str) -> str:
    """``text`` without the given locations, database URLs or file paths (two levels or more).

    Routes like ``/v1/runs`` have one or two short segments and are kept only when they start
    with ``/v1`` or ``/ui``.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<store>")

    def hide(match: re.Match[str]) -> str:
        found = match.group(0)
        return found if found.startswith(("/v1/", "/ui/")) else "<path>"

    return _PATHS.sub(hide, text)
