"""kill -9 during ingestion, on SQLite and on PostgreSQL: no acknowledged event is lost, none is stored
twice after the clients' retries. A shop's server sends batches and a browser single events (each event
with its own id), each retried until it is acknowledged; meanwhile the server is killed and restarted,
again and again.

RECOMS_KILL_CYCLES sets the number of kills (CI runs a few; the issue's acceptance run used 20).
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from recoms.services.accounts import create_account
from recoms.store.db import make_engine
from recoms.store.tables import events, interactions
from tests.conftest import POSTGRES

CYCLES = int(os.environ.get("RECOMS_KILL_CYCLES", "3"))
BATCH = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database_url: str, tmp: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "RECOMS_DATABASE_URL": database_url, "RECOMS_ARTIFACTS_DIR": str(tmp),
                    "RECOMS_LOG_LEVEL": "error", "RECOMS_RATE_LIMIT_PER_KEY_PER_SECOND": "0",
                    "RECOMS_RATE_LIMIT_PER_SITE_PER_SECOND": "0", "RECOMS_JOBS": "false"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        recoms = Path(sys.executable).parent / "recoms"
        # Its own process group: kill -9 takes the server and its workers at once.
        self.proc = subprocess.Popen([str(recoms), "serve", "--port", str(self.port)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not come up")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def send_until_acknowledged(port: int, batch: list[dict] | dict, stop: threading.Event, key: str | None = None) -> dict:
    """Post until answered 200: with the shop's key to /api/v1/events, else as a browser to the tracker."""
    body = json.dumps(batch).encode()
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Basic " + base64.b64encode(f"shop:{key}".encode()).decode()
    path = "/api/v1/events" if key else "/api/v2/tracking"
    while not stop.is_set():
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return json.loads(r.read())
        except (OSError, urllib.error.HTTPError):  # killed mid-request, refused while down, a 503: retry
            time.sleep(0.05)
    raise AssertionError("stopped before the batch was acknowledged")


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_9_during_ingestion_loses_and_doubles_nothing(store, request, tmp_path):
    if store == "postgres" and not POSTGRES:
        pytest.skip("needs RECOMS_TEST_POSTGRES_URL")
    url = request.getfixturevalue("postgres_url") if store == "postgres" else f"sqlite:///{tmp_path}/kill.db"
    engine = make_engine(url)
    server = Server(url, tmp_path)
    server.start()  # migrates the schema before the account is created
    account = create_account(engine, "kill test")
    acknowledged: set[str] = set()
    stop, done = threading.Event(), threading.Event()

    def client() -> None:
        n = 0
        while not stop.is_set():
            batch = [{"GeneralInfo": {"eventName": "ProductPage", "eventId": f"b{n}-e{i}",
                                      "cookies": {"sc": f"visitor-{i % 7}"}},
                      "ProductPage": {"productKey": f"P{i}"}} for i in range(BATCH)]
            result = send_until_acknowledged(server.port, batch, stop, account["api_key"])
            assert result["accepted"] == BATCH and not result["errors"], result
            acknowledged.update(e["GeneralInfo"]["eventId"] for e in batch)
            n += 1
            if n >= CYCLES * 8 and done.is_set():
                return

    def browser() -> None:  # one event a request, as the tracker script sends them
        n = 0
        while not stop.is_set() and not (done.is_set() and n >= CYCLES * 8):
            event = {"GeneralInfo": {"eventName": "ProductPage", "eventId": f"s{n}", "siteId": account["site_id"],
                                     "cookies": {"sc": f"browser-{n % 5}"}}, "ProductPage": {"productKey": "P1"}}
            result = send_until_acknowledged(server.port, event, stop)
            assert result["accepted"] == 1 and not result["errors"], result
            acknowledged.add(f"s{n}")
            n += 1

    threads = [threading.Thread(target=client, daemon=True), threading.Thread(target=browser, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(CYCLES):
            time.sleep(random.uniform(0.2, 0.8))
            server.kill()
            server.start()
        done.set()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads), "a client did not finish"
    finally:
        stop.set()
        server.kill()
    with engine.connect() as conn:
        keys = conn.execute(sa.select(events.c.event_key).where(events.c.account_id == account["account_id"]))
        stored = [k.removeprefix("eventId:") for k in keys.scalars()]
        views = conn.execute(sa.select(sa.func.count()).select_from(interactions).where(
            interactions.c.account_id == account["account_id"])).scalar()
    print(f"kill -9 cycles: {CYCLES}; events acknowledged: {len(acknowledged)}; stored: {len(stored)} "
          f"({len(set(stored))} distinct); lost: {len(acknowledged - set(stored))}; views applied: {views}")
    assert len(acknowledged) >= CYCLES * 8 * (BATCH + 1)
    assert set(stored) >= acknowledged  # nothing acknowledged is lost
    assert len(stored) == len(set(stored))  # nothing is stored twice
    assert views == len(stored)  # and no effect was applied twice
    engine.dispose()
