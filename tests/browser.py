"""Headless Chromium (Debian's) driven by Playwright, with a screenshot kept when a test fails."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
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


def launch_chromium(playwright, *extra_flags: str):
    """Debian's Chromium in a fresh profile; the caller closes the context (and `profile_dir`)."""
    profile = tempfile.mkdtemp(prefix="cdp-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True, args=[*CHROMIUM_FLAGS, *extra_flags],
    )
    context.profile_dir = profile
    return context


@pytest.fixture(scope="session")
def chromium(playwright_driver):
    context = launch_chromium(playwright_driver)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(context.profile_dir, ignore_errors=True)


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
