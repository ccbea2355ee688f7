"""Liveness needs nothing; readiness checks the database and the lakehouse, without auth."""
import pytest
from django.test import Client


def test_health_is_public_and_needs_no_database():
    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


@pytest.fixture(autouse=True)
def _fresh_table_check():
    from lakehouse import engines

    engines._tables_seen.clear()
    yield
    engines._tables_seen.clear()


@pytest.mark.django_db
@pytest.mark.usefixtures("lakehouse")
def test_ready_reports_each_check():
    response = Client().get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "lakehouse": "ok"}


@pytest.mark.django_db
def test_ready_says_which_tables_are_missing_and_what_to_run(lakehouse_unmigrated):
    response = Client().get("/health/ready")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "tables missing" in detail and "events" in detail and "manage.py lakehouse migrate" in detail


@pytest.mark.django_db
def test_ready_answers_503_problem_naming_the_setting_when_lakehouse_is_misconfigured(settings):
    settings.CDP_LAKEHOUSE = "nosuchengine://x"
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert "CDP_LAKEHOUSE" in body["detail"]
    assert body["errors"][0]["field"] == "lakehouse"
