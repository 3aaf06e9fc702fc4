"""The console in a real browser (Debian's chromium via Playwright): one operator's whole session.

Sign in, create a key, break the policy and see the error at its line, fix and activate it, roll it back,
make real chat calls through the gateway and read the cost chart they feed; a hostile key name and owner
render as text. Screenshots go to test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import REPO, Gateway

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
HOSTILE = "<img src=x onerror=alert(1)>"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1320, "height": 900})
    page = context.new_page()
    page.dialogs = []  # every alert/confirm the page raised
    page.errors = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.accept()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def active_version(gateway: Gateway) -> int:
    with gateway.admin() as admin:
        return int(admin.get("/admin/policies/default").headers["x-policy-version"])


def policy_text(gateway: Gateway) -> str:
    with gateway.admin() as admin:
        return admin.get("/admin/policies/default").text


def wait_for_spend(gateway: Gateway, team: str, requests: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with gateway.admin() as admin:
            rows = admin.get("/admin/costs", params={"group_by": "team", "team": team}).json()["rows"]
        if rows and rows[0]["requests"] >= requests:
            return
        time.sleep(0.2)
    raise AssertionError(f"the ledger never showed {requests} requests of team {team}")


def sign_in(page: Any, gateway: Gateway) -> None:
    page.goto(gateway.url + "/ui")
    page.fill("#admin-key", gateway.admin_key)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#nav a[data-page=costs]")
    assert page.input_value("#admin-key") == ""  # the key does not stay in the page
    assert gateway.admin_key not in page.content()
    cookies = page.context.cookies()
    assert [c["httpOnly"] for c in cookies if c["name"] == "gw_console"] == [True]
    assert page.evaluate("document.cookie") == ""  # invisible to scripts


def test_operator_session(page: Any, gateway: Gateway, pg_url: str) -> None:
    sign_in(page, gateway)
    page.wait_for_selector("#cost-rows")
    shot(page, "1-costs-before")

    # --- Keys: create one, its secret shown once with a copy button ---------------------------------
    page.goto(gateway.url + "/ui#keys")
    page.wait_for_selector("#key-create")
    page.fill("#key-name", "browser-user")
    page.fill("#key-team", "team-browser")
    page.fill("#key-owner", HOSTILE)
    page.fill("#new-rpm", "120")
    page.fill("#new-budget-month", "5")
    page.fill("#new-budget-day", "1.5")
    page.click("#key-create-submit")
    secret = page.wait_for_selector("#key-secret").text_content()
    assert secret is not None and secret.startswith("sk-")
    page.click("#key-copy")
    page.wait_for_selector("#key-copy:not(:text-is('Copy'))")  # "Copied", or "Selected" without a clipboard
    row = page.wait_for_selector("#keys-table tr:has(td.key-name:text-is('browser-user'))")
    assert "120 rpm" in row.text_content() and "$1.5/day" in row.text_content()
    assert "$5/month" in row.text_content()
    page.wait_for_selector("#keys-table tr:has(td.key-name:text-is('browser-user')) meter")
    shot(page, "2-keys-created")

    # A key name no API accepts, written straight into the table: it must still show as text.
    with gateway.admin() as admin:
        keys = admin.get("/admin/keys").json()["data"]
    key_id = next(k["id"] for k in keys if k["name"] == "browser-user")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET name = %s WHERE id = %s", (HOSTILE, key_id))
    page.reload()
    hostile_row = page.wait_for_selector(f"#keys-table tr[data-key-id='{key_id}']")
    assert hostile_row.query_selector("td.key-name").text_content() == HOSTILE
    assert hostile_row.query_selector("td.key-owner").text_content() == HOSTILE
    assert page.query_selector_all("#keys-table img") == []
    shot(page, "3-keys-hostile-name")

    # --- Policies: break it, see the error at its line, fix and activate, diff, roll back ----------
    before = active_version(gateway)
    original = policy_text(gateway)
    page.goto(gateway.url + "/ui#policies")
    page.wait_for_selector("#policy-status:has-text('active version')")
    assert page.input_value("#policy-text") == original
    broken = original.replace("\nrules:", "\nrulez:", 1)
    broken_line = broken.split("\n").index("rulez:") + 1
    page.fill("#policy-text", broken)
    page.click("#policy-validate")
    marked = page.wait_for_selector(f".gutter .line.error[data-line='{broken_line}']")
    assert "rulez" in (marked.get_attribute("title") or "")
    # The backdrop behind the text marks the same line.
    backdrop = page.eval_on_selector_all(".backdrop .line", "ls => ls.map(l => l.className)")
    assert "error" in backdrop[broken_line - 1]
    assert "rulez" in page.text_content("#policy-problems")
    assert f"line {broken_line}" in page.text_content("#policy-problems")
    page.click(f"#policy-problems button:text-is('line {broken_line}')")  # jumps to the line, selected
    selected = page.eval_on_selector("#policy-text", "a => a.value.slice(a.selectionStart, a.selectionEnd)")
    assert selected == "rulez:"
    shot(page, "4-policy-error-at-line")
    page.click("#policy-activate")  # refused: still the old version
    page.wait_for_selector("#policy-status.error")
    assert active_version(gateway) == before

    fixed = "# edited in the console <script>alert(1)</script>\n" + original
    page.fill("#policy-text", fixed)
    page.click("#policy-validate")
    page.wait_for_selector("#policy-status.ok")
    assert page.query_selector_all(".gutter .line.error") == []
    page.click("#policy-activate")
    page.wait_for_selector(f"#policy-status:has-text('activated version {before + 1}')")
    assert active_version(gateway) == before + 1
    assert policy_text(gateway) == fixed

    page.wait_for_selector(f"#diff-from option[value='{before}']", state="attached")
    page.select_option("#diff-from", str(before))
    page.select_option("#diff-to", str(before + 1))
    page.click("#diff-show")
    diff = page.wait_for_selector("#policy-diff")
    assert "+# edited in the console <script>alert(1)</script>" in diff.text_content()
    assert page.query_selector_all("#policy-diff script") == []
    shot(page, "5-policy-diff")

    page.select_option("#rollback-version", str(before))
    page.click("#rollback")
    page.wait_for_selector("#policy-status:has-text('rolled back')")
    assert active_version(gateway) == before + 2
    assert policy_text(gateway) == original
    assert any("Activate a copy of version" in d for d in page.dialogs)

    page.fill("#explain-prompt", "Write a Python function that merges two sorted lists.")
    page.click("#explain-run")
    page.wait_for_selector("#explain-trace")
    target = page.text_content("#explain-target")
    assert target and target != "—"
    rules = page.query_selector_all("#explain-rules tbody tr")
    assert rules, "the trace lists the rules considered"
    assert any(r.query_selector("td.yes") for r in rules)
    shot(page, "6-policy-try-it")
    # What a caller sends comes back in the trace (the model name): it stays text.
    page.fill("#explain-model", HOSTILE)
    page.fill("#explain-prompt", f"{HOSTILE} mail bob@example.com")
    page.click("#explain-run")
    refusal = page.wait_for_selector("#explain-trace .notice.error")
    assert f"The model '{HOSTILE}' is not offered here" in refusal.text_content()
    assert f"requested model{HOSTILE}" in page.text_content("#explain-trace dl")
    assert "email" in page.text_content("#explain-trace dl")
    assert page.query_selector_all("#explain-trace img") == []

    # --- Real calls through the gateway, then the cost chart ------------------------------------------
    for prompt in ("Hello!", "What is the capital of France?", "Summarise: the cat sat on the mat."):
        reply = httpx.post(
            gateway.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {secret}"},
            json={"model": "auto", "messages": [{"role": "user", "content": prompt}]},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
    wait_for_spend(gateway, "team-browser", 3)

    page.goto(gateway.url + "/ui#costs")
    page.wait_for_selector("#cost-rows")
    # The whole suite's traffic shares this gateway: look at this test's team, as an operator would.
    page.fill("#cost-team", "team-browser")
    page.select_option("#cost-group", "team")
    page.click("#cost-refresh")
    page.wait_for_selector("#cost-rows td:text-is('team-browser')")
    row = page.query_selector("#cost-rows tr:has(td:text-is('team-browser'))")
    cells = [c.text_content() for c in row.query_selector_all("td")]
    assert cells[1] == "3"
    assert page.query_selector_all("#cost-chart svg rect.bar"), "the chart draws the spend"
    assert "team-browser" in page.text_content("#cost-chart .legend")
    titles = [t.text_content() for t in page.query_selector_all("#cost-chart rect.bar title")]
    assert any(t.startswith("team-browser: $") for t in titles)
    csv_href = page.get_attribute("#cost-csv", "href")
    assert csv_href.startswith("/ui/api/admin/costs?") and "format=csv" in csv_href
    csv = page.request.get(gateway.url + csv_href)
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert "team-browser,3," in csv.text()
    shot(page, "7-costs-after-calls")
    # By key, within the team: ids shown with their (hostile) names, as text.
    page.select_option("#cost-group", "key")
    label = f"{HOSTILE} ({key_id})"
    page.wait_for_selector(f"#cost-rows td:text-is('{label}')")
    assert label in page.text_content("#cost-chart .legend")
    assert page.query_selector_all("#cost-chart img, #cost-rows img") == []

    # --- Keys again: the spend shows against the budget; change the limits; revoke -------------------
    page.goto(gateway.url + "/ui#keys")
    row_selector = f"#keys-table tr[data-key-id='{key_id}']"
    page.wait_for_selector(f"{row_selector} .spend")
    spends = [e.text_content() for e in page.query_selector_all(f"{row_selector} .spend")]
    assert len(spends) == 2 and any(t.endswith("of $5.00 / month") for t in spends)
    assert all(not t.startswith(" $0 of") for t in spends), spends  # the calls were charged
    page.click(f"{row_selector} button.edit")
    page.fill(f"#edit-{key_id}-rpm", "60")
    page.click("tr.edit-row button.primary")
    page.wait_for_selector(f"{row_selector}:has-text('60 rpm')")
    with gateway.admin() as admin:
        limits = admin.get(f"/admin/keys/{key_id}").json()["limits"]
    assert limits["rpm"] == 60  # changed, and the budgets it had are kept
    assert {(b["period"], b["usd"]) for b in limits["budgets"]} == {("day", "1.5"), ("month", "5")}
    page.click(f"{row_selector} button.revoke")
    page.wait_for_selector(row_selector, state="detached")
    with gateway.admin() as admin:
        assert admin.get(f"/admin/keys/{key_id}").json()["revoked_at"] is not None
    revoked = httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "auto", "messages": [{"role": "user", "content": "still there?"}]},
        timeout=30,
    )
    assert revoked.status_code == 401

    page.goto(gateway.url + "/ui#live")
    page.wait_for_selector("#live-targets-table")
    page.wait_for_timeout(3500)  # a second poll: rates over a window
    shot(page, "8-live")

    # --- Sign out: the session is gone on the server too -------------------------------------------
    page.click("#sign-out")
    page.wait_for_selector("#sign-in-form", state="visible")
    assert page.request.get(gateway.url + "/ui/api/session").status == 401

    assert "1" not in page.dialogs, "the hostile markup ran"
    assert page.errors == []
