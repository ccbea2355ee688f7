"""Schedules are declared in code, written idempotently, and shown with their runs."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.tasks import _sync, async_task

from operations.schedules import SCHEDULES, schedules_ensure
from tenancy.roles import Role

pytestmark = pytest.mark.django_db


def test_migrate_created_the_orchestrator_schedule_every_5_minutes():
    schedule = Schedule.objects.get(name="journey-orchestrator")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("journeys.tasks.orchestrator_tick", Schedule.MINUTES, 5)


def test_ensure_is_idempotent_and_repairs_drift():
    assert schedules_ensure() == []
    Schedule.objects.filter(name="journey-orchestrator").update(minutes=60)
    assert schedules_ensure() == ["journey-orchestrator"]
    assert Schedule.objects.filter(name="journey-orchestrator").count() == 1
    assert Schedule.objects.get(name="journey-orchestrator").minutes == 5
    assert len(SCHEDULES) == Schedule.objects.count()


def _boom():
    raise RuntimeError("warehouse unreachable")


def _run_queued_tasks() -> None:
    """What a qcluster does with the queue: a real worker and monitor, in this process."""
    broker = get_broker()
    while batch := broker.dequeue():
        for ack_id, pack in batch:
            _sync(pack)
            broker.acknowledge(ack_id)


@pytest.mark.django_db(transaction=True)  # django-q's worker closes the connection, as it does between tasks
def test_operations_lists_schedules_and_task_runs_with_errors(tenant_a, api_as):
    async_task("journeys.tasks.orchestrator_tick", task_name="tick-now")
    async_task("tests.test_scheduler._boom", task_name="broken")
    _run_queued_tasks()
    client = api_as(tenant_a, Role.ADMIN)
    schedules = client.get("/api/operations/schedules").json()["items"]
    assert [s["name"] for s in schedules] == ["campaigns", "computed-traits", "deliveries", "inbox-loader", "journey-orchestrator", "segments"]
    # Scheduled work spans every tenant: its runs are for superusers (tenant admins see their own).
    assert client.get("/api/operations/tasks").json()["items"] == []
    root = Client()
    root.force_login(get_user_model().objects.create_superuser("root@x.test", "root@x.test", "pw-long-enough-1"))
    runs = {run["name"]: run for run in root.get("/api/operations/tasks", HTTP_X_TENANT_ID=tenant_a.slug).json()["items"]}
    assert runs["tick-now"]["success"] is True
    assert runs["broken"]["success"] is False and "warehouse unreachable" in runs["broken"]["error"]
    assert api_as(tenant_a, Role.EDITOR).get("/api/operations/tasks").status_code == 403


def test_orchestrator_schedule_steps_aside_when_a_databricks_job_runs_it(settings):
    settings.CDP_ORCHESTRATOR_RUNS_IN = "job"
    assert schedules_ensure() == ["journey-orchestrator"]
    assert not Schedule.objects.filter(name="journey-orchestrator").exists()
    settings.CDP_ORCHESTRATOR_RUNS_IN = "scheduler"
    schedules_ensure()
    assert Schedule.objects.filter(name="journey-orchestrator").exists()


def test_qcluster_refuses_a_lakehouse_that_serves_one_process(settings):
    from django.core.management import CommandError, call_command

    settings.CDP_LAKEHOUSE = "spark://local[1]"
    with pytest.raises(CommandError, match="serves one at a time"):
        call_command("qcluster")
