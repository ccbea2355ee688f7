"""Domain errors raised under console pages become a readable page with the right status, and a
page that does not exist is the product's own 404 page, in development (DEBUG) too: Django's
technical 404 lists every URL pattern, which is for developers, not for the people using it."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from kernel.errors import DomainError, ServiceUnavailable
from lakehouse.errors import BadStatement, LakehouseError


class ConsoleDomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, LakehouseError) and not isinstance(exception, BadStatement):
            # Customer data is unreachable (not migrated, credentials, warehouse asleep): say what to do.
            exception = ServiceUnavailable(str(exception))
        if isinstance(exception, DomainError):
            return render(request, "console/error.html", {"error": exception}, status=exception.status)
        if isinstance(exception, Http404):
            return render(request, "errors/404.html", status=404)
        return None
