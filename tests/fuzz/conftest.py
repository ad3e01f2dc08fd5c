"""The fuzzed server: one shop with a catalog, history, a trained snapshot and a data source of each
algorithm, so that generated requests reach real answers, not only 404s."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.python import asgi

from recoms.api.app import create_app
from recoms.services.accounts import create_key
from recoms.services.platform import Platform, build_platform
from tests.conftest import Shop, envelope, make_settings
from tests.feeds import gmc_xml

# Generated requests per operation in the fuzzing phase; the examples and coverage phases add theirs.
EXAMPLES = int(os.environ.get("RECOMS_FUZZ_EXAMPLES", "100"))
ONLY = os.environ.get("RECOMS_FUZZ_ONLY")  # a regex on "METHOD /path": fuzz only those operations
SEED = int(os.environ.get("RECOMS_FUZZ_SEED", "20261130"))
ALGORITHMS = ("similar", "cross_sell", "upsell", "also_bought", "personal", "bestsellers", "recently_viewed",
              "new_arrivals")
PRODUCTS = [{"id": f"P{i}", "price": 10.0 + i, "brand": ("Acme", "Volt")[i % 2],
             "category": ("Home > Kitchen", "Home > Garden", "Sport")[i % 3]} for i in range(1, 25)]


def config() -> schemathesis.Config:
    """Deterministic, bounded, no example database: the same requests on every CI run."""
    generation = {"max-examples": EXAMPLES, "deterministic": True, "database": "none", "mode": "all"}
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": generation,
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
                   "stateful": {"enabled": False}},
        "suppress-health-check": ["all"],
    })


class Fuzzed:
    """The shop the fuzz test calls as, and what it saw."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.app = create_app(platform=platform, background=False)
        self.client = TestClient(self.app)  # for the setup, as the other tests call the app
        self.session = asgi.get_client(self.app)  # for the fuzzed requests: schemathesis' in-process client
        self.shop = Shop(self.client, platform)
        self.mobile_key = create_key(platform.engine, self.shop.account_id, ["mobile"])["api_key"]
        self.requests = 0
        self.statuses: dict[int, int] = {}
        self.by_operation: dict[str, int] = {}
        self._seed_data()

    def _seed_data(self) -> None:
        shop = self.shop
        shop.feed(gmc_xml(PRODUCTS))
        events = []
        for visitor in range(12):
            viewed = [PRODUCTS[(visitor + k) % len(PRODUCTS)]["id"] for k in range(4)]
            events += [envelope("ProductPage", {"productKey": p, "price": 10, "isInStock": 1}, sc=f"v{visitor}")
                       for p in viewed]
            events.append(envelope("PurchasedItems", {"OrderNumber": f"O{visitor}", "Products": [
                {"product_id": p, "unit_price": 10, "quantity": 1} for p in viewed[:3]]}, sc=f"v{visitor}"))
        shop.events(events)
        shop.train()
        self.datasources = [shop.datasource(algorithm=a) for a in ALGORITHMS]
        self.contact_id = self.client.get("/api/v1/contacts", params={"cookie": "v1"}, headers=shop.auth).json()["id"]

    def token(self) -> str:
        r = self.session.post("/api/v1/auth/contact/token", json={"cookie": "v1"}, headers=self.shop.auth)
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def credentials(self, security: list[dict[str, Any]], n: int) -> dict[str, str]:
        """Valid credentials for the operation: a fresh single-use token for the ES-TOKEN route; where the
        app's key or the site id is accepted, it and the admin key by turns."""
        schemes = {name for alternative in security for name in alternative}
        if "esToken" in schemes:
            return {"ES-TOKEN": self.token()}
        if "retenoAccessKey" in schemes and n % 2:
            return {"X-Reteno-Access-Key": self.mobile_key}
        if "siteKey" in schemes and n % 2:
            return {"X-Site-Id": self.shop.site_id}
        return dict(self.shop.auth)

    def record(self, label: str, status: int) -> None:
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.by_operation[label] = self.by_operation.get(label, 0) + 1


@pytest.fixture(scope="session")
def fuzzed(backend, tmp_path_factory) -> Iterator[Fuzzed]:
    # Its own platform on the session's store: short feed downloads (generated URLs lead nowhere).
    settings = make_settings(backend, tmp_path_factory.mktemp("fuzz"), feed_fetch_timeout_seconds=2)
    platform = build_platform(settings)
    yield Fuzzed(platform)
    platform.close()

