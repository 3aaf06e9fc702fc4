"""The policy admin API through a real gateway process: read, edit, validate, history, preconditions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import yaml

from tests.policies.helpers import (
    JSON,
    YAML,
    default_text,
    policy_data,
    policy_yaml,
    unique_name,
)
from tests.support import Gateway


def create(gw: Gateway, name: str, text: str | None = None) -> httpx.Response:
    with gw.admin() as admin:
        r = admin.put(f"/admin/policies/{name}", content=text or policy_yaml(name), headers=YAML)
    assert r.status_code == 201, r.text
    return r


def test_default_is_seeded_from_the_shipped_file_and_listed(policy_gateway: Gateway) -> None:
    with policy_gateway.admin() as admin:
        listed = admin.get("/admin/policies").json()["data"]
        got = admin.get("/admin/policies/default")
        first = admin.get("/admin/policies/default/versions/1")
        history = admin.get("/admin/policies/default/versions").json()["data"]
    default = next(p for p in listed if p["name"] == "default")
    assert default["active_version"] >= 1 and default["updated_at"] > 0
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/yaml")
    assert got.headers["etag"] == f'"{default["active_version"]}"'
    assert first.text == default_text()  # the text as shipped, comments included
    assert history[-1]["version"] == 1 and history[-1]["created_by"] == "seed"
    assert history[-1]["note"] == "seeded from default.yaml"


def test_yaml_round_trip_keeps_the_text_as_submitted(policy_gateway: Gateway) -> None:
    name = unique_name()
    text = policy_yaml(name, description="kept verbatim # with comments")
    put = create(policy_gateway, name, text)
    body = put.json()
    assert body["version"] == 1 and body["changed"] is True and body["active"] is True
    assert body["created_by"] == "master" and len(body["sha256"]) == 64
    assert put.headers["etag"] == '"1"'
    with policy_gateway.admin() as admin:
        got = admin.get(f"/admin/policies/{name}")
    assert got.text == text and got.headers["etag"] == '"1"'


def test_json_round_trip_and_format_negotiation(policy_gateway: Gateway) -> None:
    name = unique_name()
    create(policy_gateway, name)
    with policy_gateway.admin() as admin:
        as_json = admin.get(f"/admin/policies/{name}", headers={"Accept": "application/json"})
        by_query = admin.get(f"/admin/policies/{name}", params={"format": "json"})
        assert as_json.status_code == 200 and as_json.json() == by_query.json()
        document = as_json.json()
        assert document["name"] == name and document["targets"]["llama-3.1-8b"]["internal"] is True
        document["description"] = "edited as JSON"
        put = admin.put(
            f"/admin/policies/{name}", json=document, headers={**JSON, "If-Match": as_json.headers["etag"]}
        )
        assert put.status_code == 200, put.text
        assert put.json()["version"] == 2 and put.json()["format"] == "json"
        again = admin.get(f"/admin/policies/{name}", params={"format": "json"}).json()
        as_yaml = admin.get(f"/admin/policies/{name}")  # a JSON version shown as canonical YAML
    assert again == document
    assert yaml.safe_load(as_yaml.text)["description"] == "edited as JSON"


def test_identical_text_creates_no_new_version(policy_gateway: Gateway) -> None:
    name = unique_name()
    text = policy_yaml(name)
    create(policy_gateway, name, text)
    with policy_gateway.admin() as admin:
        r = admin.put(f"/admin/policies/{name}", content=text, headers={**YAML, "If-Match": '"1"'})
        versions = admin.get(f"/admin/policies/{name}/versions").json()["data"]
    assert r.status_code == 200 and r.json()["changed"] is False and r.json()["version"] == 1
    assert [v["version"] for v in versions] == [1]


def _broken(name: str) -> dict[str, tuple[str, str, str]]:
    """Bad documents: kind -> (text, expected error path, expected message fragment)."""
    good = policy_yaml(name)
    return {
        "unknown field": (good.replace("rules:\n", "rulez:\n", 1), "rulez", "unknown field 'rulez'"),
        "unknown target": (
            good.replace("route: llama-3.1-8b", "route: llama-9", 1),
            "rules[0].route",
            "unknown target 'llama-9'",
        ),
        "wrong type": (
            good.replace("context_window: 128000", "context_window: big", 1),
            'targets["gpt-4o"].context_window',
            "integer",
        ),
        "missing field": (
            good.replace("    provider: openai\n", "", 1),
            'targets["gpt-4o"].provider',
            "missing required field 'provider'",
        ),
        "two actions": (
            good.replace("    route: $requested\n", "    route: $requested\n    block: {message: stop}\n", 1),
            "rules[1]",
            "exactly one action",
        ),
        "duplicate key": (
            good.replace("aliases: [auto, smart, cheap]", "aliases: [auto]\naliases: [cheap]", 1),
            "aliases",
            "duplicate key",
        ),
        "external target on a sensitive rule": (
            good.replace(
                "route: llama-3.1-8b\n    internal_only: true", "route: gpt-4o\n    internal_only: true"
            ),
            "rules[0].route",
            "external",
        ),
        "name differs from the URL": (good.replace(f"name: {name}", "name: other", 1), "name", "differs"),
        "malformed YAML": (
            good.replace("aliases: [auto, smart, cheap]", "aliases: [auto, smart", 1),
            "",
            "YAML",
        ),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "unknown field",
        "unknown target",
        "wrong type",
        "missing field",
        "two actions",
        "duplicate key",
        "external target on a sensitive rule",
        "name differs from the URL",
        "malformed YAML",
    ],
)
def test_every_validation_error_kind_has_path_and_line(policy_gateway: Gateway, kind: str) -> None:
    name = unique_name("bad")
    text, path, fragment = _broken(name)[kind]
    with policy_gateway.admin() as admin:
        checked = admin.post("/admin/policies/validate", content=text, headers=YAML, params={"name": name})
        put = admin.put(f"/admin/policies/{name}", content=text, headers=YAML)
        missing = admin.get(f"/admin/policies/{name}")
    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert put.status_code == 422, put.text
    body = put.json()
    assert body["error"]["code"] == "invalid_policy" and body["error"]["type"] == "invalid_request_error"
    assert body["errors"] == checked.json()["errors"]
    matching = [e for e in body["errors"] if e["path"] == path and fragment in e["message"]]
    assert matching, body["errors"]
    error = matching[0]
    assert error["severity"] == "error" and isinstance(error["line"], int) and error["line"] >= 1
    assert text.splitlines()[error["line"] - 1].strip() != ""
    assert missing.status_code == 404  # nothing was stored


def test_malformed_yaml_and_json_point_at_the_line(policy_gateway: Gateway) -> None:
    name = unique_name("bad")
    bad_yaml = f"name: {name}\ntargets:\n  a: [unclosed\nrules: []\n"
    bad_json = '{\n  "name": "x",\n  "targets": {,\n}\n'
    with policy_gateway.admin() as admin:
        y = admin.put(f"/admin/policies/{name}", content=bad_yaml, headers=YAML)
        j = admin.put(f"/admin/policies/{name}", content=bad_json, headers=JSON)
    assert y.status_code == 422 and y.json()["errors"][0]["line"] in (3, 4)
    assert "YAML" in y.json()["errors"][0]["message"]
    assert j.status_code == 422 and j.json()["errors"][0]["line"] == 3
    assert "JSON" in j.json()["errors"][0]["message"]


def test_control_characters_are_a_yaml_error_not_a_server_error(policy_gateway: Gateway) -> None:
    """PyYAML's reader refuses control characters before parsing; JSON allows them in strings."""
    name = unique_name("ctl")
    bell = policy_yaml(name).replace("\n", "\n# bell \x07\n", 1)
    with_del = {**policy_data(name), "description": "tab\tand del \x7f inside"}
    with policy_gateway.admin() as admin:
        checked = admin.post("/admin/policies/validate", content=bell, headers=YAML)
        put = admin.put(f"/admin/policies/{name}", content=bell, headers=YAML)
        as_json = admin.put(f"/admin/policies/{name}", json=with_del)
    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert checked.json()["errors"][0]["line"] == 2 and "YAML" in checked.json()["errors"][0]["message"]
    assert put.status_code == 422
    assert as_json.status_code == 201, as_json.text


def test_invalid_policy_is_never_activated(policy_gateway: Gateway) -> None:
    name = unique_name()
    create(policy_gateway, name)
    broken = policy_yaml(name).replace("strategy: cheapest", "strategy: cheapestt", 1)
    with policy_gateway.admin() as admin:
        r = admin.put(f"/admin/policies/{name}", content=broken, headers={**YAML, "If-Match": '"1"'})
        assert r.status_code == 422
        got = admin.get(f"/admin/policies/{name}")
        versions = admin.get(f"/admin/policies/{name}/versions").json()
        listed = {p["name"]: p for p in admin.get("/admin/policies").json()["data"]}
        explained = admin.post(
            "/admin/routing/explain",
            params={"policy": name},
            json={"model": "cheap", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert got.headers["etag"] == '"1"' and got.text == policy_yaml(name)
    assert versions["active_version"] == 1 and len(versions["data"]) == 1
    assert listed[name]["active_version"] == 1
    assert explained.status_code == 200 and explained.json()["policy"]["version"] == "1"


def test_warnings_do_not_block_and_are_reported(policy_gateway: Gateway) -> None:
    name = unique_name()
    text = policy_yaml(name).replace(
        "fallbacks: [llama-3.1-8b]", "fallbacks: [llama-3.1-8b, llama-3.1-8b]", 1
    )
    twice_line = next(i for i, line in enumerate(text.splitlines(), 1) if "llama-3.1-8b, llama" in line)
    with policy_gateway.admin() as admin:
        checked = admin.post("/admin/policies/validate", content=text, headers=YAML).json()
        put = admin.put(f"/admin/policies/{name}", content=text, headers=YAML)
    assert checked["valid"] is True and checked["errors"] == []
    twice = [w for w in checked["warnings"] if "listed twice" in w["message"]]
    assert twice == [
        {
            "path": "rules[3].fallbacks[1]",
            "line": twice_line,
            "severity": "warning",
            "message": "target 'llama-3.1-8b' is listed twice in this rule",
        }
    ]
    assert put.status_code == 201 and put.json()["warnings"] == checked["warnings"]


def test_validate_stores_nothing(policy_gateway: Gateway) -> None:
    name = unique_name()
    with policy_gateway.admin() as admin:
        ok = admin.post("/admin/policies/validate", content=policy_yaml(name), headers=YAML)
        as_json = admin.post("/admin/policies/validate", json=policy_data(name))
        assert admin.get(f"/admin/policies/{name}").status_code == 404
    assert ok.status_code == 200 and ok.json() == {"valid": True, "name": name, "errors": [], "warnings": []}
    assert as_json.json()["valid"] is True


def test_if_match_is_required_and_checked(policy_gateway: Gateway) -> None:
    name = unique_name()
    create(policy_gateway, name)
    v2 = policy_yaml(name, description="second")
    with policy_gateway.admin() as admin:
        missing = admin.put(f"/admin/policies/{name}", content=v2, headers=YAML)
        assert missing.status_code == 428 and missing.json()["error"]["code"] == "precondition_required"
        ok = admin.put(f"/admin/policies/{name}", content=v2, headers={**YAML, "If-Match": '"1"'})
        assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
        stale = admin.put(
            f"/admin/policies/{name}", content=policy_yaml(name, description="third"),
            headers={**YAML, "If-Match": '"1"'},
        )  # fmt: skip
        assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
        assert stale.json()["error"]["code"] == "version_mismatch"
        garbage = admin.put(f"/admin/policies/{name}", content=v2, headers={**YAML, "If-Match": '"abc"'})
        assert garbage.status_code == 412
        superscript = admin.put(  # "²" is a digit to str.isdigit(), not to int()
            f"/admin/policies/{name}", content=v2, headers={**YAML, "If-Match": '"\xb2"'.encode("latin-1")}
        )
        assert superscript.status_code == 412
        weak = admin.put(
            f"/admin/policies/{name}", content=policy_yaml(name, description="weak"),
            headers={**YAML, "If-Match": 'W/"2"'},
        )  # fmt: skip
        assert weak.status_code == 200 and weak.json()["version"] == 3
        star = admin.put(
            f"/admin/policies/{name}", content=policy_yaml(name, description="any"),
            headers={**YAML, "If-Match": "*"},
        )  # fmt: skip
        assert star.status_code == 200 and star.json()["version"] == 4
        other = unique_name()
        absent = admin.put(
            f"/admin/policies/{other}", content=policy_yaml(other), headers={**YAML, "If-Match": '"1"'}
        )
        assert absent.status_code == 412
        not_modified = admin.get(f"/admin/policies/{name}", headers={"If-None-Match": '"4"'})
        assert not_modified.status_code == 304
        assert admin.get(f"/admin/policies/{name}/versions").json()["active_version"] == 4


async def _concurrent_puts(gw: Gateway, name: str, count: int, headers: dict[str, str]) -> list[int]:
    async with httpx.AsyncClient(
        base_url=gw.url, headers={"Authorization": f"Bearer {gw.admin_key}"}, timeout=30
    ) as client:
        replies = await asyncio.gather(
            *(
                client.put(
                    f"/admin/policies/{name}",
                    content=policy_yaml(name, description=f"{headers} writer {i}"),  # all texts differ
                    headers={**YAML, **headers},
                )
                for i in range(count)
            )
        )
    return [r.status_code for r in replies]


def test_concurrent_puts_with_the_same_if_match_one_wins(policy_gateway: Gateway) -> None:
    name = unique_name()
    create(policy_gateway, name)
    for round_ in range(6):
        statuses = asyncio.run(_concurrent_puts(policy_gateway, name, 4, {"If-Match": f'"{round_ + 1}"'}))
        assert statuses.count(200) == 1, statuses
        assert all(s in (409, 412) for s in statuses if s != 200), statuses
    with policy_gateway.admin() as admin:
        versions = admin.get(f"/admin/policies/{name}/versions").json()
    assert versions["active_version"] == 7 and len(versions["data"]) == 7


def test_concurrent_creation_of_one_name_one_wins(policy_gateway: Gateway) -> None:
    for _ in range(10):  # a race: try it often enough to lose it (it once let two creators both win)
        statuses = asyncio.run(_concurrent_puts(policy_gateway, unique_name(), 4, {}))
        assert statuses.count(201) == 1, statuses
        assert all(s in (409, 428) for s in statuses if s != 201), statuses


def test_versions_rollback_and_diff(policy_gateway: Gateway) -> None:
    name = unique_name()
    v1 = policy_yaml(name)
    v2 = v1.replace("strategy: cheapest", "strategy: fastest", 1)
    create(policy_gateway, name, v1)
    with policy_gateway.admin() as admin:
        assert admin.put(
            f"/admin/policies/{name}", content=v2, headers={**YAML, "If-Match": '"1"'}
        ).is_success
        rolled = admin.post(f"/admin/policies/{name}/rollback", json={"version": 1})
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["version"] == 3 and rolled.json()["note"] == "rollback to version 1"
        assert admin.get(f"/admin/policies/{name}").text == v1
        history = admin.get(f"/admin/policies/{name}/versions").json()
        old = admin.get(f"/admin/policies/{name}/versions/2")
        diff = admin.get(f"/admin/policies/{name}/diff", params={"from": 1, "to": 2}).json()
        same = admin.get(f"/admin/policies/{name}/diff", params={"from": 1, "to": 3}).json()
        canonical = admin.get(
            f"/admin/policies/{name}/diff", params={"from": 2, "to": 3, "canonical": "true"}
        ).json()
        stale_rollback = admin.post(
            f"/admin/policies/{name}/rollback", json={"version": 2}, headers={"If-Match": '"1"'}
        )
        missing = admin.post(f"/admin/policies/{name}/rollback", json={"version": 99})
        bad_body = admin.post(f"/admin/policies/{name}/rollback", json={"version": "1"})
        missing_version = admin.get(f"/admin/policies/{name}/versions/99")
        missing_diff = admin.get(f"/admin/policies/{name}/diff", params={"from": 1, "to": 99})
    assert [v["version"] for v in history["data"]] == [3, 2, 1]
    assert [v["active"] for v in history["data"]] == [True, False, False]
    assert all(v["created_by"] == "master" and v["created_at"] > 0 for v in history["data"])
    assert history["data"][0]["sha256"] == history["data"][2]["sha256"] != history["data"][1]["sha256"]
    assert old.text == v2 and old.headers["x-policy-version"] == "2"
    assert "-    strategy: cheapest\n" in diff["diff"] and "+    strategy: fastest\n" in diff["diff"]
    assert diff["diff"].startswith(f"--- {name}@1\n+++ {name}@2\n") and diff["identical"] is False
    assert same["diff"] == "" and same["identical"] is True
    changed = [" ".join(line.split()) for line in canonical["diff"].splitlines() if line[:2] in ("+ ", "- ")]
    assert changed == ["- strategy: fastest", "+ strategy: cheapest"] and canonical["canonical"] is True
    assert stale_rollback.status_code == 412
    assert missing.status_code == 404 and bad_body.status_code == 400
    assert missing_version.status_code == 404 and missing_diff.status_code == 404


def test_admin_only(policy_gateway: Gateway, policy_user_key: dict[str, Any]) -> None:
    name = unique_name()
    user = {"Authorization": f"Bearer {policy_user_key['key']}"}
    calls = [
        ("GET", "/admin/policies"),
        ("GET", "/admin/policies/default"),
        ("PUT", f"/admin/policies/{name}"),
        ("POST", "/admin/policies/validate"),
        ("GET", "/admin/policies/default/versions"),
        ("GET", "/admin/policies/default/versions/1"),
        ("GET", "/admin/policies/default/diff?from=1&to=1"),
        ("POST", "/admin/policies/default/rollback"),
        ("POST", "/admin/routing/explain"),
    ]
    with httpx.Client(base_url=policy_gateway.url, timeout=30) as client:
        for method, path in calls:
            as_user = client.request(method, path, headers={**user, **YAML}, content=policy_yaml(name))
            assert as_user.status_code == 403, (method, path, as_user.text)
            anonymous = client.request(method, path, headers=YAML, content=policy_yaml(name))
            assert anonymous.status_code == 401, (method, path)
    with policy_gateway.admin() as admin:
        assert admin.get(f"/admin/policies/{name}").status_code == 404


def test_body_limits_and_bad_bodies(policy_gateway: Gateway) -> None:
    name = unique_name()
    huge = policy_yaml(name) + "#" * (1024 * 1024)
    with policy_gateway.admin() as admin:
        assert admin.put(f"/admin/policies/{name}", content=huge, headers=YAML).status_code == 413
        assert admin.post("/admin/policies/validate", content=huge, headers=YAML).status_code == 413
        explain_huge = admin.post("/admin/routing/explain", content=b"{" + b" " * (1024 * 1024) + b"}")
        assert explain_huge.status_code == 413
        wrong_type = admin.put(f"/admin/policies/{name}", content="x", headers={"Content-Type": "image/png"})
        assert wrong_type.status_code == 415
        not_utf8 = admin.put(f"/admin/policies/{name}", content=b"name: \xff\xfe", headers=YAML)
        assert not_utf8.status_code == 400
        empty = admin.put(f"/admin/policies/{name}", content=b"", headers=YAML)
        assert empty.status_code == 422 and empty.json()["errors"][0]["message"] == "the document is empty"
        levels = "abcdefghij"
        bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{new}: &{new} [*{old}, *{old}, *{old}, *{old}, *{old}, *{old}]\n"
            for old, new in zip(levels, levels[1:], strict=False)
        )
        assert admin.put(f"/admin/policies/{name}", content=bomb, headers=YAML).status_code == 422
        not_a_mapping = admin.put(f"/admin/policies/{name}", content="- a\n- b\n", headers=YAML)
        assert not_a_mapping.status_code == 422
        bad_name = admin.put("/admin/policies/-bad", content=policy_yaml("-bad"), headers=YAML)
        assert bad_name.status_code == 400 and bad_name.json()["error"]["param"] == "name"
        assert admin.get("/admin/policies/-bad").status_code == 404
        bad_format = admin.get("/admin/policies/default", params={"format": "xml"})
        assert bad_format.status_code == 400
        assert admin.get(f"/admin/policies/{name}").status_code == 404


def test_explain_uses_the_active_policy(policy_gateway: Gateway, policy_user_key: dict[str, Any]) -> None:
    chat = {"model": "cheap", "messages": [{"role": "user", "content": "Say hello."}]}
    sensitive = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Summarise the project bluebird plan, internal only."}],
    }
    with policy_gateway.admin() as admin:
        version = admin.get("/admin/policies/default").headers["x-policy-version"]
        cheap = admin.post("/admin/routing/explain", json=chat)
        secret = admin.post("/admin/routing/explain", json=sensitive)
        as_user = admin.post("/admin/routing/explain", json=chat, params={"key_id": policy_user_key["id"]})
        no_model = admin.post("/admin/routing/explain", json={"messages": []})
        no_policy = admin.post("/admin/routing/explain", json=chat, params={"policy": "nope"})
        no_key = admin.post("/admin/routing/explain", json=chat, params={"key_id": "key_nope"})
    assert cheap.status_code == 200, cheap.text
    body = cheap.json()
    assert body["policy"] == {"name": "default", "version": version}
    assert body["rule"] == "cheap-alias" and body["target"] == "llama-3.1-8b"
    assert body["rules_considered"] and body["classification"]["task"]
    assert body["caller"]["key_id"] == "master"
    assert secret.json()["rule"] == "sensitive-stays-internal" and secret.json()["target"] == "llama-3.1-8b"
    assert "marker:internal-project" in str(secret.json()["classification"])
    assert as_user.json()["caller"] == {
        "key_id": policy_user_key["id"],
        "name": "policies-user",
        "team": "team-p",
    }
    assert no_model.status_code == 400 and no_policy.status_code == 404 and no_key.status_code == 404

    # The chat path decides the same way.
    with httpx.Client(base_url=policy_gateway.url, timeout=30) as client:
        served = client.post(
            "/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {policy_user_key['key']}"}
        )
    assert served.status_code == 200, served.text
    assert served.headers["x-gateway-rule"] == body["rule"]
    assert served.headers["x-gateway-policy-version"] == version
