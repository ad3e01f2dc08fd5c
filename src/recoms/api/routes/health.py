"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from recoms.api.deps import PlatformDep
from recoms.errors import RecomsError

router = APIRouter(tags=["operations"])


class NotReady(RecomsError):
    status = 503
    title = "Service unavailable"


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The store answers")
def readyz(platform: PlatformDep) -> dict[str, str]:
    try:
        with platform.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise NotReady(f"the database does not answer: {type(exc).__name__}") from None
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
