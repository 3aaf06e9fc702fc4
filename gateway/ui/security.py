"""Browser-facing protections: the session cookie's flags, CSRF and Origin checks, strict headers."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from gateway.errors import GatewayError
from gateway.ui.settings import ConsoleSettings

COOKIE_NAME = "gw_console"
SECURE_COOKIE_NAME = "__Host-gw_console"  # the prefix makes browsers insist on Secure, Path=/ and no Domain
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STRICT_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def add_strict_headers(response: Response) -> Response:
    for name, value in STRICT_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _scheme(request: Request, settings: ConsoleSettings) -> str:
    if settings.trust_forwarded:
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if forwarded in ("http", "https"):
            return forwarded
    return request.url.scheme


def _host(request: Request, settings: ConsoleSettings) -> str:
    if settings.trust_forwarded:
        forwarded = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if forwarded:
            return forwarded.lower()
    return request.headers.get("host", "").lower()


def is_secure(request: Request, settings: ConsoleSettings) -> bool:
    if settings.secure_cookie == "always":
        return True
    if settings.secure_cookie == "never":
        return False
    return _scheme(request, settings) == "https"


def cookie_name(request: Request, settings: ConsoleSettings) -> str:
    return SECURE_COOKIE_NAME if is_secure(request, settings) else COOKIE_NAME


def own_origin(request: Request, settings: ConsoleSettings) -> str:
    return f"{_scheme(request, settings)}://{_host(request, settings)}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def check_origin(request: Request, settings: ConsoleSettings) -> None:
    """Refuse a state-changing call whose Origin (or, lacking one, Referer) is not this console's."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        origin = _origin_of(referer) if referer else None
    allowed = {own_origin(request, settings), *(o.rstrip("/").lower() for o in settings.allowed_origins)}
    if not origin:
        raise GatewayError(403, "state-changing console calls need an Origin header", code="origin_missing")
    if origin.rstrip("/").lower() not in allowed:
        raise GatewayError(403, "request from a foreign origin refused", code="origin_mismatch")


def check_csrf(request: Request, expected: str) -> None:
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented:
        raise GatewayError(403, f"missing CSRF token: send the {CSRF_HEADER} header", code="csrf_missing")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise GatewayError(403, "wrong CSRF token", code="csrf_mismatch")


def set_session_cookie(
    response: Response, request: Request, settings: ConsoleSettings, session_id: str, max_age_s: int
) -> None:
    response.set_cookie(
        cookie_name(request, settings),
        session_id,
        max_age=max_age_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure(request, settings),
    )


def clear_session_cookie(response: Response, request: Request, settings: ConsoleSettings) -> None:
    response.delete_cookie(
        cookie_name(request, settings),
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure(request, settings),
    )
