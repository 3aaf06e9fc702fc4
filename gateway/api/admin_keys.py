"""Admin API for keys: create (the secret is shown once), list, show, update, revoke. Admin keys only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from gateway.api.common import read_json_object, validate
from gateway.api.responses import json_response
from gateway.auth.deps import AdminPrincipal
from gateway.auth.keys import ALL_SCOPES, DEFAULT_SCOPES, KeyRepository
from gateway.errors import GatewayError

router = APIRouter()

Name = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[\w.@ :\-]+$")]


class _KeyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Annotated[StrictStr, Field(max_length=256)] | None = None
    scopes: Annotated[list[StrictStr], Field(max_length=16)] | None = None
    allowed_models: (
        Annotated[list[Annotated[StrictStr, Field(min_length=1, max_length=256)]], Field(max_length=256)]
        | None
    ) = None
    limits: dict[str, Any] | None = None
    metadata: Annotated[dict[str, StrictStr], Field(max_length=64)] | None = None
    expires_at: datetime | None = None

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            unknown = sorted(set(v) - ALL_SCOPES)
            if unknown:
                raise ValueError(f"unknown scopes {unknown}; known: {sorted(ALL_SCOPES)}")
        return v

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        return v


class KeyCreate(_KeyFields):
    name: Name
    team: Name = "default"
    is_admin: StrictBool = False


class KeyUpdate(_KeyFields):
    name: Name | None = None
    team: Name | None = None


def _repo(request: Request) -> KeyRepository:
    return request.app.state.keys  # type: ignore[no-any-return]


def _check_limits(request: Request, limits: dict[str, Any] | None) -> dict[str, Any]:
    return request.app.state.validate_limits(limits) if limits else {}  # type: ignore[no-any-return]


async def spend_of(request: Request, scope: str, scope_id: str) -> list[dict[str, Any]]:
    """Spend, budget and reset time per budget period, as the limiter counts them."""
    states = await request.app.state.spend(scope, scope_id)
    return [
        {
            "period": s.period,
            "spent_usd": str(s.spent_usd),
            "reserved_usd": str(s.reserved_usd),
            "budget_usd": str(s.budget_usd) if s.budget_usd is not None else None,
            "resets_at": s.resets_at.isoformat() if s.resets_at else None,
        }
        for s in states
    ]


@router.post("/admin/keys")
async def create_key(request: Request, admin: AdminPrincipal) -> Response:
    body = validate(KeyCreate, await read_json_object(request, 64 * 1024))
    scopes = list(body.scopes) if body.scopes is not None else list(DEFAULT_SCOPES)
    record, secret = await _repo(request).create(
        name=body.name,
        team=body.team,
        owner=body.owner,
        scopes=scopes,
        allowed_models=body.allowed_models,
        is_admin=body.is_admin,
        limits=_check_limits(request, body.limits),
        metadata=body.metadata or {},
        expires_at=body.expires_at,
        created_by=admin.key_id,
    )
    request.app.state.auth.remember(record)
    return json_response({**record.public(), "key": secret}, status=201)


@router.get("/admin/keys")
async def list_keys(request: Request, _: AdminPrincipal, include_revoked: bool = False) -> Response:
    records = await _repo(request).list_keys(include_revoked=include_revoked)
    return json_response({"object": "list", "data": [r.public() for r in records]})


@router.get("/admin/keys/{key_id}")
async def get_key(key_id: str, request: Request, _: AdminPrincipal) -> Response:
    record = await _repo(request).get(key_id)
    if record is None:
        raise GatewayError(404, f"no key with id '{key_id}'", code="key_not_found")
    return json_response({**record.public(), "spend": await spend_of(request, "key", record.id)})


@router.patch("/admin/keys/{key_id}")
async def update_key(key_id: str, request: Request, _: AdminPrincipal) -> Response:
    body = validate(KeyUpdate, await read_json_object(request, 64 * 1024))
    fields = body.model_dump(exclude_unset=True)
    if "limits" in fields:
        fields["limits"] = _check_limits(request, fields["limits"])
    record = await _repo(request).update(key_id, fields)
    if record is None:
        raise GatewayError(404, f"no active key with id '{key_id}'", code="key_not_found")
    request.app.state.auth.remember(record)
    return json_response(record.public())


@router.delete("/admin/keys/{key_id}")
async def revoke_key(key_id: str, request: Request, _: AdminPrincipal) -> Response:
    record = await _repo(request).revoke(key_id)
    if record is None:
        raise GatewayError(404, f"no key with id '{key_id}'", code="key_not_found")
    request.app.state.auth.remember(record)
    return json_response({"id": record.id, "object": "api_key", "deleted": True, "revoked": True})
