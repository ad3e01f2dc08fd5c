"""Shared fixtures: one contract suite over every storage backend.

SQLite always runs; PostgreSQL joins when RECOMS_TEST_POSTGRES_URL is set (a fresh database per test
session, dropped at the end). Tests isolate by creating their own accounts, as tenants do.
"""

from __future__ import annotations

import base64
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's threads do the work; nested BLAS threads thrash
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

warnings.filterwarnings("ignore", message=".*httpx2.*")

from fastapi.testclient import TestClient  # noqa: E402

from recoms.api.app import create_app  # noqa: E402
from recoms.services.accounts import create_account  # noqa: E402
from recoms.services.platform import Platform, build_platform  # noqa: E402
from recoms.settings import Settings  # noqa: E402
from recoms.store.db import normalise_url  # noqa: E402
from recoms.training.train import train_account  # noqa: E402

POSTGRES = os.environ.get("RECOMS_TEST_POSTGRES_URL")
REDIS = os.environ.get("RECOMS_TEST_REDIS_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES else [])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    if not POSTGRES:
        yield None
        return
    admin = sa.create_engine(normalise_url(POSTGRES), isolation_level="AUTOCOMMIT")
    name = f"recoms_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base, _, _db = POSTGRES.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
        ), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def make_settings(url: str, tmp: Path, **overrides: Any) -> Settings:
    # One test client is one address and a few keys firing thousands of requests, wrong keys among
    # them on purpose: the abuse limits are off here and tested on their own (tests/api/test_abuse.py).
    limits = {"auth_failures_per_minute": 0, "rate_limit_per_key_per_second": 0, "rate_limit_per_site_per_second": 0}
    return Settings(database_url=url, artifacts_dir=tmp / "artifacts", **{**limits, **overrides})


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory, postgres_url) -> str:
    if request.param == "postgres":
        return postgres_url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'recoms.db'}"


@pytest.fixture(scope="session")
def platform(backend, tmp_path_factory) -> Iterator[Platform]:
    p = build_platform(make_settings(backend, tmp_path_factory.mktemp("artifacts")))
    yield p
    p.close()


@pytest.fixture(scope="session")
def client(platform) -> TestClient:
    return TestClient(create_app(platform=platform, background=False))


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"shop:{key}".encode()).decode()}


class Shop:
    """One tenant of the test server, with the calls a shop makes."""

    def __init__(self, client: TestClient, platform: Platform, plan: str = "extra") -> None:
        self.client = client
        self.platform = platform
        created = create_account(platform.engine, f"shop-{uuid.uuid4().hex[:8]}", plan)
        self.account_id = created["account_id"]
        self.key = created["api_key"]
        self.site_id = created["site_id"]
        self.auth = basic(self.key)

    def feed(self, body: str | bytes, content_type: str = "application/xml", **params: str) -> Any:
        r = self.client.post("/api/v1/feeds", content=body, headers={**self.auth, "Content-Type": content_type},
                             params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def events(self, events: list[dict[str, Any]]) -> Any:
        r = self.client.post("/api/v1/events", json=events, headers=self.auth)
        assert r.status_code == 200, r.text
        return r.json()

    def token(self, **identifiers: str) -> str:
        r = self.client.post("/api/v1/auth/contact/token", json=identifiers or {"email": "a@example.com"},
                             headers=self.auth)
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def datasource(self, **body: Any) -> int:
        r = self.client.post("/api/v1/datasources", json={"name": "ds", **body}, headers=self.auth)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def train(self) -> None:
        s = self.platform.settings
        train_account(self.platform.engine, s.artifacts_path, self.account_id, s.training_window_days)
        self.platform.serving.invalidate(self.account_id)

    def recoms(self, ds_id: int, token: str | None = None, **params: Any):
        token = token or self.token()
        return self.client.get(f"/api/v1/recoms/{ds_id}", params=params, headers={"ES-TOKEN": token})

    def recommend_ids(self, ds_id: int, **params: Any) -> list[str]:
        r = self.recoms(ds_id, **params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()]


@pytest.fixture
def shop(client, platform) -> Shop:
    return Shop(client, platform)


@pytest.fixture
def make_shop(client, platform):
    return lambda plan="extra": Shop(client, platform, plan)


def envelope(event: str, payload: Any, sc: str = "visitor-1", ts: int | None = None, **info: Any) -> dict:
    general = {"eventName": event, "cookies": {"sc": sc}, **info}
    if ts is not None:
        general["datetime"] = ts
    return {"GeneralInfo": general, event: payload}
