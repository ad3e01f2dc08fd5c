"""`recoms demo`: a generated shop loaded through the users' own paths, trained, ready to query.

The feed goes through the feed reader, the events through the tracking service, exactly as a shop's
would. Running it again reuses the loaded shop and only issues a fresh API key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from recoms.services.accounts import create_account, create_key
from recoms.services.feeds import import_location
from recoms.services.platform import Platform, build_platform
from recoms.services.tracking import ingest
from recoms.settings import Settings
from recoms.store import bulk_load
from recoms.store.accounts import list_accounts
from recoms.training import snapshot
from recoms.training.train import train_account

DEMO_NAME = "Demo shop"
BATCH = 1000

# One data source per algorithm the seed names (and the peers offer); rules show what they can do.
DATASOURCES = [
    {"name": "Out of stock: similar items", "algorithm": "similar", "size": 8},
    {"name": "Potential purchase: also bought", "algorithm": "also_bought", "size": 8},
    {"name": "Cross-sell for the cart", "algorithm": "cross_sell", "size": 8},
    {"name": "Upsell", "algorithm": "upsell", "size": 8},
    {"name": "Personal", "algorithm": "personal", "size": 10},
    {"name": "Bestsellers", "algorithm": "bestsellers", "size": 10,
     "rules": [{"type": "diversity", "field": "category", "max": 3}]},
    {"name": "Bestsellers in a category", "algorithm": "bestsellers", "size": 10, "params": {"scope": "category"}},
    {"name": "Recently viewed", "algorithm": "recently_viewed", "size": 10},
    {"name": "New arrivals", "algorithm": "new_arrivals", "size": 10},
]


def _load_events(platform: Platform, account_id: int, site_id: str, path: Path) -> dict[str, int]:
    totals = {"accepted": 0, "rejected": 0}
    batch: list[Any] = []

    def flush() -> None:
        result = ingest(platform.engine, account_id, batch, "import", "web")
        totals["accepted"] += result.accepted
        totals["rejected"] += len(result.errors)
        batch.clear()
        with platform.engine.connect() as conn:  # PostgreSQL's statistics, as the server keeps them
            bulk_load.analyze_outgrown(conn)

    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                envelope = orjson.loads(line)
                envelope["GeneralInfo"]["siteId"] = site_id
                batch.append(envelope)
                if len(batch) >= BATCH:
                    flush()
    if batch:
        flush()
    return totals


def load_demo(settings: Settings, seed: int = 7, echo: Callable[[str], None] = print,
              sizes: dict[str, int] | None = None, ab_visitors: int = 600) -> dict[str, Any]:
    """`sizes` (n_products, n_contacts, n_events) makes a smaller shop than the default (tests)."""
    from recoms.demo_data import generate

    platform = build_platform(settings)
    engine = platform.engine
    with engine.connect() as conn:
        existing = next((a for a in list_accounts(conn) if a.name == DEMO_NAME), None)
    data_dir = settings.artifacts_path.parent / "demo"
    # Events end at today's midnight (UTC): the shop is recent, and the same on every day it is made,
    # so the README's sample ids hold.
    today = int(time.time() // 86_400) * 86_400_000
    shop = generate(data_dir, seed=seed, now_ms=today, **(sizes or {}))
    if existing is None:
        created = create_account(engine, DEMO_NAME, "extra")
        account_id, api_key, site_id = created["account_id"], created["api_key"], created["site_id"]
        echo(f"loading the demo shop into account {account_id} ...")
        report = import_location(engine, account_id, str(shop.feed_xml_path))
        echo(f"  feed: {report.items_ok} products ({report.items_bad} rejected)")
        totals = _load_events(platform, account_id, site_id, shop.events_path)
        echo(f"  events: {totals['accepted']} accepted, {totals['rejected']} rejected")
        available = {ds["algorithm"] for ds in DATASOURCES} & _algorithms()
        for body in DATASOURCES:
            if body["algorithm"] in available:
                platform.datasources.create(account_id, body)
    else:
        account_id, site_id = existing.id, existing.site_id
        api_key = create_key(engine, account_id, ["admin"], "demo")["api_key"]
        echo(f"the demo shop is already loaded (account {account_id}); a new API key was issued")
    if existing is None or snapshot.newest_version(settings.artifacts_path, account_id) is None:
        meta = train_account(engine, settings.artifacts_path, account_id, settings.training_window_days)
        echo(f"  trained on {meta['interactions']} interactions in {meta['seconds_total']} s")
    if existing is None:
        _simulate_experiment(platform, account_id, site_id, today, echo, ab_visitors)
    sources = platform.datasources.list(account_id)
    info = {"account_id": account_id, "api_key": api_key, "site_id": site_id,
            "datasources": {ds.algorithm + ("_category" if ds.params.get("scope") == "category" else ""): ds.id
                            for ds in sources},
            "samples": {"products": shop.sample_product_ids, "contact": shop.sample_contact}}
    info["instructions"] = instructions(info, settings)
    platform.close()
    return info


def _simulate_experiment(platform: Platform, account_id: int, site_id: str, today: int,
                         echo: Callable[[str], None], visitors: int) -> None:
    """Three weeks of an A/B experiment on the out-of-stock data source: the console's charts have content."""
    from recoms.demo_experiment import simulate

    ds_id = next((ds.id for ds in platform.datasources.list(account_id) if ds.algorithm == "similar"), None)
    if ds_id is None:
        return
    platform.serving.invalidate(account_id)
    counts = simulate(platform, account_id, site_id, ds_id, today, visitors=visitors)
    echo(f"  recommendation traffic: {counts['lists']} lists, {counts['impressions']} impressions, "
         f"{counts['clicks']} clicks, {counts['orders']} orders (A/B experiment on data source {ds_id})")


def _algorithms() -> set[str]:
    from recoms.domain.datasource import known_algorithms

    return known_algorithms()


def instructions(info: dict[str, Any], settings: Settings) -> str:
    base = f"http://{settings.host}:{settings.port}"
    key = info["api_key"]
    ds = info["datasources"]
    products = info["samples"]["products"]
    email = info["samples"]["contact"].get("email", "anna@example.com")
    lines = [
        "",
        f"Demo shop ready: account {info['account_id']}, site id {info['site_id']}",
        f"API key (shown once): {key}",
        "Data sources: " + ", ".join(f"{name}={ds_id}" for name, ds_id in sorted(ds.items())),
        "",
        "Try it (in another terminal):",
        f"  export KEY='{key}'",
        f"  TOKEN=$(curl -s -u \"shop:$KEY\" -H 'Content-Type: application/json' "
        f"-d '{{\"email\": \"{email}\"}}' {base}/api/v1/auth/contact/token "
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')",
    ]
    if "similar" in ds:
        lines.append(
            f"  curl -si -H \"ES-TOKEN: $TOKEN\" '{base}/api/v1/recoms/{ds['similar']}"
            f"?products={products.get('out_of_stock', '')}'"
        )
        lines.append("  # the response's ES-TOKEN header is the token for the next request")
    if "also_bought" in ds:
        lines.append(
            f"  curl -s -u \"shop:$KEY\" '{base}/api/v2/contacts/recoms/{ds['also_bought']}"
            f"?email={email}&products={products.get('in_cart', '')}'"
        )
    lines += [f"  open {base}/docs for the whole API", "",
              f"Console: {base}/console (sign in with the API key): data sources, previews, analytics, A/B tests",
              f"Demo storefront: {base}/demo/shop (served when RECOMS_DEMO_SHOP=true, as `make run` sets it)", ""]
    return "\n".join(lines)
