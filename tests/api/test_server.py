"""`recoms serve` bounds what one client can make it hold: a huge request head, a head that trickles in
(slowloris), an idle keep-alive connection, a body that trickles in. Run against the real server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {**os.environ, "RECOMS_DATABASE_URL": f"sqlite:///{tmp / 'recoms.db'}", "RECOMS_LOG_LEVEL": "warning",
           "RECOMS_HTTP_HEADER_TIMEOUT_SECONDS": "1.5", "RECOMS_BODY_TIMEOUT_SECONDS": "1.5",
           "RECOMS_HTTP_MAX_HEADER_BYTES": "16384"}
    recoms = Path(sys.executable).parent / "recoms"  # the console script beside this Python
    proc = subprocess.Popen([str(recoms), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"recoms serve did not start: {proc.stderr.read().decode()[-2000:]}")
    yield port
    proc.terminate()
    proc.wait(10)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    return s


def closed_after(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started, data = time.monotonic(), b""
    while chunk := sock.recv(4096):
        data += chunk
    return data, time.monotonic() - started


def test_a_huge_request_head_is_refused_before_it_is_read(server):
    with connect(server) as s:
        with contextlib.suppress(OSError):  # the server may close while the rest is still being sent
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (4 << 20) + b"\r\n\r\n")
        data, _ = closed_after(s)
    assert data.startswith(b"HTTP/1.1 431")


def test_a_trickling_head_and_an_idle_connection_are_closed(server):
    with connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # and never the end of the head
        data, waited = closed_after(s)
    assert data == b"" and waited < 5
    with connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        first = s.recv(4096)
        data, waited = closed_after(s)  # then nothing: an idle keep-alive connection
    assert first.startswith(b"HTTP/1.1 200") and waited < 5


def test_a_trickling_body_gets_a_408(server):
    with connect(server) as s:
        s.sendall(b"POST /api/v2/tracking HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{")
        data, waited = closed_after(s)
    assert data.startswith(b"HTTP/1.1 408") and b"application/problem+json" in data and waited < 5
