"""The HTTP server recoms runs under: granian (Rust, HTTP/1.1), configured for hostile clients.

Chosen over uvicorn because it bounds what a client can make a worker hold: request heads larger than
`http_max_header_bytes` get a 431 before they are read whole, a head that does not arrive within
`http_header_timeout_seconds` (slowloris) and an idle keep-alive connection are closed after it. It is
also the faster and fairer of the two under load (bench/serve.py measures both).
"""

from __future__ import annotations

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server import Server

from recoms.settings import Settings

# A factory, so that each worker process builds its own app (settings from the environment).
TARGET = "recoms.api.app:create_app"


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    http1 = HTTP1Settings(
        header_read_timeout=int(settings.http_header_timeout_seconds * 1000),
        max_buffer_size=settings.http_max_header_bytes,
    )
    Server(
        TARGET, address=host, port=port, interface=Interfaces.ASGI, workers=workers, factory=True,
        http=HTTPModes.http1, http1_settings=http1, log_level=settings.log_level.lower(), log_access=False,
    ).serve()
