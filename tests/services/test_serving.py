"""Serving swaps in newer snapshots and catalog changes without a restart; jobs train and pull feeds."""

from __future__ import annotations

import numpy as np

from recoms.services.jobs import Jobs
from recoms.training import snapshot
from tests.conftest import envelope
from tests.feeds import gmc_xml


def test_a_newer_snapshot_is_picked_up_without_a_restart(shop, platform):
    shop.feed(gmc_xml([{"id": p} for p in ("A", "B", "C")]))
    shop.events([envelope("PurchasedItems", {"OrderNumber": "1", "Products": [{"product_id": "A"}]})])
    shop.train()
    ds = shop.datasource(algorithm="bestsellers", size=3, fallback=[])
    assert shop.recommend_ids(ds) == ["A"]
    before = platform.serving.state(shop.account_id).version
    shop.events([envelope("PurchasedItems", {"OrderNumber": str(i), "Products": [{"product_id": "B"}]},
                          sc=f"v{i}") for i in range(2, 5)])
    from recoms.training.train import train_account

    s = platform.settings
    train_account(platform.engine, s.artifacts_path, shop.account_id, s.training_window_days)
    assert shop.recommend_ids(ds) == ["A"]  # not yet: the refresh has not run
    platform.serving.refresh()
    assert platform.serving.state(shop.account_id).version != before
    assert shop.recommend_ids(ds) == ["B", "A"]


def test_catalog_changes_reach_serving_at_the_next_refresh(shop, platform):
    shop.feed(gmc_xml([{"id": p} for p in ("A", "B")]))
    shop.events([envelope("PurchasedItems", {"OrderNumber": "1", "Products": [{"product_id": "A"},
                                                                              {"product_id": "B"}]})])
    shop.train()
    ds = shop.datasource(algorithm="bestsellers", size=3, fallback=[])
    assert shop.recommend_ids(ds) == ["A", "B"]
    shop.events([envelope("ProductPage", {"productKey": "A", "isInStock": 0})])  # A sold out
    platform.serving.refresh()
    assert shop.recommend_ids(ds) == ["B"]


def test_jobs_train_accounts_that_were_never_trained(shop, platform):
    shop.feed(gmc_xml([{"id": "A"}]))
    assert snapshot.newest_version(platform.settings.artifacts_path, shop.account_id) is None
    Jobs(platform).tick()
    assert snapshot.newest_version(platform.settings.artifacts_path, shop.account_id) is not None


def test_snapshots_are_plain_arrays_with_metadata(shop, platform):
    shop.feed(gmc_xml([{"id": "A"}, {"id": "B"}]))
    shop.train()
    s = platform.settings
    version = snapshot.newest_version(s.artifacts_path, shop.account_id)
    snap = snapshot.read(s.artifacts_path, shop.account_id, version)  # np.load(allow_pickle=False)
    assert snap.item_ids == ["A", "B"]
    assert {"version", "config_hash", "watermark", "algorithms"} <= set(snap.meta)
    assert {"bestsellers", "similar", "also_bought", "personal", "recently_viewed"} <= set(snap.arrays)


def test_a_snapshot_this_code_cannot_read_is_retrained_by_the_jobs(shop, platform):
    shop.feed(gmc_xml([{"id": "A"}]))
    s = platform.settings
    arrays = {"also_bought": {"unexpected": np.zeros(1)}}
    snapshot.write(s.artifacts_path, shop.account_id, ["A"], arrays, {"config_hash": "old"})
    platform.serving.invalidate(shop.account_id)
    platform.serving.state(shop.account_id)
    assert shop.account_id in platform.serving.unreadable
    Jobs(platform).tick()
    platform.serving.refresh()
    assert shop.account_id not in platform.serving.unreadable
    assert "also_bought" in platform.serving.state(shop.account_id).models
