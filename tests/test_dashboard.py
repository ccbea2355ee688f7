"""The home dashboard against a known dataset: customers and the identified share, events in the
last 24 hours and 7 days, a day per bar in the tenant's time zone, the last call received and
loaded, refused and set-aside calls, merges and conflicts this week; and the same figures in Chromium."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from console.dashboard import dashboard
from customers.selectors import event_volume
from tenancy import services
from tenancy.roles import Role
from tests.conftest import ApiClient, make_tenant
from tracking.loader import load_inbox
from tracking.models import InboxBatch

PASSWORD = "correct-horse-battery-staple"


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def send_known_dataset(write_key: str, now: datetime) -> None:
    """Three customers (two identified), ten events (nine in the last 30 days), one refused call,
    one merge and one conflict."""
    sdk = ApiClient.for_write_key(write_key)
    track = [("a-anon", now - timedelta(hours=2))] * 3 + [("a-anon", now - timedelta(hours=20))] \
        + [("a-merge", now - timedelta(days=5))] * 2 + [("a-solo", now - timedelta(days=60))]
    calls = [{"type": "track", "event": "Viewed", "anonymousId": anon, "timestamp": _iso(at), "messageId": f"t{i}"}
             for i, (anon, at) in enumerate(track)]
    calls.append({"type": "track", "anonymousId": "a-anon", "messageId": "refused"})  # no event name: refused
    assert sdk.post("/api/v1/batch", json.dumps({"batch": calls})).status_code == 200
    load_inbox()
    # ada joins a-merge's customer, a-solo's customer is merged into hers, and a second user id on
    # a-merge is a conflict (grace stays a customer of her own).
    identify = [{"type": "identify", "userId": "ada", "anonymousId": anon, "traits": {"email": "ada@example.com"},
                 "timestamp": _iso(now - timedelta(hours=1)), "messageId": f"i-{anon}"} for anon in ("a-merge", "a-solo")]
    identify.append({"type": "identify", "userId": "grace", "anonymousId": "a-merge", "timestamp": _iso(now - timedelta(hours=1)),
                     "messageId": "i-grace"})
    assert sdk.post("/api/v1/batch", json.dumps({"batch": identify})).status_code == 200
    load_inbox()


@pytest.mark.django_db
@pytest.mark.usefixtures("lakehouse")
def test_the_dashboard_adds_up_a_known_dataset(tenant_a):
    now = datetime.now(UTC).replace(microsecond=0)
    send_known_dataset(tenant_a.write_key, now)
    InboxBatch.objects.create(tenant_id=tenant_a.ref.id, received_at=now, body="{}", accepted="{}", calls=4, failed_at=now,
                              error="ValueError: broken")
    board = dashboard(tenant=tenant_a.ref, now=now + timedelta(seconds=1))
    assert (board.customers, board.identified) == (3, 2), "a-anon's customer, ada (with a-merge), grace"
    assert board.identified_share == pytest.approx(2 / 3)
    assert board.events.last_24h == 4 + 3, "three at -2 h, one at -20 h, the three identifies at -1 h"
    assert board.events_last_7_days == 9 and board.chart.total == 9, "the event 60 days ago is outside both"
    assert len(board.chart.rows) == 30 and board.events.days[-1][0] == now.date()
    assert (board.ingestion.rejected_calls, board.ingestion.set_aside_calls, board.ingestion.pending_calls) == (1, 4, 0)
    assert board.ingestion.last_received_at is not None and board.ingestion.last_loaded_at is not None and board.receiving
    assert (board.merges_this_week, board.conflicts_this_week) == (1, 1)


@pytest.mark.django_db
@pytest.mark.usefixtures("lakehouse")
def test_days_are_the_tenants_own(tenant_a):
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    sdk = ApiClient.for_write_key(tenant_a.write_key)
    calls = [{"type": "track", "event": "Late", "anonymousId": "a1", "timestamp": "2026-11-19T23:30:00Z", "messageId": "late"},
             {"type": "track", "event": "Early", "anonymousId": "a1", "timestamp": "2026-11-19T22:30:00Z", "messageId": "early"}]
    assert sdk.post("/api/v1/batch", json.dumps({"batch": calls})).status_code == 200
    load_inbox()
    utc = event_volume(tenant=tenant_a.ref, days=3, now=now)
    assert utc.days == [(date(2026, 11, 18), 0), (date(2026, 11, 19), 2), (date(2026, 11, 20), 0)]
    paris = services.tenant_update(tenant=tenant_a.ref, name=tenant_a.ref.name, time_zone="Europe/Paris", actor="test")
    local = event_volume(tenant=paris, days=3, now=now)
    assert local.days == [(date(2026, 11, 18), 0), (date(2026, 11, 19), 1), (date(2026, 11, 20), 1)], \
        "23:30 UTC is 00:30 the next day in Paris"
    assert local.last_24h == utc.last_24h == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("lakehouse")
def test_an_empty_tenant_gets_zeros_and_a_way_to_start(console_as):
    page = console_as(Role.ADMIN).get("/").content.decode()
    assert 'data-figure="customers"' in page and "none yet" in page and "Create a write key" in page
    assert "never" in page, "no call received yet"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("lakehouse")
def test_the_dashboard_in_chromium_shows_the_figures_and_links_to_them(page, live_server):
    tenant = make_tenant("dash")
    services.member_set(tenant=tenant.ref, email="op@example.com", role=Role.ADMIN, actor="test", password=PASSWORD)
    send_known_dataset(tenant.write_key, datetime.now(UTC).replace(microsecond=0))
    page.goto(live_server.url + "/signin/")
    page.fill("#id_username", "op@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#dashboard")

    def figure(name: str) -> str:
        return page.locator(f"[data-figure={name}] .tile-value").inner_text()

    assert figure("customers") == "3" and "67% identified" in page.locator("[data-figure=customers]").inner_text()
    assert figure("events-24h") == "7" and "9 in the last 7 days" in page.locator("[data-figure=events-24h]").inner_text()
    assert figure("last-call") in ("just now", "1 minute ago") and "receiving" in page.locator("[data-figure=last-call]").inner_text()
    assert figure("problems") == "1 · 0" and figure("identity") == "1 · 1"
    assert page.locator("[data-figure=last-call] .tile-value time").get_attribute("title"), "the exact time on hover"
    bars = page.locator("#activity svg.bar-chart rect")
    values = [int(bars.nth(i).locator("title").text_content().split(": ")[1].split()[0]) for i in range(bars.count())]
    assert sum(values) == 9 and 2 in values and len(values) in (2, 3), "today (and yesterday for -20 h), five days ago"
    page.click("#activity summary")
    assert page.locator("#activity .chart-table tbody tr").count() == 30
    page.click("[data-figure=identity]")
    page.wait_for_url("**/identity/")
