"""Test helpers for feed fetching: a local HTTP server with canned routes, and a fake resolver.

The server runs on a loopback address (127.0.0.1, or 127.0.0.2 playing a public host), records every
request it gets, and serves per path: bytes (200), `(status, body)`, `("redirect", location)`, or
`Drip(...)`, a body sent one byte at a time.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "TOP-SECRET-c0ffee internal admin token"


@dataclass
class Drip:
    """A 200 whose body comes one byte every `every` seconds, `count` bytes in all."""

    every: float = 0.5
    count: int = 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # dozens of imports connect at once


class FeedServer:
    def __init__(self, routes: dict[str, Any], host: str = "127.0.0.1", port: int = 0,
                 tls: ssl.SSLContext | None = None) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Host", "")))
                owner.serve(self)

        self.httpd = _Server((host, port), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str = "/feed.xml", host: str | None = None, scheme: str = "http") -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, _host in self.requests]

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        route = self.routes.get(handler.path.split("?")[0], (404, b"no such page"))
        try:
            if isinstance(route, Drip):
                handler.send_response(200)
                handler.send_header("Content-Type", "application/xml")
                handler.send_header("Content-Length", str(route.count))
                handler.end_headers()
                for _ in range(route.count):
                    handler.wfile.write(b"<")
                    handler.wfile.flush()
                    time.sleep(route.every)
                return
            if isinstance(route, tuple) and route[0] == "redirect":
                handler.send_response(302)
                handler.send_header("Location", route[1])
                handler.send_header("Content-Length", "0")
                handler.send_header("Connection", "close")  # the next hop needs a new connection
                handler.end_headers()
                return
            status, body = route if isinstance(route, tuple) else (200, route)
            body = body.encode() if isinstance(body, str) else body
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain" if status != 200 else "application/xml")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up: that is what several tests want

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeDNS:
    """Answers chosen names with chosen addresses (successive lookups take successive answers; the last
    one repeats); every other name goes to the real resolver."""

    def __init__(self, monkeypatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args: Any, **kwargs: Any):
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(name)
            queue = self.answers[name]
            ips = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (ip, int(port or 0), 0, 0) if ":" in ip else (ip, int(port or 0))) for ip in ips]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def add(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)
