"""Data-source management (SPEC §5) and the cached lookup the recoms path uses."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from recoms.domain import variants
from recoms.domain.datasource import DataSource, DataSourceError, build
from recoms.errors import Invalid, NotFound
from recoms.store import datasources as store
from recoms.store import experiments
from recoms.store.db import now_ms

CACHE_SECONDS = 2.0  # other replicas see an edit within this


def _build(ds_id: int, account_id: int, body: Any, started: int | None = None, seq: int = 0) -> DataSource:
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    try:
        ds = build(ds_id, account_id, body, experiment_started_at=started, variant_seq=seq)
    except DataSourceError as exc:
        raise Invalid(str(exc), [{"field": exc.where, "reason": exc.message}]) from None
    if ds.variants and started is None:  # an experiment starts: contacts are shuffled afresh
        ds = build(ds_id, account_id, body, experiment_started_at=now_ms(), variant_seq=seq)
    elif not ds.variants and started is not None:
        ds = replace(ds, experiment_started_at=None)
    return ds


def check(account_id: int, body: Any) -> DataSource:
    """A body validated as a data source, not saved (the console's preview of an edit)."""
    return _build(0, account_id, body)


class DataSources:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._cache: dict[tuple[int, int], tuple[float, DataSource | None]] = {}

    def create(self, account_id: int, body: Any) -> DataSource:
        ds = _build(0, account_id, body)
        with self.engine.begin() as conn:
            new_id = store.insert(conn, ds)
            return store.get(conn, account_id, new_id)

    def replace(self, account_id: int, ds_id: int, body: Any) -> DataSource:
        _build(ds_id, account_id, body)  # a bad body is a 422 whether the data source exists or not
        with self.engine.begin() as conn:
            found = store.variant_seq(conn, account_id, ds_id)
            if found is None:
                raise NotFound(f"data source {ds_id} does not exist")
            seq, started = found
            ds = _build(ds_id, account_id, body, started, seq)
            store.update(conn, ds)
            saved = store.get(conn, account_id, ds_id)
        self._cache.pop((account_id, ds_id), None)
        return saved

    def end_experiment(self, account_id: int, ds_id: int, winner: Any) -> DataSource:
        """Promote one variant: its configuration becomes the data source's, the challengers go, and the
        experiment is kept in the history with every arm's configuration."""
        if isinstance(winner, bool) or not isinstance(winner, int):
            raise Invalid("winner must be a variant id (0: the control)",
                          [{"field": "winner", "reason": "must be an integer"}])
        with self.engine.begin() as conn:
            ds = store.get(conn, account_id, ds_id)
            if ds is None:
                raise NotFound(f"data source {ds_id} does not exist")
            if not ds.variants:
                raise Invalid(f"data source {ds_id} runs no experiment", [{"field": "winner", "reason": "no variants"}])
            chosen = variants.by_id(ds, winner)
            if chosen is None:
                ids = ", ".join(str(v.id) for v in variants.arms(ds))
                raise NotFound(f"data source {ds_id} has no variant {winner} (its variants: {ids})")
            experiments.insert(conn, account_id, ds_id, ds.experiment_started_at or ds.updated_at, winner,
                               [{**v.datasource.config_body(), "id": v.id, "name": v.name, "share": v.share}
                                for v in variants.arms(ds)])
            promoted = build(ds_id, account_id, {**chosen.datasource.config_body(), "name": ds.name},
                             stored=True, variant_seq=ds.variant_seq)
            store.update(conn, promoted)
            saved = store.get(conn, account_id, ds_id)
        self._cache.pop((account_id, ds_id), None)
        return saved

    def experiments(self, account_id: int, ds_id: int) -> list[dict[str, Any]]:
        """The data source's ended experiments, newest first."""
        self.get(account_id, ds_id)
        with self.engine.connect() as conn:
            return experiments.list_for(conn, account_id, ds_id)

    def delete(self, account_id: int, ds_id: int) -> None:
        with self.engine.begin() as conn:
            if not store.delete(conn, account_id, ds_id):
                raise NotFound(f"data source {ds_id} does not exist")
        self._cache.pop((account_id, ds_id), None)

    def list(self, account_id: int) -> list[DataSource]:
        with self.engine.connect() as conn:
            return store.list_for(conn, account_id)

    def get(self, account_id: int, ds_id: int) -> DataSource:
        with self.engine.connect() as conn:
            ds = store.get(conn, account_id, ds_id)
        if ds is None:
            raise NotFound(f"data source {ds_id} does not exist")
        return ds

    def cached(self, account_id: int, ds_id: int) -> DataSource:
        """For the hot path: at most one read per data source every CACHE_SECONDS."""
        key = (account_id, ds_id)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is None or now - hit[0] > CACHE_SECONDS:
            with self.engine.connect() as conn:
                hit = (now, store.get(conn, account_id, ds_id))
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = hit
        if hit[1] is None:
            raise NotFound(f"data source {ds_id} does not exist")
        return hit[1]
