"""Operations per tenant: a tenant's admins see their own rows and task runs, never another
tenant's, nor where the data lives; superusers see the platform."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from django_q.models import Task

from lakehouse import get_engine
from operations.selectors import task_group
from tenancy.roles import Role
from tests.tracking.helpers import send
from tracking.loader import load_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def _task(name: str, group: str) -> None:
    now = timezone.now()
    Task.objects.create(id=name, name=name, func="x.y", group=group, started=now, stopped=now, success=True)


@pytest.fixture
def busy_tenant_b(tenant_a, tenant_b):
    """tenant B has customers' events and a rebuild; tenant A (the admin's) has nothing."""
    send(tenant_b, "m1", "m2", "m3")
    load_inbox()
    _task("identity-rebuild-bravo-1", task_group(tenant_b.ref.id))
    _task("identity-rebuild-alpha-2", task_group(tenant_a.ref.id))
    _task("pizza-michigan-mississippi-pluto", "inbox-loader")  # django-q's random name for a scheduled run


def test_a_tenant_admin_sees_only_its_own_counts_and_runs(console_as, api_as, tenant_a, busy_tenant_b):
    page = console_as(Role.ADMIN).get("/operations/").content.decode()
    assert "rows of alpha" in page
    assert escape(get_engine().location()) not in page and "Django connection" not in page
    assert "identity-rebuild-alpha-2" in page
    assert "identity-rebuild-bravo-1" not in page and "inbox-loader" not in page.split("Recent task runs")[1]
    events_row = page[page.index("<code>events</code>"):][:200]
    assert "<td>0</td>" in events_row
    runs = [run["name"] for run in api_as(tenant_a, Role.ADMIN).get("/api/operations/tasks").json()["items"]]
    assert runs == ["identity-rebuild-alpha-2"]


def test_a_superuser_sees_the_platform(tenant_a, busy_tenant_b):
    root = get_user_model().objects.create_superuser("root@x.test", "root@x.test", "pw-long-enough-1")
    client = Client()
    client.force_login(root)
    page = client.get("/operations/").content.decode()
    assert "rows of every tenant" in page and escape(get_engine().location()) in page
    assert "<td>3</td>" in page[page.index("<code>events</code>"):][:200]
    runs = {run["name"] for run in client.get("/api/operations/tasks", HTTP_X_TENANT_ID="alpha").json()["items"]}
    assert runs == {"identity-rebuild-bravo-1", "identity-rebuild-alpha-2", "inbox-loader"}, "a scheduled run by its schedule's name"
