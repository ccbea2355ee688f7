"""Liveness (`/health`, no dependencies) and readiness (`/health/ready`: database and lakehouse)."""
from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from kernel.problems import problem_response

logger = logging.getLogger("cdp.health")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_check() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; the reason is reported
        return f"operational database unreachable ({type(exc).__name__}); check DATABASE_URL / PGHOST"
    return None


def _lakehouse_check() -> str | None:
    from lakehouse import readiness_problem

    return readiness_problem()


@require_GET
def ready(request: HttpRequest):
    checks = {"database": _database_check(), "lakehouse": _lakehouse_check()}
    failing = {name: problem for name, problem in checks.items() if problem}
    if failing:
        logger.warning("not ready: %s", failing)
        return problem_response(
            request, status=503, type_slug="not-ready", detail="; ".join(failing.values()),
            errors=[{"field": name, "message": problem} for name, problem in failing.items()],
        )
    return JsonResponse({"status": "ready", "checks": {name: "ok" for name in checks}})
