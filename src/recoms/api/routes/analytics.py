"""Analytics (does it work?): per data source and variant, and the shop's revenue from recommendations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from recoms.api.deps import DataSourcesManage, PlatformDep, RowId
from recoms.services import analytics

router = APIRouter(tags=["analytics"])

DATE = r"^\d{4}-\d{2}-\d{2}$"
From = Annotated[str | None, Query(alias="from", pattern=DATE,
                                   description="first day (UTC), default 27 days before to")]
To = Annotated[str | None, Query(alias="to", pattern=DATE, description="last day (UTC), default today")]


@router.get(
    "/api/v1/analytics/datasources/{ds_id}",
    summary="A data source's lists served, impressions, clicks, CTR, credited orders and revenue, per variant "
            "(95 % intervals, significance against the control) and by day",
)
async def datasource(ds_id: RowId, caller: DataSourcesManage, platform: PlatformDep, start: From = None,
                     end: To = None) -> dict[str, Any]:
    return await run_in_threadpool(analytics.for_datasource, platform, caller.account.id, ds_id, start, end)


@router.get(
    "/api/v1/analytics/revenue",
    summary="The shop's revenue and the share of it credited to recommendations, per data source and by day",
)
async def revenue(caller: DataSourcesManage, platform: PlatformDep, start: From = None, end: To = None
                  ) -> dict[str, Any]:
    return await run_in_threadpool(analytics.for_shop, platform, caller.account.id, start, end)
