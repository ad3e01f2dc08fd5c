"""How well a data source's algorithm does on the shop's own held-out orders (from the newest snapshot)."""

from __future__ import annotations

from typing import Any

from recoms.services.platform import Platform
from recoms.training import quality, snapshot


def datasource_quality(platform: Platform, account_id: int, ds_id: int) -> dict[str, Any]:
    """The tuning report of the data source's algorithm, the params it serves and their held-out figures."""
    ds = platform.datasources.get(account_id, ds_id)  # NotFound (404) for another account's or no data source
    artifacts = platform.settings.artifacts_path
    version = snapshot.newest_version(artifacts, account_id)
    meta = snapshot.read_meta(artifacts, account_id, version) if version else None
    if meta is not None:
        meta.setdefault("version", version)
    return quality.for_datasource(meta, ds)
