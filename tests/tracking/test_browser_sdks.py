"""The browser SDKs people already use, from npm, unchanged, on a site of another origin: every call
arrives once, in the right tenant, as sent; aliases link; nothing is blocked by CORS.

Segment's `@segment/analytics-next` and RudderStack's `@rudderstack/analytics-js` v3 are bundled by
esbuild (both from npm, dev dependencies) into a page served by a second loopback server, so each
request is cross-origin as on a customer's site. Every other host is unreachable (Chromium's host
resolver), so an SDK that tried its vendor's CDN would fail fast. No Playwright routes: they answer
preflights themselves and would hide exactly what is under test.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError

from tests.browser import chromium_context
from tests.servers import free_port
from tests.tracking.helpers import inbox_calls
from tracking.loader import load_inbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = Path(__file__).resolve().parent / "browser_sdks"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>A customer's shop</h1><script src="segment.js"></script><script src="rudderstack.js"></script></body></html>"""
TYPES = ["alias", "group", "identify", "page", "track"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """The SDK bundles and a page, served from their own origin."""
    folder = Path(tempfile.mkdtemp(prefix="cdp-site-"))
    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    for name in ("segment", "rudderstack"):
        subprocess.run([str(esbuild), str(ENTRIES / f"{name}.js"), "--bundle", "--format=iife", "--platform=browser",
                        f"--outfile={folder / (name + '.js')}", "--log-level=warning"], check=True, cwd=ROOT, timeout=120)
    (folder / "index.html").write_text(PAGE)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(playwright_driver):
    """Chromium that reaches 127.0.0.1 and nothing else."""
    with chromium_context(playwright_driver, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1") as context:
        yield context


@pytest.fixture
def shop_page(browser, site):
    page = browser.new_page()
    page.set_default_timeout(20000)
    failed = []
    page.on("requestfailed", lambda request: failed.append((request.method, request.url, request.failure)))
    page.on("console", lambda message: failed.append(("console", message.type, message.text)) if message.type == "error" else None)
    page.goto(site + "/index.html")
    page.failures = failed
    yield page
    page.close()


def _server(live_server) -> str:
    """The live server by address: every name but 127.0.0.1 is unreachable from this browser."""
    return live_server.url.replace("localhost", "127.0.0.1")


def _wait_for_calls(page, tenant_id: int, count: int, deadline_seconds: float = 20) -> list[dict]:
    """Until the inbox holds `count` calls of the tenant: woken by each request the page finishes."""
    deadline, calls = time.monotonic() + deadline_seconds, []
    while time.monotonic() < deadline:
        try:
            calls = inbox_calls(tenant_id)
        except OperationalError:  # SQLite: the live server is writing this very moment; look again
            calls = []
        if len(calls) >= count:
            break
        try:
            page.wait_for_event("requestfinished", timeout=1000)
        except Exception:  # noqa: BLE001 - nothing finished in that second; look again
            pass
    return calls


def _check_delivered(calls: list[dict], *, user: str, anonymous_id: str, email: str, page_url: str) -> None:
    assert sorted(c["type"] for c in calls) == TYPES, [c["type"] for c in calls]
    by_type = {c["type"]: c for c in calls}
    assert by_type["identify"]["userId"] == user and by_type["identify"]["anonymousId"] == anonymous_id
    traits = by_type["identify"]["traits"] or by_type["identify"]["context"].get("traits")
    assert traits["email"] == email
    assert by_type["track"]["event"] == "Order Completed" and by_type["track"]["properties"]["revenue"] in (42.5, 17)
    assert by_type["page"]["name"] == "Install" and by_type["page"]["properties"]["path"] == "/docs/install"
    assert by_type["group"]["groupId"] and by_type["group"]["traits"]["name"]
    for call in calls:
        assert call["anonymousId"] == anonymous_id, call["type"]
        assert call["context"]["userAgent"].startswith("Mozilla/") and call["context"]["page"]["url"] == page_url, call["type"]


def _check_alias_links(api, user: str, previous: str) -> None:
    load_inbox()
    resolved = api.get(f"/api/identity/resolve?type=user_id&value={user}").json()["cdp_id"]
    assert api.get(f"/api/identity/resolve?type=anonymous_id&value={previous}").json()["cdp_id"] == resolved


def _check_arrived(page, *, sent: dict, tenant, other_tenant, api, user: str, email: str, previous: str, site: str) -> None:
    """Every call arrived once, as sent, in the SDK's tenant only, without a failed request; the alias links."""
    calls = _wait_for_calls(page, tenant.ref.id, len(TYPES))
    assert not [f for f in page.failures if "127.0.0.1" in str(f)], page.failures
    _check_delivered(calls, user=user, anonymous_id=sent["anonymousId"], email=email, page_url=f"{site}/index.html")
    assert inbox_calls(other_tenant.ref.id) == []
    _check_alias_links(api, user, previous)


@pytest.mark.parametrize("batching", [False, True], ids=["standard", "batching"])
def test_segment_analytics_next_from_another_origin(shop_page, live_server, site, tenant_a, tenant_b, api_as, batching):
    result = shop_page.evaluate("config => window.sendWithSegment(config)",
                                {"writeKey": tenant_a.write_key, "cdnURL": f"{_server(live_server)}/api", "batching": batching})
    _check_arrived(shop_page, sent=result, tenant=tenant_a, other_tenant=tenant_b, api=api_as(tenant_a, "viewer"), user="seg-user",
                   email="Seg.User@Example.com", previous="seg-anon-before", site=site)


@pytest.mark.parametrize("mode", ["standard", "batching", "beacon"])
def test_rudderstack_v3_from_another_origin(shop_page, live_server, site, tenant_a, tenant_b, api_as, mode):
    result = shop_page.evaluate("config => window.sendWithRudderStack(config)", {
        "writeKey": tenant_a.write_key, "dataPlaneUrl": f"{_server(live_server)}/api", "configUrl": f"{_server(live_server)}/api",
        "batching": mode == "batching", "beacon": mode == "beacon"})
    _check_arrived(shop_page, sent=result, tenant=tenant_a, other_tenant=tenant_b, api=api_as(tenant_a, "viewer"), user="rs-user",
                   email="RS.User@Example.com", previous="rs-anon-before", site=site)
    profile = api_as(tenant_a, "viewer").get("/api/customers/lookup?type=user_id&value=rs-user").json()
    assert {t["key"]: t["value"] for t in profile["traits"]}["email"] == "RS.User@Example.com", "traits sent in context.traits"
