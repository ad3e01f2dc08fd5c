"""The demo storefront's server side (`/demo/shop`, on with RECOMS_DEMO_SHOP): what a shop's own server
does beside its pages — find its account and data sources, and get a contact token for the visitor's
`sc` cookie, as it would with its API key. Everything else happens in the browser, as on a real site."""

from __future__ import annotations

from dataclasses import dataclass

from recoms.demo import DEMO_NAME
from recoms.domain.accounts import Account
from recoms.domain.product import Product
from recoms.errors import BadRequest, NotFound
from recoms.services import experiments
from recoms.services.contacts import issue_token
from recoms.services.feeds import product as stored_product
from recoms.services.platform import Platform
from recoms.services.recoms import RecomsRequest
from recoms.store.accounts import list_accounts

BLOCKS = ("similar", "cross_sell", "personal", "bestsellers", "also_bought")


@dataclass(frozen=True)
class DemoShop:
    account: Account
    datasources: dict[str, int]  # algorithm -> the first data source using it


def find(platform: Platform) -> DemoShop:
    with platform.engine.connect() as conn:
        account = next((a for a in list_accounts(conn) if a.name == DEMO_NAME), None)
    if account is None:
        raise NotFound("the demo shop is not loaded: run `recoms demo` (or `make run`)")
    found: dict[str, int] = {}
    for ds in platform.datasources.list(account.id):
        if ds.algorithm in BLOCKS and ds.params.get("scope") != "category":
            found.setdefault(ds.algorithm, ds.id)
    return DemoShop(account, found)


def popular(platform: Platform, shop: DemoShop, size: int = 12) -> list[Product]:
    """The home page's grid: the shop's bestsellers, asked server-side (no contact)."""
    ds_id = shop.datasources.get("bestsellers")
    if ds_id is None:
        return []
    ds = platform.datasources.get(shop.account.id, ds_id)
    return experiments.serve_config(platform, shop.account, ds, None, RecomsRequest())[:size]


def product(platform: Platform, shop: DemoShop, product_id: str) -> Product:
    return stored_product(platform.engine, shop.account.id, product_id)


def token(platform: Platform, shop: DemoShop, cookie: str | None) -> str:
    """A single-use contact token for the visitor's tracker cookie (the shop's server, with its key)."""
    if not cookie:
        raise BadRequest("no sc cookie: the page's tracker sets it")
    return issue_token(platform.engine, platform.ctx.tokens, shop.account.id, {"cookie": cookie})
