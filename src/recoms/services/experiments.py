"""Serving a data source's A/B variant outside the hot path (the mobile SDK's route, the console's
preview): the same checks, history and rules as `Recommendations`, with the chosen configuration."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from recoms.domain import variants
from recoms.domain.accounts import Account
from recoms.domain.datasource import DataSource
from recoms.domain.product import Product
from recoms.domain.variants import Variant
from recoms.services.accounts import require_recommendations
from recoms.services.platform import Platform
from recoms.services.recoms import RecomsRequest


def serve_config(platform: Platform, account: Account, ds: DataSource, contact_id: int | None,
                 req: RecomsRequest) -> list[Product]:
    """The products one configuration answers (plan, context, history and rules as on the hot path)."""
    return platform.recommendations.serve_products(account, ds.id, contact_id, req, config=ds)


def serve_products(platform: Platform, account: Account, ds_id: int, contact_id: int | None,
                   req: RecomsRequest) -> tuple[Variant, list[Product]]:
    """The contact's variant of a data source and its products."""
    require_recommendations(account)
    variant = variants.choose(platform.datasources.cached(account.id, ds_id), contact_id)
    return variant, serve_config(platform, account, variant.datasource, contact_id, req)


def unsaved(ds: DataSource) -> DataSource:
    """An unsaved configuration (a preview) with a serving key of its own: serving caches what it
    resolves per (id, updated_at), and two previews of different configurations must not share it."""
    digest = hashlib.blake2b(json.dumps(ds.to_json(), sort_keys=True, default=str).encode(), digest_size=7).digest()
    return replace(ds, updated_at=-int.from_bytes(digest, "big") - 1)
