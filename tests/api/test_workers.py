"""`recoms serve --workers N`: every worker serves, and the background jobs run once, in one process of
their own (not once per worker: N workers must not train the same shop N times)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recoms.api.app import create_app
from recoms.services.platform import build_platform
from recoms.training import snapshot
from tests.api.test_server import free_port
from tests.conftest import Shop, envelope, make_settings


def children_of(pid: int) -> dict[int, str]:
    """Every live descendant of `pid`: its command line (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                try:
                    found[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                frontier.append(child)
    return found


def running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until_up(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"recoms serve did not start: {proc.stderr.read().decode()[-2000:]}")


@pytest.fixture
def shop_db(tmp_path) -> tuple[str, Path, int, str]:
    """A shop with products and activity, never trained, in an SQLite file the server will open."""
    url = f"sqlite:///{tmp_path / 'recoms.db'}"
    platform = build_platform(make_settings(url, tmp_path))
    shop = Shop(TestClient(create_app(platform=platform, background=False)), platform)
    shop.client.post("/api/v2/tracking", headers=shop.auth, json=[
        envelope("PurchasedItems", {"OrderNumber": f"o{c}", "Products": [
            {"productKey": f"P{(c + i) % 12}", "price": "10", "quantity": 1} for i in range(3)]}, sc=f"v{c}")
        for c in range(30)]).raise_for_status()
    platform.engine.dispose()
    return url, tmp_path / "artifacts", shop.account_id, shop.key


def test_two_workers_serve_and_the_jobs_run_once(shop_db):
    url, artifacts, account_id, _key = shop_db
    port = free_port()
    env = {**os.environ, "RECOMS_DATABASE_URL": url, "RECOMS_ARTIFACTS_DIR": str(artifacts),
           "RECOMS_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "recoms"), "serve", "--workers", "2", "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(proc, port)
        deadline = time.monotonic() + 60
        while snapshot.newest_version(artifacts, account_id) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert snapshot.newest_version(artifacts, account_id) is not None, "the shop was never trained"
        time.sleep(3)  # time for a second, duplicate training to show up
        trained = list(snapshot.account_dir(artifacts, account_id).glob("*.json"))
        assert len(trained) == 1, f"the shop was trained {len(trained)} times"

        children = children_of(proc.pid)
        roles = list(children.values())
        assert sum("-m recoms jobs" in role for role in roles) == 1, roles
        assert len(children) >= 3, roles  # the jobs process and two HTTP workers

        for _ in range(30):  # each connection may land on either worker: all of them serve, none runs jobs
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                assert json.loads(r.read())["status"] == "ready"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                assert "recoms_background_jobs_running 0.0" in r.read().decode()
    finally:
        proc.terminate()
        proc.wait(30)
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in children if running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive, f"outlived recoms serve: {[children[pid] for pid in alive]}"
