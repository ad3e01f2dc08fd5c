"""The API documentation pages, with their assets served from the installed `fastapi-offline` package:
they render on a machine without internet (FastAPI's defaults load Swagger UI and ReDoc from a CDN).
/redoc leads to /docs."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

ASSETS_URL = "/docs/assets"  # under /docs: RECOMS_PROTECT_DOCS covers them with the pages
ASSETS_DIR = files("fastapi_offline") / "static"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json", title="recoms API", oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js", swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        # No validator badge: it would ask validator.swagger.io about the document.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> RedirectResponse:
    """ReDoc's bundle loads its own logo from its CDN: the one documentation page is Swagger UI's."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/docs", status_code=307)
