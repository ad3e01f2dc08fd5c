"""Order history from a shop's server (the platform's `POST /orders`): past and current orders count for
training like tracked purchases; an order sent again (same externalOrderId) only updates its status."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from recoms.api.deps import PlatformDep, TrackingWrite, json_body
from recoms.errors import BadRequest

router = APIRouter(tags=["tracking"])

MAX_ORDERS = 1000
EXAMPLE = {"orders": [{
    "externalOrderId": "100500", "externalCustomerId": "c-1001", "status": "INITIALIZED",
    "date": "2026-03-08T09:30:00+02:00", "totalCost": 59.9, "currency": "USD", "email": "anna@example.com",
    "items": [{"externalItemId": "P10001", "name": "Mug", "quantity": 2, "cost": 29.95}]}]}


@router.post("/api/v1/orders", summary="Import orders (at most 1000 a request); 200 with an empty body when all "
             "were stored, else the failed ones", openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"example": EXAMPLE}}}})
async def import_orders(request: Request, caller: TrackingWrite, platform: PlatformDep) -> Response:
    body = await json_body(request, items_checked=True)
    orders = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(orders, list) or not orders:
        raise BadRequest('the body must be {"orders": [...]} with at least one order')
    if len(orders) > MAX_ORDERS:
        raise BadRequest(f"at most {MAX_ORDERS} orders per request; send the rest in another")
    result = await platform.ingest_queue.store(caller.account.id, orders, "api", "orders")
    if result.refused:
        raise BadRequest("no order in the request was valid", result.errors)
    if not result.errors:
        # The platform answers an empty body; some of its clients check for exactly that.
        return Response(status_code=200)
    failed: list[dict[str, Any]] = []
    for error in result.errors:
        order = orders[error["index"]]
        failed.append({**(order if isinstance(order, dict) else {"order": order}), "errorMessage": error["reason"]})
    return Response(orjson.dumps({"failedOrders": failed}), media_type="application/json")
