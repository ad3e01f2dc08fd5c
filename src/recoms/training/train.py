"""Training: the store's events and catalog -> fitted recommenders -> one snapshot per account."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from recoms.recommenders.registry import algorithm_names, get_algorithm
from recoms.store.accounts import list_accounts
from recoms.training import data as training_data
from recoms.training import snapshot

log = logging.getLogger(__name__)


def config_hash(names: list[str]) -> str:
    config = {name: get_algorithm(name).default_params for name in names}
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train_account(engine: sa.Engine, artifacts: Path, account_id: int, window_days: int) -> dict[str, Any]:
    started = time.perf_counter()
    with engine.connect() as conn:
        data = training_data.load(conn, account_id, window_days)
    loaded = time.perf_counter()
    names = algorithm_names()
    arrays = {}
    timings = {}
    for name in names:
        t0 = time.perf_counter()
        model = get_algorithm(name)().fit(data.interactions, data.catalog.items)
        arrays[name] = model.state()
        timings[name] = round(time.perf_counter() - t0, 3)
    meta = {
        "account_id": account_id,
        "config_hash": config_hash(names),
        "watermark": data.watermark,
        "items": data.catalog.n,
        "users": data.interactions.n_users,
        "interactions": len(data.interactions),
        "algorithms": names,
        "seconds": {"load": round(loaded - started, 3), **timings},
    }
    path = snapshot.write(artifacts, account_id, data.catalog.ids, arrays, meta)
    meta["path"] = str(path)
    meta["seconds_total"] = round(time.perf_counter() - started, 3)
    log.info("trained account %s: %s items, %s interactions in %.1fs", account_id, meta["items"],
             meta["interactions"], meta["seconds_total"])
    return meta


def train_all(engine: sa.Engine, artifacts: Path, window_days: int, account_id: int | None = None) -> list[dict]:
    with engine.connect() as conn:
        ids = [a.id for a in list_accounts(conn)] if account_id is None else [account_id]
    return [train_account(engine, artifacts, i, window_days) for i in ids]
