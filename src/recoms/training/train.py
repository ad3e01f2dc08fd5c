"""Training: the store's events and catalog -> fitted recommenders -> one snapshot per account.

Every algorithm is first fitted with its defaults for the shop's regime (what an untuned snapshot
serves); then those with tunable params tune themselves on the shop's own held-out orders within
`tuning_factor` times that untuned training time (`tuning`), and the snapshot keeps the chosen params
as the models' defaults, with the held-out figures in its metadata. A data source's explicit params win:
learned ones are fitted as given, serving ones apply at request time over the chosen ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from recoms.domain.datasource import DataSource
from recoms.recommenders.base import Interactions, Items, Recommender
from recoms.recommenders.registry import algorithm_names, get_algorithm
from recoms.store import datasources as datasource_store
from recoms.store.accounts import list_accounts
from recoms.training import data as training_data
from recoms.training import regime as regimes
from recoms.training import snapshot, tuning

log = logging.getLogger(__name__)


def config_hash(names: list[str]) -> str:
    config = {name: get_algorithm(name).default_params for name in names}
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _explicit(sources: list[DataSource], name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(learned params the data sources of `name` set, fitted as given; each one's serving params by id)."""
    cls = get_algorithm(name)
    learned: dict[str, Any] = {}
    serving: dict[str, dict[str, Any]] = {}
    configs = [(str(ds.id), ds) for ds in sources]
    configs += [(f"{ds.id}/{v.id}", v.datasource) for ds in sources for v in ds.variants]
    for key, ds in configs:
        params = ds.params
        if ds.algorithm == "custom":
            if params.get("plugin") != name:
                continue
            params = {k: v for k, v in params.items() if k != "plugin"}
        elif ds.algorithm != name:
            continue
        for k, v in params.items():  # the first data source (lowest id) that sets a learned param wins
            if cls.tuning_space and k not in cls.serving_params:  # others declare no serving params
                learned.setdefault(k, v)
        serving[key] = {k: v for k, v in params.items() if k in cls.serving_params}
    return learned, serving


@dataclass
class Fitted:
    """Every algorithm fitted (and tuned) on one shop's data, with what it took."""

    models: dict[str, Recommender]
    regime: regimes.Regime
    quality: dict[str, Any]  # per tuned algorithm: its tuning report
    timings: dict[str, float]  # per algorithm: its untuned fit, seconds
    untuned_seconds: float
    tuning_seconds: float


def fit_models(interactions: Interactions, items: Items, sources: list[DataSource], tuning_factor: float,
               log_as: str = "") -> Fitted:
    """Each algorithm at its regime's defaults, then tuned within `tuning_factor` times that (module doc)."""
    started = time.perf_counter()
    regime = regimes.detect(interactions)
    names = algorithm_names()
    models: dict[str, Recommender] = {}
    timings: dict[str, float] = {}
    explicit = {name: _explicit(sources, name) for name in names}
    for name in names:  # untuned: each algorithm at its regime's defaults (and the data sources' learned params)
        t0 = time.perf_counter()
        cls = get_algorithm(name)
        models[name] = cls(**tuning.start_params(cls, regime, explicit[name][0])).fit(interactions, items)
        timings[name] = round(time.perf_counter() - t0, 3)
    untuned = time.perf_counter() - started
    # Slowest first (personal: its tuning gains the most, and a held-out refit of it must fit in its
    # share); what one leaves of its share goes to the next.
    tunable = sorted((name for name in names if get_algorithm(name).tuning_space), key=lambda n: -timings[n])
    budget = tuning.budget_for(tuning_factor, untuned)
    quality: dict[str, Any] = {}
    shared: dict[str, Any] = {}  # held-out splits the algorithms share (and, through them, fitted lists)
    tuning_started = time.perf_counter()
    for i, name in enumerate(tunable):
        left = budget - (time.perf_counter() - tuning_started)
        weight = timings[name] / max(sum(timings[n] for n in tunable[i:]), 1e-9)
        share = left * (0.5 / (len(tunable) - i) + 0.5 * weight)  # half even, half by fit time
        learned, serving = explicit[name]
        models[name], report = tuning.tune(
            get_algorithm(name), interactions, items, explicit=learned,
            budget=max(share, 0.0), regime=regime, variants=True, extra=serving, full=models[name],
            time_factor=tuning_factor, fit_seconds=timings[name], shared=shared,
        )
        quality[name] = report.to_json()
        log.info("tuned %s for %s: %s %s", name, log_as, report.status, report.chosen)
    return Fitted(models, regime, quality, timings, untuned, time.perf_counter() - tuning_started)


def train_account(engine: sa.Engine, artifacts: Path, account_id: int, window_days: int,
                  tuning_factor: float | None = None) -> dict[str, Any]:
    """Fit every algorithm for one account (tuned, see the module doc) and write its snapshot."""
    if tuning_factor is None:
        from recoms.settings import get_settings

        tuning_factor = get_settings().tuning_time_factor
    started = time.perf_counter()
    with engine.connect() as conn:
        data = training_data.load(conn, account_id, window_days)
        sources = datasource_store.list_for(conn, account_id)
    loaded = time.perf_counter()
    fitted = fit_models(data.interactions, data.catalog.items, sources, tuning_factor,
                        log_as=f"account {account_id}")
    models, regime, quality = fitted.models, fitted.regime, fitted.quality
    timings, untuned, tuned_seconds = fitted.timings, fitted.untuned_seconds, fitted.tuning_seconds
    names = list(models)
    meta = {
        "account_id": account_id,
        "config_hash": config_hash(names),
        "watermark": data.watermark,
        "items": data.catalog.n,
        "users": data.interactions.n_users,
        "interactions": len(data.interactions),
        "algorithms": names,
        "seconds": {"load": round(loaded - started, 3), **timings, "untuned": round(untuned, 3),
                    "tuning": round(tuned_seconds, 3)},
        "regime": regime.to_json(),
        "quality": quality,
    }
    arrays = {name: model.state() for name, model in models.items()}
    path = snapshot.write(artifacts, account_id, data.catalog.ids, arrays, meta)
    meta["path"] = str(path)
    meta["seconds_total"] = round(time.perf_counter() - started, 3)
    log.info("trained account %s: %s items, %s interactions in %.1fs (tuning %.1fs)", account_id, meta["items"],
             meta["interactions"], meta["seconds_total"], tuned_seconds)
    return meta


def train_all(engine: sa.Engine, artifacts: Path, window_days: int, account_id: int | None = None,
              tuning_factor: float | None = None) -> list[dict]:
    with engine.connect() as conn:
        ids = [a.id for a in list_accounts(conn)] if account_id is None else [account_id]
    return [train_account(engine, artifacts, i, window_days, tuning_factor) for i in ids]
