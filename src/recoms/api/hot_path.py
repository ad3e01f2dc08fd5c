"""The recommendation and tracker routes answered ahead of the app's stack.

A reused answer costs less than FastAPI's and Starlette's layers around it: the error, exception and
exit-stack middleware, and a router that tries sixty routes (measured on the ES-TOKEN route: about 45 µs
of ~175 µs on the event loop's thread). `HotPath` matches its few routes itself and hands the request to
the route, wrapped in the same edge middleware as every other request (limits, CORS, security headers,
metrics). The routes stay declared in the app: the OpenAPI document and other methods (405 with Allow)
are the app's. What the app's outer layer does for them, the edge does: an exception that escapes is
answered as the app answers one (500, or 503 when a dependency is down).

Each await between the server and the route is a coroutine frame that every resumption of the request
passes through: the layers here return the next layer's coroutine instead of awaiting it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

METHODS = ("GET", "POST")


class HotPath:
    def __init__(self, routes: Sequence[BaseRoute], edge: Callable[[ASGIApp], ASGIApp]) -> None:
        self.routes = tuple(routes)
        # The paths' constant beginnings: most requests are told apart by these alone.
        self.prefixes = tuple(route.path.split("{", 1)[0] for route in self.routes)
        # Paths without parameters (the tracker's) are looked up, not tried one route after another.
        self.exact = {route.path: route for route in self.routes if "{" not in route.path}
        self.patterned = tuple(route for route in self.routes if "{" in route.path)
        # Matched paths, kept: a shop calls a few (one per data source), and matching one with parameters
        # costs a regular expression and its convertors. Bounded: cleared when MAX_MATCHED are kept.
        self.matched: dict[tuple[str, str, str], Scope] = {}
        self.app = edge(self._answer)

    MAX_MATCHED = 4096

    def match(self, scope: Scope) -> Scope | None:
        """The route's scope (its path parameters, `route`) when one of the routes answers this request.
        The scope returned may be shared by many requests: it is copied into theirs, never changed."""
        if scope["type"] != "http" or scope["method"] not in METHODS:
            return None
        path = scope["path"]
        if not path.startswith(self.prefixes):
            return None
        key = (scope["method"], scope.get("root_path", ""), path)
        child = self.matched.get(key)
        if child is not None:
            return child
        exact = self.exact.get(path)
        for route in (exact,) if exact is not None else self.patterned:
            match, child = route.matches(scope)
            if match is Match.FULL:
                child.setdefault("route", route)
                if len(path) <= 256:  # an id's path, not a client's invention of any length
                    if len(self.matched) >= self.MAX_MATCHED:
                        self.matched.clear()
                    self.matched[key] = child
                return child
        return None

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """A request `match` accepted, its scope updated with what `match` returned."""
        return self.app(scope, receive, send)

    @staticmethod
    def _answer(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return scope["route"].handle(scope, receive, send)
