"""Data sources CRUD (SPEC §5); bodies are validated by the domain with a 422 naming the bad field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from recoms.api.deps import MAX_ID, DataSourcesManage, PlatformDep, RowId, json_body
from recoms.domain.datasource import known_algorithms
from recoms.recommenders.registry import get_algorithm, plugins
from recoms.services.quality import datasource_quality

router = APIRouter(tags=["data sources"])
VariantId = Annotated[int, Path(ge=0, le=MAX_ID, description="0: the control")]

BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["name", "algorithm"],
    "properties": {"name": {"type": "string"}, "algorithm": {"type": "string"},
                   "size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                   "params": {"type": "object"}, "rules": {"type": "array", "items": {"type": "object"}},
                   "fallback": {"type": "array"},
                   "variants": {"type": "array", "maxItems": 7, "description": (
                       "A/B challengers of this configuration (the control): each with a traffic `share` in "
                       "percent (the control gets the rest) and any of algorithm, params, rules, size, fallback "
                       "(the others are the control's); an optional `id` and `name`"),
                       "items": {"type": "object", "required": ["share"]}}}},
    "example": {"name": "Alternatives", "algorithm": "similar", "size": 8,
                "rules": [{"type": "do_not_show", "field": "brand", "op": "eq", "values": ["Acme"]}]}}}}}


@router.post("/api/v1/datasources", status_code=201, openapi_extra=BODY, summary="Create a data source")
async def create(request: Request, caller: DataSourcesManage, platform: PlatformDep) -> dict[str, Any]:
    body = await json_body(request)
    return platform.datasources.create(caller.account.id, body).to_json()


@router.get("/api/v1/datasources", summary="List the account's data sources")
def list_all(caller: DataSourcesManage, platform: PlatformDep) -> list[dict[str, Any]]:
    return [ds.to_json() for ds in platform.datasources.list(caller.account.id)]


@router.get("/api/v1/datasources/algorithms", summary="Algorithms a data source may use, with their params")
def algorithms(caller: DataSourcesManage) -> list[dict[str, Any]]:
    out = []
    for name in sorted(known_algorithms() - {"custom"}) + sorted(plugins()):
        cls = get_algorithm(name)
        out.append({"name": name, "needs": cls.needs, "params": cls.default_params,
                    "plugin": name in plugins(), "doc": (cls.__doc__ or "").strip().split("\n")[0]})
    return out


@router.get("/api/v1/datasources/{ds_id}", summary="One data source")
def get_one(ds_id: RowId, caller: DataSourcesManage, platform: PlatformDep) -> dict[str, Any]:
    return platform.datasources.get(caller.account.id, ds_id).to_json()


@router.get("/api/v1/datasources/{ds_id}/quality",
            summary="The params its algorithm was tuned to on the shop's own newest orders, with the held-out "
                    "NDCG@10 and HR@10 next to popularity and buying again")
def get_quality(ds_id: RowId, caller: DataSourcesManage, platform: PlatformDep) -> dict[str, Any]:
    return datasource_quality(platform, caller.account.id, ds_id)


@router.put("/api/v1/datasources/{ds_id}", openapi_extra=BODY, summary="Replace a data source")
async def replace(ds_id: RowId, request: Request, caller: DataSourcesManage, platform: PlatformDep) -> dict[str, Any]:
    body = await json_body(request)
    return platform.datasources.replace(caller.account.id, ds_id, body).to_json()


@router.post(
    "/api/v1/datasources/{ds_id}/variants/{variant_id}/promote",
    summary="End the A/B experiment: this variant's configuration becomes the data source's (0: keep the control)",
)
def promote(ds_id: RowId, variant_id: VariantId, caller: DataSourcesManage, platform: PlatformDep) -> dict[str, Any]:
    return platform.datasources.end_experiment(caller.account.id, ds_id, variant_id).to_json()


@router.get("/api/v1/datasources/{ds_id}/experiments", summary="The data source's ended A/B experiments")
def ended_experiments(ds_id: RowId, caller: DataSourcesManage, platform: PlatformDep) -> list[dict[str, Any]]:
    return platform.datasources.experiments(caller.account.id, ds_id)


@router.delete("/api/v1/datasources/{ds_id}", status_code=204, summary="Delete a data source")
def delete(ds_id: RowId, caller: DataSourcesManage, platform: PlatformDep) -> Response:
    platform.datasources.delete(caller.account.id, ds_id)
    return Response(status_code=204)
