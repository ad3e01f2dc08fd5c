"""What the storefront tests run on: recoms served live, a static "shop" on another origin, Debian's
Chromium driven by Playwright, and the integrations' own scripts read from mirrors at test time.

The integrations' code is public but not ours: it is never copied into this repository, only read from a
bare git mirror (`$RECOMS_COMPAT_MIRRORS/<owner>+<repo>/repo`, default /work/.mirror).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from recoms.api.app import create_app
from recoms.services.platform import Platform

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
MIRRORS = Path(os.environ.get("RECOMS_COMPAT_MIRRORS", "/work/.mirror"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0,
             sleep: Callable[[float], None] = time.sleep) -> Any:
    """Poll until `check()` returns something truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        sleep(0.05)


@contextmanager
def live_recoms(platform: Platform) -> Iterator[str]:
    """recoms on 127.0.0.1:<free port> in a thread (uvicorn skips signal handlers off the main thread)."""
    port = free_port()
    config = uvicorn.Config(create_app(platform=platform, background=False), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="recoms-live", daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the live recoms server to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StaticShop:
    """The shop's own web server: pages by path, and a record of what the page posted back to it."""

    url: str = ""
    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    posts: list[Posted] = field(default_factory=list)

    def page(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> str:
        self.pages[path] = (body.encode() if isinstance(body, str) else body, content_type)
        return self.url + path

    def posted(self, path: str) -> list[Posted]:
        return [p for p in self.posts if p.path.split("?")[0] == path]


# What the shop's backends answer the integrations' scripts (Shopify's /cart/update.js returns the cart).
POST_ANSWERS = {"/cart/update.js": {"token": "c1a2b3c4d5?key=k1"}}


@contextmanager
def static_shop() -> Iterator[StaticShop]:
    """A shop on http://localhost:<port>: a different origin from recoms' http://127.0.0.1:<port>."""
    shop = StaticShop()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):  # the browser went on (a favicon)
                self.wfile.write(body)

        def do_GET(self) -> None:
            found = shop.pages.get(self.path.split("?")[0])
            if found:
                self._answer(200, *found)
            else:
                self._answer(204 if self.path == "/favicon.ico" else 404)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            shop.posts.append(Posted(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = POST_ANSWERS.get(self.path.split("?")[0], {"success": True, "data": {}})
            self._answer(200, json.dumps(answer).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    shop.url = f"http://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="static-shop", daemon=True)
    thread.start()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """One browser context (one visitor) and what its pages did."""

    context: Any
    tracking_url: str
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def open(self, url: str) -> Any:
        page = self.context.new_page()
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}: {r.failure}"))
        page.on("request", self._request)
        page.on("response", lambda r: self.responses.append(r) if r.url.startswith(self.tracking_url) else None)
        page.goto(url, wait_until="load")
        return page

    def wait_for(self, check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """`wait_for` that lets Playwright deliver the page's events meanwhile (its sync API only does
        that inside its own calls)."""
        return wait_for(check, what, timeout, self._sleep)

    def _sleep(self, seconds: float) -> None:
        pages = self.context.pages
        if pages:
            pages[0].wait_for_timeout(seconds * 1000)
        else:
            time.sleep(seconds)

    def _request(self, request: Any) -> None:
        if request.url.startswith(self.tracking_url) and request.method == "POST":
            self.sent.append(json.loads(request.post_data))

    def sc(self) -> str:
        cookies = {c["name"]: c["value"] for c in self.context.cookies()}
        return cookies.get("sc", "")

    def events(self, name: str) -> list[dict]:
        return [e for e in self.sent if e["GeneralInfo"]["eventName"] == name]

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and failed requests: a clean page has none."""
        return [f"console: {text}" for kind, text in self.console if kind == "error"] + self.errors + self.failed


def mirror_file(repo: str, path: str) -> bytes:
    """A file of an integration's repository, read from its mirror (skips the test when there is none)."""
    git_dir = MIRRORS / repo.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        pytest.skip(f"no mirror of {repo} at {git_dir} (set RECOMS_COMPAT_MIRRORS to where the mirrors are)")
    out = subprocess.run(["git", "-c", "safe.directory=*", f"--git-dir={git_dir}", "show", f"HEAD:{path}"],
                         capture_output=True, timeout=30)
    if out.returncode != 0:
        pytest.skip(f"{path} is not in the mirror of {repo}: {out.stderr.decode(errors='replace').strip()}")
    return out.stdout
