"""FastAPI dependencies for authenticated routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from gateway.auth.principal import Principal
from gateway.errors import GatewayError


async def current_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer` or `x-api-key`; 401 otherwise."""
    principal: Principal = await request.app.state.auth.authenticate(request.headers)
    request.state.principal = principal
    return principal


async def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        raise GatewayError(403, "this route needs an admin key", code="admin_required")
    return principal


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.is_admin and scope not in principal.scopes:
            raise GatewayError(403, f"this key lacks the '{scope}' scope", code="missing_scope")
        return principal

    return check


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
