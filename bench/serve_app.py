"""The application as `recoms serve` runs it, plus `/_bench/static` returning recorded bytes (bench only)."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.responses import Response
from starlette.routing import Route

from recoms.api.app import create_app
from recoms.settings import get_settings

port, body_file = int(sys.argv[1]), Path(sys.argv[2])
app = create_app(get_settings())
cache: dict[str, bytes] = {}


async def static(_request) -> Response:
    body = cache.get("body")
    if body is None:
        body = cache["body"] = body_file.read_bytes() if body_file.exists() else b"[]"
    return Response(body, media_type="application/json")


app.router.routes.insert(0, Route("/_bench/static", static))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
