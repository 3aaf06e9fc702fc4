"""Admin API for routing policies: read, validate, edit (ETag/If-Match), history, diff, rollback, explain."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from gateway.api.common import parse_json_object, read_asgi_body, read_json_object, validate
from gateway.api.responses import json_response
from gateway.auth.deps import AdminPrincipal
from gateway.auth.principal import Principal
from gateway.classify import Classification, Classifier, ConfidentialMarker, default_classifier
from gateway.errors import GatewayError
from gateway.routing.admin import diff_policies, explain, policy_to_yaml
from gateway.routing.loading import Format
from gateway.routing.policy import NAME_PATTERN, Policy
from gateway.routing.problems import PolicyError
from gateway.routing.stats import TargetStats
from gateway.routing.store import (
    ANY_VERSION,
    Applied,
    ConcurrentEdit,
    IfMatch,
    PolicyInvalid,
    PolicyNotFound,
    PolicyStore,
    PolicyVersion,
    PreconditionRequired,
    VersionMismatch,
    check_named_policy,
)

router = APIRouter()

MAX_POLICY_BYTES = 1024 * 1024
_NAME = re.compile(NAME_PATTERN)
_JSON_TYPES = ("application/json",)
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_YAML_MEDIA = "application/yaml; charset=utf-8"


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]


def _store(request: Request) -> PolicyStore:
    return request.app.state.policies  # type: ignore[no-any-return]


def _checked_name(name: str, *, for_write: bool = False) -> str:
    if len(name) > 200 or not _NAME.match(name):
        if for_write:
            message = (
                f"invalid policy name {name!r}: letters, digits and . _ : @ + - (a letter or digit first)"
            )
            raise GatewayError(400, message, code="invalid_value", param="name")
        raise GatewayError(404, f"no policy named {name!r}", code="policy_not_found")
    return name


def _etag(version: int) -> str:
    return f'"{version}"'


def _problem_list(problems: list[PolicyError], severity: str) -> list[dict[str, object]]:
    return [p.to_dict() for p in problems if p.severity == severity]


def _invalid_policy(problems: list[PolicyError]) -> Response:
    """422 in the OpenAI error shape, plus every error and warning with its path and line."""
    errors = [p for p in problems if p.severity == "error"]
    first = errors[0] if errors else None
    message = f"the policy has {len(errors)} error(s)" + (f"; first: {first}" if first else "")
    error = GatewayError(422, message, code="invalid_policy", param=first.path if first else None)
    body = {
        **error.body(),
        "errors": _problem_list(problems, "error"),
        "warnings": _problem_list(problems, "warning"),
    }
    return json_response(body, status=422)


def _body_format(request: Request) -> Format:
    """YAML or JSON, from ?format= or the Content-Type (YAML when none is given)."""
    explicit = request.query_params.get("format")
    if explicit is not None:
        if explicit not in ("yaml", "json"):
            raise GatewayError(400, "format must be 'yaml' or 'json'", code="invalid_value", param="format")
        return explicit  # type: ignore[return-value]
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media or media in _YAML_TYPES:
        return "yaml"
    if media in _JSON_TYPES or media.endswith("+json"):
        return "json"
    raise GatewayError(
        415,
        f"unsupported Content-Type {media!r}: send application/yaml or application/json",
        code="bad_media",
    )


def _reply_format(request: Request) -> Format:
    explicit = request.query_params.get("format")
    if explicit is not None:
        if explicit not in ("yaml", "json"):
            raise GatewayError(400, "format must be 'yaml' or 'json'", code="invalid_value", param="format")
        return explicit  # type: ignore[return-value]
    accept = request.headers.get("accept", "").lower()
    return "json" if "application/json" in accept and "yaml" not in accept else "yaml"


async def _read_text(request: Request) -> str:
    raw = await read_asgi_body(request.receive, request.headers.get("content-length"), MAX_POLICY_BYTES)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GatewayError(
            400, f"policy text is not UTF-8 (byte {exc.start})", code="invalid_encoding"
        ) from None


def _if_match(request: Request) -> IfMatch:
    """The version an edit is based on, from If-Match: "3", W/"3", 3 or *; absent: None."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return ANY_VERSION
    value = value.removeprefix("W/").strip().strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 10:  # "²" is a digit to isdigit()
        return -1  # an ETag this server never issued: it can never match
    return int(value)


def _parsed(record: PolicyVersion) -> Policy:
    policy, problems = check_named_policy(record.text, fmt=record.format, name=record.name)
    if policy is None:
        raise GatewayError(
            500, f"stored policy {record.name!r} v{record.version} no longer loads", code="policy_unloadable"
        )
    return policy


def _version_headers(record: PolicyVersion) -> dict[str, str]:
    return {
        "ETag": _etag(record.version),
        "X-Policy-Version": str(record.version),
        "X-Policy-Sha256": record.sha256,
    }


def _show(request: Request, record: PolicyVersion) -> Response:
    """A version as YAML (its text as submitted, or canonical YAML if it was JSON) or as a JSON document."""
    headers = _version_headers(record)
    if _reply_format(request) == "json":
        return json_response(_parsed(record).model_dump(mode="json"), headers=headers)
    text = record.text if record.format == "yaml" else policy_to_yaml(_parsed(record))
    return Response(text.encode("utf-8"), media_type=_YAML_MEDIA, headers=headers)


def _applied(applied: Applied) -> Response:
    body = {
        **applied.record.public(active_version=applied.record.version),
        "changed": applied.created,
        "warnings": [w.to_dict() for w in applied.warnings],
    }
    status = 201 if applied.new_name else 200
    return json_response(body, status=status, headers=_version_headers(applied.record))


async def _write(request: Request, coro: Any) -> Response:
    """Run a store write and map its refusals to HTTP: 422, 428, 412, 409, 404."""
    try:
        applied: Applied = await coro
    except PolicyInvalid as exc:
        return _invalid_policy(exc.problems)
    except PreconditionRequired as exc:
        raise GatewayError(
            428,
            f'this policy exists (active version {exc.current}): send If-Match: "{exc.current}" '
            "(the ETag you read) or If-Match: * to overwrite whatever is active",
            code="precondition_required",
            type="invalid_request_error",
        ) from None
    except VersionMismatch as exc:
        message = (
            f"policy does not exist, so If-Match {exc.expected!r} cannot match"
            if exc.current is None
            else f"stale edit: you edited version {exc.expected}, the active version is now {exc.current}"
        )
        headers = {"ETag": _etag(exc.current)} if exc.current is not None else None
        raise GatewayError(412, message, code="version_mismatch", headers=headers) from None
    except ConcurrentEdit as exc:
        raise GatewayError(409, str(exc), code="concurrent_edit") from None
    except PolicyNotFound as exc:
        raise GatewayError(404, str(exc), code="policy_not_found") from None
    return _applied(applied)


@router.get("/admin/policies")
async def list_policies(request: Request, _: AdminPrincipal) -> Response:
    store = _store(request)
    heads = await store.heads()
    data = []
    for head in heads:
        served = store.loaded(head.name)
        # What this process serves: lags the database by up to one poll, or stays put if it will not load.
        data.append({**head.public(), "served_version": served.record.version if served else None})
    return json_response({"object": "list", "data": data})


@router.post("/admin/policies/validate")
async def validate_policy(request: Request, _: AdminPrincipal, name: str | None = None) -> Response:
    """Errors and warnings of a policy text, without storing it."""
    fmt = _body_format(request)
    text = await _read_text(request)
    policy, problems = await asyncio.to_thread(check_named_policy, text, fmt=fmt, name=name)
    return json_response(
        {
            "valid": policy is not None,
            "name": policy.name if policy else None,
            "errors": _problem_list(problems, "error"),
            "warnings": _problem_list(problems, "warning"),
        }
    )


@router.get("/admin/policies/{name}")
async def get_policy(name: str, request: Request, _: AdminPrincipal) -> Response:
    record = await _store(request).current(_checked_name(name))
    if record is None:
        raise GatewayError(404, f"no policy named {name!r}", code="policy_not_found")
    if request.headers.get("if-none-match", "").strip() == _etag(record.version):
        return Response(status_code=304, headers=_version_headers(record))
    return _show(request, record)


@router.put("/admin/policies/{name}")
async def put_policy(name: str, request: Request, admin: AdminPrincipal) -> Response:
    """Validate and activate a new version; If-Match is required when the policy exists."""
    fmt = _body_format(request)
    text = await _read_text(request)
    store = _store(request)
    return await _write(
        request,
        store.apply(
            _checked_name(name, for_write=True),
            text,
            fmt=fmt,
            if_match=_if_match(request),
            created_by=admin.key_id,
        ),
    )


@router.get("/admin/policies/{name}/versions")
async def list_versions(
    name: str, request: Request, _: AdminPrincipal, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response:
    store = _store(request)
    head = await store.head(_checked_name(name))
    if head is None:
        raise GatewayError(404, f"no policy named {name!r}", code="policy_not_found")
    records = await store.versions(name, limit=limit)
    return json_response(
        {
            "object": "list",
            "name": name,
            "active_version": head.active_version,
            "data": [r.public(active_version=head.active_version) for r in records],
        }
    )


@router.get("/admin/policies/{name}/versions/{version}")
async def get_version(name: str, version: int, request: Request, _: AdminPrincipal) -> Response:
    record = await _store(request).version(_checked_name(name), version) if 0 < version < 2**31 else None
    if record is None:
        raise GatewayError(404, f"policy {name!r} has no version {version}", code="version_not_found")
    return _show(request, record)


@router.get("/admin/policies/{name}/diff")
async def diff_versions(
    name: str,
    request: Request,
    _: AdminPrincipal,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
    canonical: bool = False,
) -> Response:
    """A unified diff between two versions: their texts as submitted, or (canonical=true) canonical YAML."""
    store = _store(request)
    old = await store.version(_checked_name(name), from_version)
    new = await store.version(name, to_version)
    for wanted, record in ((from_version, old), (to_version, new)):
        if record is None:
            raise GatewayError(404, f"policy {name!r} has no version {wanted}", code="version_not_found")
    assert old is not None and new is not None
    old_text, new_text = (
        (policy_to_yaml(_parsed(old)), policy_to_yaml(_parsed(new)))
        if canonical or old.format != new.format
        else (old.text, new.text)
    )
    diff = diff_policies(
        old_text, new_text, old_label=f"{name}@{old.version}", new_label=f"{name}@{new.version}"
    )
    return json_response(
        {
            "object": "policy.diff",
            "name": name,
            "from": old.version,
            "to": new.version,
            "canonical": canonical or old.format != new.format,
            "identical": old.sha256 == new.sha256,
            "diff": diff,
        }
    )


@router.post("/admin/policies/{name}/rollback")
async def rollback_policy(name: str, request: Request, admin: AdminPrincipal) -> Response:
    """Activate a copy of an old version as a new version; If-Match is optional here."""
    body = validate(RollbackBody, await read_json_object(request, 64 * 1024))
    if_match = _if_match(request)
    return await _write(
        request,
        _store(request).rollback(
            _checked_name(name),
            body.version,
            created_by=admin.key_id,
            if_match=ANY_VERSION if if_match is None else if_match,
        ),
    )


def _target_stats(request: Request) -> Mapping[str, TargetStats]:
    provider = getattr(request.app.state, "target_stats", None)
    return provider() if callable(provider) else {}


def _router_classifier(request: Request, policy: Policy) -> Classifier | None:
    """The chat path's own classifier when it is serving this very policy object."""
    router = getattr(request.app.state, "router", None)
    runtime = router.runtime() if router is not None else None
    if runtime is not None and runtime.policy is policy:
        return runtime.classifier  # type: ignore[no-any-return]
    return None


def _classify(policy: Policy, body: dict[str, Any], classifier: Classifier | None) -> Classification:
    """Classify with the policy's confidential markers, built as the router builds its classifier
    (runs in a thread: the first build in a process loads the tokenizer and models)."""
    if classifier is None:
        base = default_classifier()
        classifier = Classifier(
            markers=[ConfidentialMarker(**m.model_dump()) for m in policy.confidential_markers],
            encoding=base.encoding,
            lexicon=base.lexicon,
            complexity_model=base.complexity_model,
        )
    return classifier.classify(body)


async def _principal_for(request: Request, admin: Principal, key_id: str | None) -> Principal:
    if key_id is None:
        return admin
    record = await request.app.state.keys.get(key_id)
    if record is None:
        raise GatewayError(404, f"no key with id {key_id!r}", code="key_not_found", param="key_id")
    return record.principal()  # type: ignore[no-any-return]


@router.post("/admin/routing/explain")
async def explain_route(
    request: Request,
    admin: AdminPrincipal,
    policy: str = "default",
    key_id: str | None = None,
    seed: int | None = None,
) -> Response:
    """Where this chat request would go under the active policy, and why (same code as the chat path)."""
    body = parse_json_object(
        await read_asgi_body(request.receive, request.headers.get("content-length"), MAX_POLICY_BYTES)
    )
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "'model' is required", code="invalid_value", param="model")
    try:
        active = _store(request).active(policy)
    except PolicyNotFound:
        raise GatewayError(404, f"no active policy named {policy!r}", code="policy_not_found") from None
    principal = await _principal_for(request, admin, key_id)
    classifier = _router_classifier(request, active)
    classification = await asyncio.to_thread(_classify, active, body, classifier)
    result = explain(
        active,
        classification,
        principal=principal,
        requested_model=model,
        target_stats=_target_stats(request),
        rng=random.Random(seed) if seed is not None else None,
    )
    return json_response(result)
