"""Hostile form input on every console page: odd values in every field a form might read, odd
path values. Whatever is posted, the page answers (a message, a 4xx), never a 500."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tenancy.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

ODD = ["", " ", "a\x00b", "x" * 20_000, "\u202eevil", "😀", "a'b\"c;--", "%", "-1", "99999999999999999999", "1e400", "null",
       "email:", ":", "user_id:", "user_id:" + "v" * 300]
FIELDS = ["q", "offset", "name", "key", "value", "role", "email", "channel", "purpose", "granted", "reason", "identifier",
          "aggregation", "event", "property", "window_days", "priority", "limits", "blocked", "custom", "default_region",
          "tenant", "next", "username", "password", "preview", "description", "type", "kind"]
PATH_VALUES = {"cdp_id": ["cdp_missing", "x" * 500], "key": ["k", "x" * 500], "member_id": [999999], "key_pk": [999999],
               "trait_id": [999999], "kind": ["api-keys", "write-keys", "nope"], "section": ["journeys", "nope"]}


def _console_urls() -> list[tuple[str, dict]]:
    out = []

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, route)
            elif isinstance(pattern, URLPattern) and not route.startswith(("api/", "admin/", "^api/", "health")):
                out.append(route)

    walk(get_resolver())
    return sorted(set(out))


def _urls(route: str) -> list[str]:
    import re

    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    urls = ["/" + route]
    for name in names:
        urls = [u.replace(re.search(r"<(?:\w+:)?" + name + ">", u).group(0), str(v), 1) for u in urls for v in PATH_VALUES.get(name, ["x"])]
    return urls


@pytest.mark.parametrize("route", _console_urls())
def test_no_form_input_gets_a_500(route, console_as):
    client: Client = console_as(Role.ADMIN)
    client.raise_request_exception = False
    failures = []
    for url in _urls(route):
        for method in ("get", "post"):
            for odd in ODD:
                data = {field: odd for field in FIELDS}
                response = getattr(client, method)(url, data if method == "post" else {"q": odd, "offset": odd})
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {url} with {odd[:30]!r} -> {response.status_code}")
    assert not failures, "\n".join(failures[:20])
