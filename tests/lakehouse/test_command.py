"""`manage.py lakehouse migrate | status | sql` on the configured (embedded) engine."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

# Each test starts from a lakehouse not yet migrated (the suite makes the tables once for all).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse_unmigrated")]


def run(*args) -> str:
    out = StringIO()
    call_command("lakehouse", *args, stdout=out)
    return out.getvalue()


def test_migrate_status_and_sql():
    first = run("migrate")
    assert "events: created at version 4" in first and "identity_edges: created at version 1" in first
    assert "0 change(s)" in run("migrate")
    status = run("status")
    assert "Engine:   sqlite" in status and "events" in status and "current" in status
    assert run("sql", "SELECT COUNT(*) AS n FROM {events}").splitlines()[:2] == ["n", "0"]


def test_status_before_migrate_says_what_to_do():
    assert "Run `manage.py lakehouse migrate`" in run("status")


def test_sql_is_read_only_unless_asked():
    run("migrate")
    for statement in ("DELETE FROM {events}", "SELECT 1; DROP TABLE {events}", "INSERT INTO {events} (tenant_id) VALUES ('x')"):
        with pytest.raises(CommandError):
            run("sql", statement)
    assert run("sql", "DELETE FROM {events} WHERE tenant_id = 'nobody'", "--write").strip() == "OK"


def test_sql_reports_a_missing_table_with_the_fix():
    with pytest.raises(CommandError, match="lakehouse migrate"):
        run("sql", "SELECT * FROM {events}")


def test_bad_setting_is_reported_at_start_up_by_the_system_check(settings):
    from django.core.management import call_command as call

    settings.CDP_LAKEHOUSE = "databricks://?catalog=main"
    with pytest.raises(Exception) as caught:
        call("check")
    assert "CDP_LAKEHOUSE" in str(caught.value) and "lakehouse.E001" in str(caught.value)


def test_readiness_names_the_setting_for_an_unreachable_engine(settings):
    settings.CDP_LAKEHOUSE = "default://no_such_alias"
    body = Client().get("/health/ready").json()
    assert body["status"] == 503
    assert "CDP_LAKEHOUSE=default://no_such_alias" in body["detail"]
