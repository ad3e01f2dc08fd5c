"""Data-source management (SPEC §5) and the cached lookup the recoms path uses."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from recoms.domain.datasource import DataSource, DataSourceError, build
from recoms.errors import Invalid, NotFound
from recoms.store import datasources as store

CACHE_SECONDS = 2.0  # other replicas see an edit within this


def _build(ds_id: int, account_id: int, body: Any) -> DataSource:
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    try:
        return build(ds_id, account_id, body)
    except DataSourceError as exc:
        raise Invalid(str(exc), [{"field": exc.where, "reason": exc.message}]) from None


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
        ds = _build(ds_id, account_id, body)
        with self.engine.begin() as conn:
            if not store.update(conn, ds):
                raise NotFound(f"data source {ds_id} does not exist")
            saved = store.get(conn, account_id, ds_id)
        self._cache.pop((account_id, ds_id), None)
        return saved

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
