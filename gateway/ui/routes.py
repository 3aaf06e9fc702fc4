"""The console's routes: its pages at /ui, and /ui/api/... calls authenticated by session + CSRF token.

Wiring only: sessions live in `sessions.py`, checks in `security.py`, admin calls in `forward.py`.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from gateway.accounting.reports import check_group_by, resolve_range
from gateway.api.admin_costs import cost_filters
from gateway.api.common import read_asgi_body, read_json_object
from gateway.api.responses import json_response
from gateway.auth.keys import hash_secret
from gateway.errors import GatewayError
from gateway.ui import security
from gateway.ui.costs import spend_over_time
from gateway.ui.forward import MAX_BODY_BYTES
from gateway.ui.service import Console
from gateway.ui.sessions import Session

_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*\.(?:js|css|html|svg|txt)$")
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


class ConsoleRoute(APIRoute):
    """Every console reply, errors included, carries the strict headers (CSP, nosniff, no-store, ...)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except GatewayError as exc:
                response = json_response(exc.body(), status=exc.status, headers=exc.headers)
            return security.add_strict_headers(response)

        return handle


router = APIRouter(route_class=ConsoleRoute)


def _console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def _unauthenticated(message: str) -> GatewayError:
    return GatewayError(401, message, code="session_required")


async def current_session(request: Request) -> Session:
    """The caller's live session; for state-changing methods also a same-origin call with its CSRF token."""
    console = _console(request)
    unsafe = request.method not in security.SAFE_METHODS
    if unsafe:
        security.check_origin(request, console.settings)  # before any database work for a forged call
    session_id = request.cookies.get(security.cookie_name(request, console.settings))
    if not session_id:
        raise _unauthenticated("sign in to the console first")
    session = await console.sessions.lookup(session_id)
    if session is None:
        raise _unauthenticated("the console session has ended: sign in again")
    if not await console.still_admin(session):
        await console.sessions.end(session_id)
        raise _unauthenticated("the key this session signed in with is no longer an active admin key")
    if unsafe:
        security.check_csrf(request, session.csrf_token)
    return session


ConsoleSession = Annotated[Session, Depends(current_session)]


def _session_body(session: Session) -> dict[str, Any]:
    return {
        "object": "console.session",
        "key_id": session.key_id,
        "key_name": session.key_name,
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at.isoformat(),
    }


# --- pages ---------------------------------------------------------------------------------------------


def _static(console: Console, name: str) -> Response:
    path = console.static_dir / name
    if not _STATIC_NAME.match(name) or not path.is_file():
        raise GatewayError(404, "no such console file", code="not_found")
    suffix = path.suffix
    media = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media.startswith("text/") or media.endswith("+xml"):
        media += "; charset=utf-8"
    return Response(path.read_bytes(), media_type=media)


@router.get("/ui", include_in_schema=False)
async def index(request: Request) -> Response:
    return _static(_console(request), "index.html")


@router.get("/ui/", include_in_schema=False)
async def index_slash() -> Response:
    return RedirectResponse("/ui", status_code=308)


@router.get("/ui/static/{name}", include_in_schema=False)
async def static_file(name: str, request: Request) -> Response:
    return _static(_console(request), name)


# --- session ---------------------------------------------------------------------------------------------


@router.post("/ui/api/session")
async def sign_in(request: Request) -> Response:
    """Exchange an admin key for a session cookie; the key itself is not kept anywhere."""
    console = _console(request)
    security.check_origin(request, console.settings)  # no login CSRF from other sites
    body = await read_json_object(request, 16 * 1024)
    key = body.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > 512:
        raise GatewayError(400, 'send {"key": "<admin key>"}', param="key", code="invalid_value")
    secret = key.strip()
    principal = console.auth.authenticate_sync({"authorization": f"Bearer {secret}"})
    if not principal.is_admin:
        raise GatewayError(403, "the console needs an admin key", code="admin_required")
    session = await console.sessions.create(
        key_id=principal.key_id, key_name=principal.name, key_hash=hash_secret(secret)
    )
    response = json_response(_session_body(session), status=201)
    max_age = int((session.expires_at - datetime.now(UTC)).total_seconds())
    security.set_session_cookie(response, request, console.settings, session.id, max_age)
    return response


@router.get("/ui/api/session")
async def whoami(session: ConsoleSession) -> Response:
    return json_response(_session_body(session))


@router.delete("/ui/api/session")
async def sign_out(request: Request, session: ConsoleSession) -> Response:
    console = _console(request)
    await console.sessions.end(session.id)
    response = json_response({"object": "console.session", "signed_out": True})
    security.clear_session_cookie(response, request, console.settings)
    return response


# --- data ------------------------------------------------------------------------------------------------


@router.get("/ui/api/live")
async def live(request: Request, _: ConsoleSession) -> Response:
    """This process's /metrics, summarised: rates and percentiles over the last ~30 s."""
    console = _console(request)
    reply = await console.forwarder.call("GET", "/metrics")
    if reply.status_code != 200:
        raise GatewayError(502, f"/metrics answered {reply.status_code}", code="metrics_unavailable")
    console.live.add(reply.text)
    return json_response(console.live.summary())


@router.get("/ui/api/costs/series")
async def cost_series(
    request: Request,
    _: ConsoleSession,
    group_by: str = "model",
    start: str | None = None,
    end: str | None = None,
    team: str | None = None,
) -> Response:
    check_group_by(group_by)
    if group_by == "day":
        raise GatewayError(400, "the chart is over time already: group by something else", param="group_by")
    start_at, end_at = resolve_range(start, end, now=datetime.now(UTC))
    reports = _console(request).cost_reports
    filters = cost_filters(None, team, None)
    series = await spend_over_time(reports, group_by=group_by, start=start_at, end=end_at, filters=filters)
    return json_response(series)


@router.api_route("/ui/api/admin/{sub_path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def admin_call(sub_path: str, request: Request, _: ConsoleSession) -> Response:
    """Any admin API route, called as the master key on behalf of the signed-in operator."""
    body = await read_asgi_body(request.receive, request.headers.get("content-length"), MAX_BODY_BYTES)
    return await _console(request).forwarder.forward_admin(request, sub_path, body)
