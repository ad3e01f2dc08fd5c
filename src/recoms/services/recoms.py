"""The recommendation use case (SPEC §2): parse the request, check plan and data source, score.

Shared by the token endpoint (`/api/v1/recoms`) and the server-to-server one (`/api/v2/contacts/recoms`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from recoms.domain.accounts import Account
from recoms.domain.datasource import DataSource
from recoms.domain.product import Product
from recoms.domain.rules import Conditional, ContactFieldRule, Filter, Rule, RuleError, parse_filters
from recoms.errors import BadRequest
from recoms.services.accounts import require_recommendations
from recoms.services.datasources import DataSources
from recoms.services.serving import ServingEngine
from recoms.store import activity, contacts

MAX_CONTEXT = 200
HISTORY_LIMIT = 200


@dataclass
class RecomsRequest:
    products: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    filters: tuple[Filter, ...] = ()


def _split(values: Iterable[str]) -> list[str]:
    out = [part.strip() for value in values for part in value.split(",")]
    return [v for v in out if v]


def parse_query(params: Mapping[str, Any]) -> RecomsRequest:
    """GET form: `products=a&products=b` or `products=a,b`; `category`/`categories`; `filter.<mode>.<field>=v`."""
    getlist = params.getlist  # starlette QueryParams
    products = _split(getlist("products"))
    categories = _split([*getlist("category"), *getlist("categories")])
    raw_filters = []
    for key in params:
        if key.startswith("filter."):
            _, _, rest = key.partition(".")
            mode, _, name = rest.partition(".")
            raw_filters.append({"name": name, "values": _split(getlist(key)), "mode": mode})
    return _finish(products, categories, raw_filters)


def parse_body(body: Any) -> RecomsRequest:
    """POST form: `{"products": [...], "category": [...], "filters": [{name, values, mode}]}`."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    lists = {}
    for name in ("products", "category", "categories"):
        value = body.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise BadRequest(f"{name} must be an array of strings")
        lists[name] = [str(v) for v in value]
    return _finish(_split(lists["products"]), _split(lists["category"] + lists["categories"]), body.get("filters"))


def _finish(products: list[str], categories: list[str], raw_filters: Any) -> RecomsRequest:
    if len(products) > MAX_CONTEXT or len(categories) > MAX_CONTEXT:
        raise BadRequest(f"at most {MAX_CONTEXT} products and {MAX_CONTEXT} categories per request")
    try:
        filters = parse_filters(raw_filters)
    except RuleError as exc:
        raise BadRequest(str(exc), [{"field": exc.where, "reason": exc.message}]) from None
    return RecomsRequest(products, categories, filters)


def _has_contact_rules(rules: Iterable[Rule]) -> bool:
    return any(
        isinstance(r, ContactFieldRule) or (isinstance(r, Conditional) and _has_contact_rules(r.then)) for r in rules
    )


class Recommendations:
    def __init__(self, engine: sa.Engine, datasources: DataSources, serving: ServingEngine) -> None:
        self.engine = engine
        self.datasources = datasources
        self.serving = serving

    def serve(self, account: Account, ds_id: int, contact_id: int | None, req: RecomsRequest) -> list[bytes]:
        ds, history, contact = self._prepare(account, ds_id, contact_id, req)
        return self.serving.recommend(
            account.id, ds, req.products, req.categories, req.filters, history, contact
        )

    def serve_products(
        self, account: Account, ds_id: int, contact_id: int | None, req: RecomsRequest
    ) -> list[Product]:
        """The same answer as `serve`, as products (for the mobile SDK's own response shape)."""
        ds, history, contact = self._prepare(account, ds_id, contact_id, req)
        return self.serving.recommend_products(
            account.id, ds, req.products, req.categories, req.filters, history, contact
        )

    def _prepare(
        self, account: Account, ds_id: int, contact_id: int | None, req: RecomsRequest
    ) -> tuple[DataSource, Any, dict[str, Any] | None]:
        """Plan, data source and context checks; the contact's history and attributes when they are used."""
        require_recommendations(account)
        ds = self.datasources.cached(account.id, ds_id)
        bound = self.serving.state(account.id).bind(ds)
        if bound.needs == "products" and not req.products:
            raise BadRequest(f"data source {ds_id} ({ds.algorithm}) needs products: pass ?products=<id>")
        if bound.needs == "category" and not req.categories:
            raise BadRequest(f"data source {ds_id} ({ds.algorithm}) needs a category: pass ?category=<name>")
        history = None
        contact = None
        contact_rules = _has_contact_rules(ds.rules)
        if contact_id is not None and bound.uses_history:
            history = activity.contact_history(self.engine, account.id, contact_id, HISTORY_LIMIT)
        if contact_id is not None and contact_rules:
            with self.engine.connect() as conn:
                found = contacts.get_contact(conn, account.id, contact_id)
                contact = found["attributes"] if found else None
        return ds, history, contact
