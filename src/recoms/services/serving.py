"""Serving: per account, the newest snapshot's models bound to the live catalog, kept in memory.

Requests only read this state; a background thread swaps in new snapshots and catalog changes
(every `snapshot_poll_seconds`), so a request never waits on training or on a catalog reload.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from recoms.domain.datasource import DataSource
from recoms.domain.product import Product
from recoms.domain.rules import Filter
from recoms.errors import Unavailable
from recoms.recommenders import rules as rules_engine
from recoms.recommenders.base import Interactions, Query, Recommender
from recoms.recommenders.catalog import Catalog
from recoms.recommenders.registry import algorithm_names, get_algorithm
from recoms.services import answer_cache
from recoms.store import products
from recoms.store.db import checkpoint, checkpoint_in_background
from recoms.training import snapshot
from recoms.training.data import load_catalog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bound:
    """A data source bound to this account's models: what a request runs, resolved once."""

    model: Recommender | None
    fallbacks: tuple[Recommender, ...]
    uses_history: bool
    needs: str | None
    cacheable: bool = False  # its answers depend on nothing of the visitor (services/answer_cache)
    cacheable_without_history: bool = False  # so are those to visitors with no history yet
    cacheable_with_history: bool = False  # a contact's answers depend on their history alone

    @property
    def chain(self) -> tuple[Recommender, ...]:
        """Who answers, in turn: the model, then the fallbacks (alone when there is no model: not trained
        yet, or its plugin was uninstalled)."""
        return (self.model, *self.fallbacks) if self.model is not None else self.fallbacks


@dataclass
class AccountModels:
    version: str | None
    catalog: Catalog
    catalog_mark: tuple[int, int]
    models: dict[str, Recommender]
    views: dict[str, Recommender] = field(default_factory=dict)
    bound: dict[tuple[int, int], Bound] = field(default_factory=dict)

    def model(self, algorithm: str, params: dict[str, Any]) -> Recommender | None:
        """The fitted model of an algorithm under a data source's params (cached views)."""
        if algorithm == "custom":
            algorithm = params.get("plugin", "")
            params = {k: v for k, v in params.items() if k != "plugin"}
        key = algorithm + json.dumps(params, sort_keys=True)
        view = self.views.get(key)
        if view is None:
            base = self.models.get(algorithm)
            if base is None:
                return None
            view = self.views[key] = base.with_params(params)
        return view

    def bind(self, ds: DataSource) -> Bound:
        key = (ds.id, ds.updated_at)
        found = self.bound.get(key)
        if found is None:
            model = self.model(ds.algorithm, ds.params)
            fallbacks = tuple(m for m in (self.model(s.algorithm, s.params) for s in ds.fallback) if m is not None)
            history = any(m.uses_history for m in (model, *fallbacks) if m is not None)
            described = model or _untrained(ds)
            needs = described.required_context() if described is not None else None
            if len(self.bound) > 1000:
                self.bound.clear()
            found = Bound(model, fallbacks, history, needs)
            found = self.bound[key] = replace(
                found, cacheable=answer_cache.cacheable(found.chain, ds),
                cacheable_without_history=answer_cache.cacheable_without_history(found.chain, ds),
                cacheable_with_history=answer_cache.cacheable_with_history(found.chain, ds))
        return found


class ServingEngine:
    def __init__(self, engine: sa.Engine, artifacts: Path, poll_seconds: float = 2.0) -> None:
        self.engine = engine
        self.artifacts = artifacts
        self.poll_seconds = poll_seconds
        self._states: dict[int, AccountModels] = {}
        self._lock = threading.Lock()
        self._loading: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Accounts whose snapshot this code cannot read (written by another version): the jobs retrain them.
        self.unreadable: set[int] = set()

    # ---- state --------------------------------------------------------------------------------
    def state(self, account_id: int) -> AccountModels:
        """The account's models. Once `start()`ed (a server), a request never loads them: an account not
        loaded yet is loaded in the background and this request gets a 503 to retry in a second."""
        current = self._states.get(account_id)
        if current is not None:
            return current
        if self._thread is not None:
            self._load_later(account_id)
            raise Unavailable("recommendations for this shop are being loaded: try again in a second", 1)
        with self._lock:  # no server (a test, the CLI): load here
            if account_id not in self._states:
                self._states[account_id] = self._load(account_id)
            return self._states[account_id]

    def _load_later(self, account_id: int) -> None:
        with self._lock:
            if account_id in self._loading:
                return
            self._loading.add(account_id)

        def load() -> None:
            try:
                self._states[account_id] = self._load(account_id)
            except Exception:
                log.exception("loading account %s failed", account_id)
            finally:
                self._loading.discard(account_id)

        threading.Thread(target=load, name=f"serving-load-{account_id}", daemon=True).start()

    def preload(self) -> None:
        """Every account with a catalog, before the server takes requests (requests never load)."""
        with self.engine.connect() as conn:
            accounts = products.accounts_with_products(conn)
        for account_id in accounts:
            try:
                self._states[account_id] = self._load(account_id)
            except Exception:
                log.exception("loading account %s failed", account_id)

    def _load(self, account_id: int) -> AccountModels:
        version = snapshot.newest_version(self.artifacts, account_id)
        snap = snapshot.read(self.artifacts, account_id, version) if version else None
        order = snap.item_ids if snap else []
        with self.engine.connect() as conn:
            mark = products.catalog_version(conn, account_id)
            catalog = load_catalog(conn, account_id, order)
        models: dict[str, Recommender] = {}
        self.unreadable.discard(account_id)
        if snap is not None:
            for name, arrays in snap.arrays.items():
                try:
                    models[name] = get_algorithm(name)().load_state(arrays, catalog.items)
                except (KeyError, ValueError) as exc:  # another version's layout, or a plugin removed
                    log.warning("snapshot %s: cannot load %s: %s", version, name, exc)
                    self.unreadable.add(account_id)
        # What needs no training serves before the account's first snapshot (a new shop's recently viewed).
        for name in algorithm_names():
            cls = get_algorithm(name)
            if name not in models and not cls.learns:
                models[name] = cls().fit(Interactions.empty(0, catalog.n), catalog.items)
        return AccountModels(version, catalog, mark, models)

    def refresh(self) -> None:
        """Swap in newer snapshots and catalog changes for every account served so far."""
        for account_id, current in list(self._states.items()):
            try:
                newest = snapshot.newest_version(self.artifacts, account_id)
                with self.engine.connect() as conn:
                    mark = products.catalog_version(conn, account_id)
                if newest != current.version or mark != current.catalog_mark:
                    self._states[account_id] = self._load(account_id)
            except Exception:  # keep serving the old state; try again next round
                log.exception("refresh of account %s failed", account_id)

    def invalidate(self, account_id: int) -> None:
        self._states.pop(account_id, None)

    def start(self) -> None:
        if self._thread is None:
            self.preload()
            checkpoint_in_background(self.engine)
            self._thread = threading.Thread(target=self._run, name="serving-refresh", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()
            try:
                checkpoint(self.engine)
            except sa.exc.SQLAlchemyError:
                log.exception("WAL checkpoint failed")

    # ---- requests -----------------------------------------------------------------------------
    def pick(
        self, account_id: int, ds: DataSource, product_ids: Sequence[str], categories: Sequence[str],
        filters: Sequence[Filter] = (), history: tuple[list[str], np.ndarray, np.ndarray] | None = None,
        contact: dict[str, Any] | None = None,
    ) -> tuple[Catalog, list[int]]:
        """The data source's picks as indices into the catalog they were picked from, best first."""
        state = self.state(account_id)
        catalog = state.catalog
        query = Query(
            context=catalog.indices(product_ids),
            categories=catalog.category_codes(categories),
            now_ms=int(time.time() * 1000),
        )
        if history is not None:
            ids, kinds, ts = history
            idx = np.fromiter(map(catalog.index.get, ids, itertools.repeat(-1)), np.int32, len(ids))
            known = idx >= 0
            query.history_items, query.history_kinds, query.history_ts = idx[known], kinds[known], ts[known]
        bound = state.bind(ds)
        chain = bound.chain
        if not chain:
            return catalog, []
        picked = rules_engine.recommend(chain[0], chain[1:], catalog, query, ds.size, ds.rules, filters, contact)
        return catalog, picked

    def recommend_products(
        self, account_id: int, ds: DataSource, product_ids: Sequence[str], categories: Sequence[str],
        filters: Sequence[Filter] = (), history: tuple[list[str], np.ndarray, np.ndarray] | None = None,
        contact: dict[str, Any] | None = None,
    ) -> list[Product]:
        """The picks as products, for callers that answer in another shape (the mobile SDK, the console)."""
        catalog, picked = self.pick(account_id, ds, product_ids, categories, filters, history, contact)
        return [catalog.products[i] for i in picked]


def _untrained(ds: DataSource) -> Recommender | None:
    """An unfitted instance, to tell what a data source needs before the account's first training."""
    name = ds.params.get("plugin", "") if ds.algorithm == "custom" else ds.algorithm
    params = {k: v for k, v in ds.params.items() if k != "plugin"}
    try:
        return get_algorithm(name)(**params)
    except (KeyError, ValueError):
        return None
