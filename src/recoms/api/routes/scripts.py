"""The tracker a shop's snippet loads: `/scripts/<site id>.js`, as the platform's snippet expects."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from recoms.api.deps import PlatformDep
from recoms.errors import NotFound
from recoms.services.snippet import site_tracker

router = APIRouter(tags=["tracking"])


@router.get("/scripts/{site_id}.js", summary="The web tracker configured for one site (loaded by the snippet)",
            response_class=Response, responses={200: {"content": {"application/javascript": {}}}})
def site_script(site_id: str, platform: PlatformDep) -> Response:
    body = site_tracker(platform.directory, site_id)
    if body is None:
        raise NotFound("unknown site id")
    # Cached briefly: every page view of every shop loads it, and a site's config rarely changes.
    return Response(body, media_type="application/javascript",
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})
