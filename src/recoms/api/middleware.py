"""ASGI middleware: the edge every request passes (limits, CORS, security headers, metrics), and the
API key some documentation paths need."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from starlette.middleware.cors import CORSMiddleware

from recoms.api.clients import Network, client_address
from recoms.api.problems import MEDIA_TYPE, problem_body, unexpected
from recoms.api.request_metrics import METRICS
from recoms.errors import RecomsError

Scope = dict
# Set in the request's scope by the edge when the answer begins: its status (for the metrics, and so
# that a failure after that point is not answered a second time).
RESPONSE_STATUS = "recoms.response_status"
ASGIApp = Callable[..., Awaitable[None]]


async def _send_problem(send, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
    body = problem_body(status, detail, title=title)
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", MEDIA_TYPE.encode()),
                            (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


class RateBuckets:
    """A token bucket per client address on the write endpoints browsers and apps call (0 = off)."""

    PATHS = frozenset({
        "/api/v2/tracking", "/api/v2", "/api/v1/mobile/events", "/api/v1/events", "/api/v1/auth/contact/token",
        "/api/v1/recoms/events", "/api/v1/device", "/api/v1/user", "/api/v1/orders", "/api/v1/contact",
        "/api/v1/contacts",
    })

    def __init__(self, per_second: float, proxies: Sequence[Network] = ()) -> None:
        self.rate, self.proxies = per_second, proxies
        self.burst = max(1.0, per_second * 2)
        self.buckets: dict[str, tuple[float, float]] = {}

    def wait(self, scope: Scope) -> int:
        """0 when the request may go on (and takes a token); else the seconds to wait for one."""
        if self.rate <= 0 or scope["path"] not in self.PATHS:
            return 0
        client = client_address(scope, self.proxies)
        now = time.monotonic()
        tokens, last = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            return int((1.0 - tokens) / self.rate) + 1
        if len(self.buckets) > 100_000:
            self.buckets.clear()
        self.buckets[client] = (tokens - 1.0, now)
        return 0


class Edge:
    """What every request goes through, in one layer (one was a layer each, a quarter of a cached answer):

    - refuses a NUL byte in the path or query (400: no client means one; PostgreSQL cannot store one);
    - rate limits per client address on the write endpoints browsers and apps call (429, `RateBuckets`);
    - refuses bodies over the limit, by Content-Length up front or while streaming (413), and bodies that
      do not arrive within the timeout (408: a client trickling bytes to hold a worker);
    - CORS on the routes a shop's pages call from the browser (tracking, the ES-TOKEN recommendations;
      Starlette's, when the request has an Origin); every other route is for servers and apps and gets no
      CORS headers (a browser page cannot use a key);
    - marks every response `nosniff`, token-bearing ones `no-store`, closes the connection after an error
      (a client that sent a refused body is not read further), gives every 429/503 a Retry-After;
    - answers an exception that escapes the app before its answer began as the app answers one (500, or
      503 when a dependency is down): the hot path's routes run outside the app's own handlers;
    - counts requests per route and status, and their latency (Prometheus).
    """

    def __init__(self, app: ASGIApp, *, limit: int, feed_limit: int, timeout: float, rate: RateBuckets,
                 origins: list[str], browser_route: Callable[[str], bool], no_store: Callable[[str], bool]) -> None:
        self.app, self.limit, self.feed_limit, self.timeout, self.rate = app, limit, feed_limit, timeout, rate
        self.browser_route, self.no_store = browser_route, no_store
        self.cors = CORSMiddleware(
            self._limited, allow_origins=origins, allow_methods=["GET", "POST"],
            allow_headers=["ES-TOKEN", "Content-Type"], expose_headers=["ES-TOKEN", "X-Recommendation-Id"],
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        path = scope["path"]
        browser = self.browser_route(path)
        cross_origin = browser and b"origin" in dict(scope["headers"])  # names are lowercase (ASGI)
        extra = [(b"x-content-type-options", b"nosniff")]
        if browser and not cross_origin:
            extra.append((b"vary", b"Origin"))  # all Starlette's CORS would add without an Origin
        no_store = self.no_store(path)

        async def edge_send(message):
            if message["type"] == "http.response.start":
                status = scope[RESPONSE_STATUS] = message["status"]  # the answer began (see _limited)
                headers = [*message.get("headers", ()), *extra]
                if no_store and b"cache-control" not in dict(headers):  # names are lowercase (ASGI)
                    headers.append((b"cache-control", b"no-store"))
                if status >= 400:
                    headers.append((b"connection", b"close"))
                    if status in (429, 503) and all(k.lower() != b"retry-after" for k, _ in headers):
                        headers.append((b"retry-after", b"5"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if "\x00" in path or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
                await _send_problem(edge_send, 400, "Bad request", "the URL holds a NUL byte (%00)")
            elif cross_origin:
                await self.cors(scope, receive, edge_send)
            else:
                await self._limited(scope, receive, edge_send)
        finally:
            self._observe(scope, scope.get(RESPONSE_STATUS, 500), start)

    async def _limited(self, scope: Scope, receive, send) -> None:
        """The rate and body limits around the app."""
        wait = self.rate.wait(scope)
        if wait:
            return await _send_problem(send, 429, "Too many requests", "slow down: too many requests from you",
                                       {"retry-after": str(wait)})
        limit = self.feed_limit if scope["path"].startswith("/api/v1/feeds") else self.limit
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return await _send_problem(send, 413, "Payload too large", f"the body is larger than {limit} bytes")
        seen = 0
        complete = False
        deadline: float | None = None

        async def counting_receive():
            nonlocal seen, complete, deadline
            if complete:  # the body is in: what follows is waiting for a disconnect, with no deadline
                return await receive()
            deadline = deadline or asyncio.get_running_loop().time() + self.timeout
            try:
                # A timer on this task, not wait_for's extra task per message (a fifth of a tracking call).
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _TooSlow from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
                complete = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            if RESPONSE_STATUS not in scope:
                await _send_problem(send, 413, "Payload too large", f"the body is larger than {limit} bytes")
        except _TooSlow:
            if RESPONSE_STATUS not in scope:
                await _send_problem(send, 408, "Request timeout",
                                    f"the body did not arrive within {self.timeout:g} seconds")
        except Exception as exc:  # what escaped the app (the hot path's routes: api/hot_path.py)
            if RESPONSE_STATUS in scope:  # too late for another answer
                raise
            await unexpected(exc, f"{scope['method']} {getattr(scope.get('route'), 'path', scope['path'])}")(
                scope, receive, send)

    @staticmethod
    def _observe(scope: Scope, status: int, start: float) -> None:
        route = scope.get("route")
        name = getattr(route, "path", None) or "unmatched"
        METRICS.observe(scope["method"], name, status, time.perf_counter() - start)


class KeyRequired:
    """Paths that need an API key (any scope) when the operator says so: /docs, /openapi.json, /metrics."""

    def __init__(self, app: ASGIApp, paths: Sequence[str], authenticate: Callable[[str | None], object]) -> None:
        self.app, self.paths, self.authenticate = app, tuple(paths), authenticate

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.paths):
            header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
            try:
                self.authenticate(header)
            except RecomsError as exc:
                return await _send_problem(send, exc.status, exc.title, exc.detail,
                                           {"www-authenticate": 'Basic realm="recoms"'})
        await self.app(scope, receive, send)
