"""The ceiling: a raw ASGI app that answers every request with recorded bytes (bench only).

Served by the same server, with the same workers, as recoms in the same run: whatever recoms reaches is
quoted as a share of what this reaches. `RECOMS_BENCH_BODY` names the file holding the bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

BODY = Path(os.environ["RECOMS_BENCH_BODY"]).read_bytes()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # read the request body, as any real handler does
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
