"""Headless Chromium (Debian's) driven by Playwright, with a screenshot kept when a test fails."""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


class OneRequestAtATime(ThreadedWSGIServer):
    """The live server: every connection on a thread of its own (a browser opens several, and an
    SDK's calls from another origin wait on each other's), but Django handling one request at a
    time. On SQLite the test database is one in-memory connection that every request thread
    shares; two requests in it at once break each other's transactions ("no such savepoint")."""

    def set_app(self, application):
        lock = threading.Lock()

        def one_at_a_time(environ, start_response):
            with lock:  # the whole response, closed (request_finished) before the next request starts
                response = application(environ, start_response)
                try:
                    return [b"".join(response)]
                finally:
                    getattr(response, "close", lambda: None)()
        super().set_app(one_at_a_time)


LiveServerThread.server_class = OneRequestAtATime  # pytest-django's live_server builds Django's thread


def console_pages(cdp_id: str) -> list[str]:
    """Every console page (a customer's with `cdp_id`), for the tests that walk them all."""
    return ["/", "/customers/", f"/customers/{cdp_id}/", "/customers/computed-traits/", "/identity/", "/identity/rules/",
            "/events/", "/operations/", "/settings/general/", "/settings/members/", "/settings/api-keys/", "/settings/write-keys/",
            "/settings/audit/", "/segments/", "/segments/new/", "/segments/new/?kind=manual", "/messages/", "/messages/templates/",
            "/messages/topics/", "/messages/rules/", "/messages/channels/", "/messages/mailbox/", "/journeys/", "/journeys/new/",
            "/campaigns/", "/campaigns/new/"]


def sign_in(page, live_server, email: str, password: str) -> None:
    """Sign in on the console's own page and wait for the first page after it."""
    page.goto(live_server.url + "/signin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright_driver():
    """One Playwright for the whole run: its sync API allows one at a time per thread."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; Django would refuse ORM calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        yield playwright


@contextmanager
def chromium_context(playwright, *extra_flags: str):
    """Debian's Chromium in a fresh profile, closed (and the profile removed) afterwards."""
    profile = tempfile.mkdtemp(prefix="cdp-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True, args=[*CHROMIUM_FLAGS, *extra_flags],
    )
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium(playwright_driver):
    with chromium_context(playwright_driver) as context:
        yield context


@pytest.fixture
def page(chromium, request):
    chromium.clear_cookies()
    page = chromium.new_page()
    page.set_default_timeout(15000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    page.close()
