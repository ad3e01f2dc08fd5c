"""Routes FastAPI documents but does not serve: the hot paths answer without its per-request machinery.

A `LeanRoute` is declared like any route (summary, parameters, body, answers, the API-key scope through
`dependencies=[scope(...)]`), so the OpenAPI document and the 405s are FastAPI's; its endpoint takes the
Request and answers it itself: no dependency injection, no parameter or body models, no per-route exit
stacks (on a one-event tracking request or a cached recommendation those cost as much as the work).
Errors are answered as everywhere: a RecomsError as problem+json here, anything else by the app's handlers.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from recoms.api.problems import from_error
from recoms.errors import RecomsError


class LeanRoute(APIRoute):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in self.methods:
            return await super().handle(scope, receive, send)
        try:
            response = await self.endpoint(Request(scope, receive, send))
        except RecomsError as exc:
            response = from_error(exc)
        await response(scope, receive, send)
