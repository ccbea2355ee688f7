"""Error pages: problem details under /api, HTML elsewhere."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt

from kernel.problems import problem_response


def _wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/health")


@csrf_exempt  # a POST to an unknown API path is a 404 problem, not a CSRF page: it changes nothing
def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """The 404 of every unknown URL (the last URL pattern, so DEBUG shows it too). Being a pattern,
    it would stop CommonMiddleware's APPEND_SLASH, so it redirects `/customers` to `/customers/`
    itself when that is a page."""
    if _wants_problem(request):
        return problem_response(request, status=404, type_slug="not-found", detail=f"No endpoint at {request.path}; see /api/docs.")
    if request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            query = request.META.get("QUERY_STRING", "")
            return redirect(request.path + "/" + (f"?{query}" if query else ""))
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(request, status=500, type_slug="internal", detail="Something went wrong on our side; the error is logged with this request id.")
    return render(request, "errors/500.html", status=500)
