"""Floods get 429 when a rate limit is set; scheduled feed pulls run from the background jobs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from recoms.api.app import create_app
from recoms.services.accounts import create_account
from recoms.services.jobs import Jobs
from recoms.services.platform import build_platform
from recoms.store.accounts import update_account
from tests.conftest import envelope, make_settings
from tests.feeds import gmc_xml


def test_a_flood_on_the_tracking_endpoint_gets_429(tmp_path):
    platform = build_platform(make_settings(f"sqlite:///{tmp_path}/r.db", tmp_path, rate_limit_per_second=5))
    client = TestClient(create_app(platform=platform, background=False))
    site = create_account(platform.engine, "flood", "extra")["site_id"]
    event = envelope("MainPage", {}, siteId=site)
    statuses = [client.post("/api/v2/tracking", json=event).status_code for _ in range(30)]
    assert statuses[0] == 200 and 429 in statuses
    r = client.post("/api/v2/tracking", json=event)
    if r.status_code == 429:
        assert r.headers["content-type"] == "application/problem+json" and r.json()["status"] == 429
    assert client.get("/healthz").status_code == 200  # reads are not limited
    platform.close()


def test_the_scheduled_feed_is_pulled_by_the_jobs(tmp_path):
    platform = build_platform(make_settings(f"sqlite:///{tmp_path}/r.db", tmp_path, feed_pull_interval_seconds=60))
    account = create_account(platform.engine, "pull", "extra")["account_id"]
    feed = tmp_path / "feed.xml"
    feed.write_text(gmc_xml([{"id": "A"}, {"id": "B"}]))
    with platform.engine.begin() as conn:
        update_account(conn, account, feed_url=str(feed))
    Jobs(platform).tick()
    client = TestClient(create_app(platform=platform, background=False))
    from recoms.services.accounts import create_key
    from tests.conftest import basic

    key = create_key(platform.engine, account, ["catalog:write"])["api_key"]
    assert client.get("/api/v1/products/B", headers=basic(key)).status_code == 200
    platform.close()
