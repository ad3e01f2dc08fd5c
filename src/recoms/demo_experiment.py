"""A few weeks of recommendation traffic for the demo shop, so the console's analytics have content: an
A/B experiment on the out-of-stock data source (A: the default price band, B: a wider one), lists served
and logged, impressions, clicks and orders — sent through the tracker's own path, as a site would send them.

B is made to do better (visitors click its lists more often), so the console shows a difference with its
confidence intervals. Everything is drawn from one `random.Random(seed)`.
"""

from __future__ import annotations

import random
from typing import Any

from recoms.domain import variants
from recoms.services import experiments
from recoms.services.contacts import resolve_contact
from recoms.services.platform import Platform
from recoms.services.recoms import RecomsRequest
from recoms.services.tracking import ingest

DAY_MS = 86_400_000
MINUTE_MS = 60_000
CLICK_CHANCE = {0: 0.22, 1: 0.34}  # a visitor clicks one product of the list (per variant)
BUY_CLICKED = 0.35  # and then buys it
BUY_SEEN = 0.015  # or buys a product they only saw, later
VARIANT_B = {"name": "Wider price band", "share": 50, "params": {"min_pct": 50, "max_pct": 160}}


def _envelope(name: str, payload: Any, sc: str, ts: int, site_id: str) -> dict[str, Any]:
    return {"GeneralInfo": {"eventName": name, "siteId": site_id, "datetime": ts, "cookies": {"sc": sc}}, name: payload}


def simulate(platform: Platform, account_id: int, site_id: str, ds_id: int, now_ms: int, days: int = 21,
             visitors: int = 600, seed: int = 7) -> dict[str, int]:
    """Play `visitors` visits over the `days` before `now_ms` on data source `ds_id` (which gets variant B)."""
    rng = random.Random(seed)
    ds = platform.datasources.get(account_id, ds_id)
    body = {**{k: v for k, v in ds.config_body().items() if v is not None}, "variants": [VARIANT_B]}
    ds = platform.datasources.replace(account_id, ds_id, body)
    account = platform.directory.account(account_id)
    catalog = platform.serving.state(account_id).catalog
    anchors = [p.id for p in catalog.products if not p.in_stock] or [p.id for p in catalog.products]
    start = now_ms - days * DAY_MS
    visits = sorted((start + rng.randrange(days * DAY_MS - DAY_MS // 2), f"ab-visitor-{n}", rng.choice(anchors))
                    for n in range(visitors))
    # First the product page views, so every visitor is a contact; then what the lists did.
    ingest(platform.engine, account_id, [_envelope("ProductPage", {"productKey": anchor, "isInStock": 0}, sc, ts,
                                                   site_id) for ts, sc, anchor in visits], "web", "web")
    log = platform.recommendation_log
    events: list[dict[str, Any]] = []
    counts = {"lists": 0, "impressions": 0, "clicks": 0, "orders": 0}
    for n, (ts, sc, anchor) in enumerate(visits):
        contact_id = resolve_contact(platform.engine, account_id, {"cookie": sc}, create=False)
        chosen = variants.choose(ds, contact_id)
        shown = [p.id for p in experiments.serve_config(platform, account, chosen.datasource, contact_id,
                                                        RecomsRequest(products=[anchor]))]
        if not shown:
            continue
        rid = log.record(account_id, ds_id, chosen.id, contact_id, shown, at_ms=ts + 1000)
        counts["lists"] += 1
        events.append(_envelope("ProductImpressions", {"recommendationId": rid, "Products": [
            {"product_id": pid, "container_type": "alternatives"} for pid in shown]}, sc, ts + 2000, site_id))
        counts["impressions"] += len(shown)
        bought = []
        if rng.random() < CLICK_CHANCE.get(chosen.id, 0.2):
            clicked = rng.choice(shown[:4])
            events.append(_envelope("ProductPage", {"productKey": clicked, "recommendationId": rid}, sc,
                                    ts + 40_000, site_id))
            counts["clicks"] += 1
            if rng.random() < BUY_CLICKED:
                bought.append(clicked)
        elif rng.random() < BUY_SEEN * len(shown):
            bought.append(rng.choice(shown))
        if bought:
            price = catalog.products[catalog.index[bought[0]]].price
            events.append(_envelope("PurchasedItems", {"OrderNumber": f"AB{100001 + n}", "Products": [
                {"product_id": bought[0], "unit_price": price, "quantity": 1}]}, sc,
                ts + rng.randrange(10, 3 * 24 * 60) * MINUTE_MS, site_id))
            counts["orders"] += 1
    events = [e for e in events if e["GeneralInfo"]["datetime"] < now_ms]
    for at in range(0, len(events), 1000):
        ingest(platform.engine, account_id, events[at:at + 1000], "web", "web")
    log.flush()
    return counts
