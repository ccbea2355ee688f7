"""A full rebuild leaves the request: 202 with the queued run, a worker carries it out, and the
console's Rebuilds panel polls itself until it is done."""
from __future__ import annotations

import pytest
from django_q.brokers import get_broker
from django_q.tasks import _sync

from tenancy.roles import Role
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]


def _work_the_queue() -> int:
    """What qcluster does with the queue, in this process."""
    broker, done = get_broker(), 0
    while batch := broker.dequeue():
        for ack_id, pack in batch:
            _sync(pack)
            broker.acknowledge(ack_id)
            done += 1
    return done


def test_a_rebuild_is_queued_answered_202_and_carried_out_by_a_worker(settings, tenant_a, sdk, api_as, console_as):
    settings.CDP_TASKS_INLINE = False
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": "u1", "anonymousId": "a1", "messageId": "i1"}]})
    load_inbox()
    api = api_as(tenant_a, Role.ADMIN)
    answer = api.post("/api/identity/runs")
    assert answer.status_code == 202 and answer.json()["state"] == "queued"
    location = answer["Location"]
    console = console_as(Role.ADMIN)
    page = console.get("/identity/").content.decode()
    assert 'hx-get="/identity/runs/panel/"' in page and 'hx-trigger="load delay:1s"' in page and "queued…" in page

    assert _work_the_queue() == 1
    run = api.get(location).json()
    assert run["state"] == "succeeded" and run["customers"] == 1
    panel = console.get("/identity/runs/panel/", headers={"HX-Request": "true"}).content.decode()
    assert panel.lstrip().startswith('<section class="card"') and "hx-trigger" not in panel and "succeeded" in panel


def test_saving_rules_queues_the_rebuild_under_them(settings, tenant_a, api_as):
    settings.CDP_TASKS_INLINE = False
    api = api_as(tenant_a, Role.ADMIN)
    rules = {k: v for k, v in api.get("/api/identity/rules").json().items() if k != "defaults"}
    saved = api.put("/api/identity/rules", {**rules, "default_region": "GB"})
    assert saved.status_code == 202 and saved.json()["rules"]["default_region"] == "GB"
    assert saved.json()["run"]["state"] == "queued" and saved["Location"] == f"/api/identity/runs/{saved.json()['run']['id']}"
    assert _work_the_queue() == 1
    assert api.get(saved["Location"]).json()["state"] == "succeeded"


def test_a_rules_preview_is_queued_and_its_panel_polls_until_the_answer_is_there(settings, tenant_a, sdk, api_as, console_as):
    settings.CDP_TASKS_INLINE = False
    sdk.post("/api/v1/batch", {"batch": [{"type": "identify", "userId": "u1", "anonymousId": "a1", "messageId": "i1"},
                                         {"type": "identify", "userId": "u2", "anonymousId": "a1", "messageId": "i2"}]})
    load_inbox()
    form = {"priority": "user_id, email, phone, device_id, anonymous_id", "limits": "user_id=2, *=5", "blocked": "null",
            "custom": "", "default_region": "US", "preview": "1"}
    console = console_as(Role.ADMIN)
    fragment = console.post("/identity/rules/", form, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="load delay:1s"' in fragment and "Working out" in fragment
    api = api_as(tenant_a, Role.ADMIN)
    assert [r["kind"] for r in api.get("/api/identity/runs").json()["items"]] == [], "a preview is not a rebuild"
    assert _work_the_queue() == 1
    run_id = int(fragment.split('/identity/rules/preview/')[1].split('/')[0])
    done = console.get(f"/identity/rules/preview/{run_id}/", headers={"HX-Request": "true"}).content.decode()
    assert "Customers after" in done and "hx-trigger" not in done
    answer = api.get(f"/api/identity/runs/{run_id}").json()
    assert answer["kind"] == "preview" and answer["preview"]["customers_after"] == 1 and answer["preview"]["customers_now"] == 2
