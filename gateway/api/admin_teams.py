"""Admin API for team limits and budgets (a team is the tenant every key belongs to)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from gateway.api.admin_keys import spend_of
from gateway.api.common import read_json_object, validate
from gateway.api.responses import json_response
from gateway.auth.deps import AdminPrincipal

router = APIRouter()

TeamId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[\w.@:\-]+$")]


class TeamUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: dict[str, Any]


def _public(team: str, row: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": team, "object": "team", "limits": (row or {}).get("limits") or {}}


@router.get("/admin/teams/{team}")
async def get_team(team: TeamId, request: Request, _: AdminPrincipal) -> Response:
    row = await request.app.state.teams.get(team)
    return json_response({**_public(team, row), "spend": await spend_of(request, "team", team)})


@router.put("/admin/teams/{team}")
async def put_team(team: TeamId, request: Request, _: AdminPrincipal) -> Response:
    body = validate(TeamUpdate, await read_json_object(request, 64 * 1024))
    limits = request.app.state.validate_limits(body.limits) if body.limits else {}
    row = await request.app.state.teams.put(team, limits)
    return json_response(_public(team, row))
