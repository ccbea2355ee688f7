"""Every console page fits the screen at 1400 px and at 390 px (a phone): the document is never
wider than the viewport, and every action button can be seen and clicked; and no page asks
another host for anything (fonts, scripts, images: everything is served by the product)."""
from __future__ import annotations

import pytest

from customers.services import customer_identify
from tenancy import services
from tenancy.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("lakehouse")]
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def shop(db):
    tenant = services.tenant_create(slug="shop", name="Shop with a rather long name", actor="test")
    services.member_set(tenant=tenant, email="operator.with.a.long.address@example.com", role=Role.ADMIN, actor="test",
                        password=PASSWORD)
    long_value = "a-very-long-value-without-spaces-" * 6
    profile = customer_identify(tenant=tenant, user_id="ada", anonymous_id="anon-" + "x" * 60, email="ada.lovelace.long@example.com",
                                traits={"favourite_colour_in_a_long_trait_name": long_value, "plan": "pro"}, actor="test")
    # A journey whose diagram is wider than a phone: it scrolls inside its card.
    from journeys.services.journeys import journey_create

    chain = [{"id": f"w{n}", "type": "wait", "duration": {"hours": 1}, "next": f"w{n + 1}"} for n in range(6)]
    journey_create(tenant=tenant, name="A journey with a long chain of waits", actor="test",
                   definition={"entry": {"type": "manual"}, "start": "w0", "nodes": [*chain, {"id": "w6", "type": "exit"}]})
    # The demo's channels, templates and campaigns: a campaign's page, with its report and actions.
    from campaigns.demo import demo_campaigns_load
    from messaging.demo import demo_messaging_load
    from segments.services import segment_create, segment_refresh

    demo_messaging_load(tenant=tenant)
    segment = segment_create(tenant=tenant, name="Newsletter subscribers", actor="test",
                             definition={"type": "trait", "key": "email", "op": "exists"})
    segment_refresh(tenant=tenant, segment_id=segment.id, trigger="test")
    assert demo_campaigns_load(tenant=tenant) == 2
    return profile.cdp_id


@pytest.mark.parametrize("width", [1400, 390])
def test_every_console_page_fits_and_its_buttons_can_be_clicked(page, live_server, shop, width):
    from urllib.parse import urlsplit

    from tests.browser import ARTIFACTS, console_pages

    elsewhere = []
    page.on("request", lambda request: urlsplit(request.url).netloc not in ("", urlsplit(live_server.url).netloc)
            and not request.url.startswith(("data:", "blob:")) and elsewhere.append(request.url))
    shots = ARTIFACTS / "fit" / str(width)
    shots.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/signin/")
    page.fill("#id_username", "operator.with.a.long.address@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    from campaigns.models import Campaign
    from journeys.models import Journey
    from messaging.models import Channel

    journey = Journey.objects.get()
    journey_pages = [f"/journeys/{journey.id}/", f"/journeys/{journey.id}/edit/", f"/journeys/{journey.id}/nodes/new/?type=wait_event",
                     f"/journeys/{journey.id}/?test-customer={shop}"]
    for path in [*console_pages(shop), *journey_pages, *(f"/campaigns/{c.id}/" for c in Campaign.objects.all()),
                 f"/messages/channels/{Channel.objects.first().id}/"]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(shots / (path.strip("/").replace("/", "_") or "home")) + ".png", full_page=True)
        too_wide = page.evaluate("document.documentElement.scrollWidth") - page.evaluate("window.innerWidth")
        # What sticks out, outside scrolling boxes: the message names it.
        culprits = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
            && !(e.parentElement && e.parentElement.closest('table, pre, .diagram-scroll, .table-scroll')))
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""") if too_wide > 0 else []
        assert too_wide <= 0, f"{path} at {width}px is {too_wide}px wider than the screen: {culprits}"
        buttons = page.locator("header button:visible, main button:visible")
        for i in range(buttons.count()):
            button = buttons.nth(i)
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (path, width, button.inner_text())
        assert elsewhere == [], f"{path} asked another host: {elsewhere}"
