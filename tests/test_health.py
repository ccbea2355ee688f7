"""Liveness needs nothing; readiness checks the database and the lakehouse, without auth."""
import pytest
from django.test import Client


def test_health_is_public_and_needs_no_database():
    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_ready_reports_each_check():
    response = Client().get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "lakehouse": "ok"}


@pytest.mark.django_db
def test_ready_answers_503_problem_naming_the_setting_when_lakehouse_is_misconfigured(settings):
    settings.CDP_LAKEHOUSE = "nosuchengine://x"
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert "CDP_LAKEHOUSE" in body["detail"]
    assert body["errors"][0]["field"] == "lakehouse"
