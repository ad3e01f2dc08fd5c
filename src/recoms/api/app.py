"""The ASGI application: FastAPI for the API's breadth, a lean route for the recommendation hot path."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from recoms import __version__, gc_tuning
from recoms.api import problems, routes
from recoms.api.deps import key_from_header
from recoms.api.hot_path import HotPath
from recoms.api.middleware import Edge, KeyRequired, RateBuckets
from recoms.api.openapi import document as truthful_openapi
from recoms.api.routes import console, demo_shop, docs, recoms, tracking
from recoms.domain.accounts import SCOPES
from recoms.services.jobs import Jobs
from recoms.services.platform import Platform, build_platform
from recoms.settings import Settings, get_settings

PROTECTED_DOCS = ("/docs", "/redoc", "/openapi.json", "/metrics")
BROWSER_PATHS = ("/api/v2", "/api/v2/tracking", "/api/v1/mobile/events")


def _browser_route(path: str) -> bool:
    """The routes a shop's web pages call: tracking (site id) and recommendations by ES-TOKEN."""
    return path in BROWSER_PATHS or recoms.is_token_route(path)


def _token_route(path: str) -> bool:
    """Responses that carry a contact token: never cached anywhere."""
    return path == "/api/v1/auth/contact/token" or recoms.is_token_route(path)


class RecomsApp(FastAPI):
    """FastAPI for the API's breadth; the recommendation and tracker routes go to `hot_path` first
    (api/hot_path.py)."""

    hot_path: HotPath | None = None

    async def __call__(self, scope, receive, send) -> None:
        child = self.hot_path.match(scope) if self.hot_path is not None else None
        if child is not None:
            scope.update(child)
            scope["app"] = self
            return await self.hot_path(scope, receive, send)
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None, platform: Platform | None = None, background: bool = True
) -> FastAPI:
    settings = settings or (platform.settings if platform else get_settings())
    platform = platform or build_platform(settings)
    jobs = Jobs(platform)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if background:
            platform.serving.start()
            if settings.jobs:
                jobs.start()
            gc_tuning.settle()  # what is alive now lives as long as the server: the collector leaves it be
        yield
        jobs.stop()
        platform.recommendations.stop()  # answers what is queued, then stops
        platform.ingest_queue.stop()  # stores what is queued, then stops
        platform.serving.stop()
        platform.recommendation_log.flush()  # the served lists still queued

    app = RecomsApp(
        title="recoms", version=__version__, lifespan=lifespan,
        description="Product recommendations for online shops and their mobile apps.",
        docs_url=None, redoc_url=None,  # routes/docs.py serves them with local assets
        telemetry={"tracing": False, "metrics": False, "logs": False},  # /metrics has ours; this costs per request
    )
    app.state.platform = platform
    app.state.trusted_proxies = settings.trusted_proxy_networks
    app.state.jobs = jobs
    problems.install(app)
    app.router.routes.insert(0, recoms.token_route)  # GET and POST go to the hot path; here: other methods
    for module in routes.ALL:
        app.include_router(module.router)
    # Every page's assets come from the installed packages: nothing loads from a CDN.
    app.mount(docs.ASSETS_URL, StaticFiles(directory=str(docs.ASSETS_DIR)), name="docs-assets")
    app.mount(console.STATIC_URL, StaticFiles(directory=str(console.STATIC_DIR)), name="console-static")
    if settings.demo_shop:
        app.include_router(demo_shop.router)
        app.mount(demo_shop.STATIC_URL, StaticFiles(directory=str(demo_shop.STATIC_DIR)), name="shop-static")

    build_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = truthful_openapi(recoms.document(build_openapi()), settings.protect_docs)
        return app.openapi_schema

    app.openapi = openapi
    if settings.protect_docs:
        def any_key(header: str | None) -> object:
            return platform.directory.authenticate(key_from_header(header), *SCOPES)

        app.add_middleware(KeyRequired, paths=PROTECTED_DOCS, authenticate=any_key)
    edge = dict(
        limit=settings.max_body_bytes, feed_limit=settings.max_feed_bytes, timeout=settings.body_timeout_seconds,
        rate=RateBuckets(settings.rate_limit_per_second, settings.trusted_proxy_networks),
        origins=settings.cors_origin_list, browser_route=_browser_route, no_store=_token_route,
    )
    app.add_middleware(Edge, **edge)
    app.hot_path = HotPath((*recoms.HOT_ROUTES, *tracking.HOT_ROUTES), lambda inner: Edge(inner, **edge))
    logging.getLogger("recoms").setLevel(settings.log_level.upper())
    return app
