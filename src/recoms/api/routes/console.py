"""The web console at /console: sign in with an API key, manage data sources, preview them, read their
analytics, feeds and training. Server-rendered pages (templates in recoms/console) and a small script
(recoms/console/static) that calls the JSON routes under /console/api.

The session lives in an HttpOnly, SameSite=Strict cookie scoped to /console; the JSON routes also want
the `X-Recoms-Console` header, which a page of another origin cannot send without CORS (there is none).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import orjson
from fastapi import APIRouter, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from recoms.api.deps import PlatformDep, RowId, caller_address, json_body
from recoms.console import views
from recoms.domain.accounts import Account
from recoms.errors import Forbidden, RecomsError, Unauthorized
from recoms.services import analytics, console

router = APIRouter(include_in_schema=False)

STATIC_URL = "/console/static"
STATIC_DIR = files("recoms.console") / "static"
COOKIE = "recoms_console"
CSRF_HEADER = "x-recoms-console"
SIGN_IN = "/console/sign-in"
# Product images come from the shop's own servers; everything else from here.
CSP = ("default-src 'self'; img-src 'self' http: https: data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")

_env = Environment(loader=PackageLoader("recoms.console", "templates"), autoescape=select_autoescape(["html"]))
_env.filters["pct"] = views.pct
_env.filters["p_value"] = views.p_value
# JSON inside <script type="application/json">: with <, > and & escaped it cannot end the element.
_env.filters["tojson_safe"] = lambda value: Markup(  # noqa: S704 - escaped just here
    orjson.dumps(value).decode().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(static=STATIC_URL, **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store",
                                                            "Referrer-Policy": "same-origin"})


def _account(request: Request, platform) -> Account | None:
    return console.signed_in(platform, request.cookies.get(COOKIE))


def _api_account(request: Request, platform) -> Account:
    """A JSON route's caller: a live session and the console's own header."""
    if CSRF_HEADER not in request.headers:
        raise Forbidden("console requests carry the X-Recoms-Console header")
    account = _account(request, platform)
    if account is None:
        raise Unauthorized("sign in to the console again")
    return account


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse(SIGN_IN, status_code=303)


# --- signing in ----------------------------------------------------------------------------------


@router.get("/console")
def home(request: Request, platform: PlatformDep) -> Response:
    return RedirectResponse("/console/datasources" if _account(request, platform) else SIGN_IN, status_code=303)


@router.get(SIGN_IN)
def sign_in_page() -> HTMLResponse:
    return page("sign_in.html")


@router.post(SIGN_IN)
async def sign_in(request: Request, platform: PlatformDep) -> Response:
    form = await request.form()
    secret = form.get("api_key")
    try:
        token, _ = await run_in_threadpool(console.sign_in, platform, secret if isinstance(secret, str) else "",
                                                   caller_address(request))
    except RecomsError as exc:
        return page("sign_in.html", exc.status, error=exc.detail)
    response = RedirectResponse("/console/datasources", status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(platform.settings.console_session_hours * 3600), path="/console",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/console/sign-out")
def sign_out(request: Request, platform: PlatformDep) -> Response:
    console.sign_out(platform, request.cookies.get(COOKIE))
    response = _to_sign_in()
    response.delete_cookie(COOKIE, path="/console")
    return response


# --- pages ---------------------------------------------------------------------------------------


@router.get("/console/datasources")
def datasources_page(request: Request, platform: PlatformDep) -> Response:
    account = _account(request, platform)
    if account is None:
        return _to_sign_in()
    return page("datasources.html", account=account, nav="datasources",
                datasources=console.datasources(platform, account.id))


@router.get("/console/datasources/new")
def new_datasource_page(request: Request, platform: PlatformDep) -> Response:
    account = _account(request, platform)
    if account is None:
        return _to_sign_in()
    return page("datasource_form.html", account=account, nav="datasources", datasource=None,
                algorithms=console.algorithms())


@router.get("/console/datasources/{ds_id}")
def edit_datasource_page(ds_id: RowId, request: Request, platform: PlatformDep) -> Response:
    account = _account(request, platform)
    if account is None:
        return _to_sign_in()
    return page("datasource_form.html", account=account, nav="datasources",
                datasource=console.datasource(platform, account.id, ds_id), algorithms=console.algorithms())


@router.get("/console/datasources/{ds_id}/analytics")
def analytics_page(ds_id: RowId, request: Request, platform: PlatformDep) -> Response:
    account = _account(request, platform)
    if account is None:
        return _to_sign_in()
    q = request.query_params
    report = analytics.for_datasource(platform, account.id, ds_id, q.get("from") or None, q.get("to") or None)
    return page("analytics.html", account=account, nav="datasources", report=report,
                view=views.datasource_analytics(report))


@router.get("/console/analytics")
def revenue_page(request: Request, platform: PlatformDep) -> Response:
    account = _account(request, platform)
    if account is None:
        return _to_sign_in()
    q = request.query_params
    report = analytics.for_shop(platform, account.id, q.get("from") or None, q.get("to") or None)
    return page("revenue.html", account=account, nav="analytics", report=report, chart=views.revenue_chart(report))


@router.get("/console/feeds")
def feeds_page(request: Request, platform: PlatformDep) -> Response:
    account = _account(request, platform)
    if account is None:
        return _to_sign_in()
    return page("feeds.html", account=account, nav="feeds", imports=console.feeds(platform, account.id))


@router.get("/console/training")
def training_page(request: Request, platform: PlatformDep) -> Response:
    account = _account(request, platform)
    if account is None:
        return _to_sign_in()
    return page("training.html", account=account, nav="training", training=console.training(platform, account.id))


# --- the pages' JSON calls -------------------------------------------------------------------------


@router.post("/console/api/datasources", status_code=201)
async def create(request: Request, platform: PlatformDep) -> dict[str, Any]:
    account = await run_in_threadpool(_api_account, request, platform)
    body = await json_body(request)
    return (await run_in_threadpool(platform.datasources.create, account.id, body)).to_json()


@router.put("/console/api/datasources/{ds_id}")
async def replace(ds_id: RowId, request: Request, platform: PlatformDep) -> dict[str, Any]:
    account = await run_in_threadpool(_api_account, request, platform)
    body = await json_body(request)
    return (await run_in_threadpool(platform.datasources.replace, account.id, ds_id, body)).to_json()


@router.post("/console/api/datasources/{ds_id}/variants/{variant_id}/promote")
async def promote(ds_id: RowId, variant_id: int, request: Request, platform: PlatformDep) -> dict[str, Any]:
    account = await run_in_threadpool(_api_account, request, platform)
    return (await run_in_threadpool(platform.datasources.end_experiment, account.id, ds_id, variant_id)).to_json()


@router.post("/console/api/preview")
async def preview(request: Request, platform: PlatformDep) -> dict[str, Any]:
    account = await run_in_threadpool(_api_account, request, platform)
    body = await json_body(request)
    return await run_in_threadpool(console.preview, platform, account, body)
