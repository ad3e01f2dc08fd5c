"""The demo storefront at /demo/shop (RECOMS_DEMO_SHOP, on with `make run`): a home page with personal
picks, product pages with alternatives, a cart with cross-sell. Its pages load recoms' own tracker.js and
ask `/api/v1/recoms/{id}` with ES-TOKEN from the browser, exactly as a shop's site would; `/demo/shop/token`
plays the shop's server, which gets the visitor's contact token with its API key."""

from __future__ import annotations

import hashlib
from html import escape
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from recoms.api.deps import PlatformDep
from recoms.demo_catalog import SHOP_URL
from recoms.domain.product import Product
from recoms.services import demo_shop

router = APIRouter(include_in_schema=False)

STATIC_URL = "/demo/shop/static"
STATIC_DIR = files("recoms.demo_shop") / "static"
_env = Environment(loader=PackageLoader("recoms.demo_shop", "templates"), autoescape=select_autoescape(["html"]))


def image(p: Product) -> str:
    """The feed's image, or a drawn one for the generated shop (its images live on no server)."""
    link = p.tags.get("image_link", "")
    return link if link and not link.startswith(SHOP_URL) else f"/demo/shop/img/{p.id}.svg"


_env.filters["image"] = image


def page(name: str, shop: demo_shop.DemoShop, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(static=STATIC_URL, site_id=shop.account.site_id, ds=shop.datasources,
                                          **context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/demo/shop")
def home(platform: PlatformDep) -> HTMLResponse:
    shop = demo_shop.find(platform)
    return page("home.html", shop, products=demo_shop.popular(platform, shop))


@router.get("/demo/shop/product/{product_id}")
def product(product_id: str, platform: PlatformDep) -> HTMLResponse:
    shop = demo_shop.find(platform)
    return page("product.html", shop, product=demo_shop.product(platform, shop, product_id))


@router.get("/demo/shop/cart")
def cart(platform: PlatformDep) -> HTMLResponse:
    return page("cart.html", demo_shop.find(platform))


@router.post("/demo/shop/token")
async def token(request: Request, platform: PlatformDep) -> dict[str, str]:
    shop = await run_in_threadpool(demo_shop.find, platform)
    value = await run_in_threadpool(demo_shop.token, platform, shop, request.cookies.get("sc"))
    return {"token": value}


@router.get("/demo/shop/img/{name}.svg")
def drawn_image(name: str) -> Response:
    """A tile in a colour of the product's own, with its id (the generated feed has no real images)."""
    hue = int(hashlib.blake2b(name.encode(), digest_size=2).hexdigest(), 16) % 360
    label = escape(name[:12])
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200"><rect width="200" height="200" '
           f'fill="hsl({hue},55%,82%)"/><circle cx="100" cy="88" r="44" fill="hsl({hue},50%,62%)"/>'
           f'<text x="100" y="170" font-family="sans-serif" font-size="20" text-anchor="middle" '
           f'fill="hsl({hue},40%,25%)">{label}</text></svg>')
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
