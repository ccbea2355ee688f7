"""A batch that cannot be loaded for a reason of its own is set aside with its error; the others,
of every tenant, keep loading; an operator sees it (API, console, command) and retries it."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from lakehouse.errors import WarehouseUnavailable
from tenancy.roles import Role
from tests.tracking.helpers import loaded, send
from tracking import loader
from tracking.loader import load_inbox
from tracking.models import InboxBatch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_a_batch_that_fails_on_its_own_is_set_aside_and_every_other_batch_loads(lakehouse, tenant_a, tenant_b, broken):
    batch, _ = broken
    send(tenant_b, "b-1")
    send(tenant_a, "a-3")
    result = load_inbox()
    assert result.set_aside == 1 and result.calls == 3
    assert loaded(lakehouse, tenant_a) == ["a-1", "a-3"] and loaded(lakehouse, tenant_b) == ["b-1"]
    batch.refresh_from_db()
    assert batch.loaded_at is None and batch.failed_at is not None and "JsonRejected" in batch.error
    assert load_inbox().calls == 0, "a set-aside batch is not tried again on every run"


def test_when_the_lakehouse_itself_fails_nothing_is_set_aside(lakehouse, tenant_a, monkeypatch):
    send(tenant_a, "a-1")

    def away(engine, batches):
        raise WarehouseUnavailable("the warehouse is starting")

    monkeypatch.setattr(loader, "load_batch", away)
    with pytest.raises(WarehouseUnavailable):
        load_inbox()
    assert InboxBatch.objects.filter(failed_at__isnull=False).count() == 0
    monkeypatch.undo()
    assert load_inbox().calls == 1


def test_operators_see_set_aside_batches_of_their_own_tenant_and_retry_them(lakehouse, tenant_a, tenant_b, api_as, broken):
    batch, good_body = broken
    load_inbox()
    inbox = api_as(tenant_a).get("/api/operations/inbox").json()
    assert inbox["set_aside_batches"] == 1 and inbox["set_aside_calls"] == 1 and inbox["pending_calls"] == 0
    assert inbox["set_aside"][0]["id"] == batch.id and "not valid JSON" in inbox["set_aside"][0]["error"]
    assert api_as(tenant_b).get("/api/operations/inbox").json()["set_aside_batches"] == 0, "another tenant's batches stay out of sight"
    assert api_as(tenant_b).post("/api/operations/inbox/retry", {}).json() == {"retried": 0}
    assert api_as(tenant_a, Role.EDITOR).get("/api/operations/inbox").status_code == 403

    InboxBatch.objects.filter(id=batch.id).update(body=good_body)  # the cause fixed
    assert api_as(tenant_a).post("/api/operations/inbox/retry", {}).json() == {"retried": 1}
    assert load_inbox().calls == 1
    assert loaded(lakehouse, tenant_a) == ["a-1", "a-2"]


def test_the_operations_page_lists_set_aside_batches_and_retries_them(lakehouse, tenant_a, console_as, broken):
    batch, good_body = broken
    load_inbox()
    client = console_as(Role.ADMIN)
    page = client.get("/operations/").content.decode()
    assert "1 batch(es) set aside" in page and "not valid JSON" in page and "Retry set-aside batches" in page
    InboxBatch.objects.filter(id=batch.id).update(body=good_body)
    page = client.post("/operations/inbox/retry", follow=True).content.decode()
    assert "1 batch(es) back in line" in page
    assert load_inbox().calls == 1


def test_cdp_load_says_what_was_set_aside_and_retries_on_request(lakehouse, tenant_a, broken):
    batch, good_body = broken
    out = io.StringIO()
    call_command("cdp_load", stdout=out)
    assert "1 batch(es) set aside" in out.getvalue() and "--retry-failed" in out.getvalue()
    InboxBatch.objects.filter(id=batch.id).update(body=good_body)
    out = io.StringIO()
    call_command("cdp_load", "--retry-failed", stdout=out)
    assert "1 set-aside batch(es) back in line" in out.getvalue() and "Loaded 1 call(s)" in out.getvalue()
    assert loaded(lakehouse, tenant_a) == ["a-1", "a-2"]
