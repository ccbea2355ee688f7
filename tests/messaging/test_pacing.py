"""Delivery at volume: sends in flight at once (a stalled endpoint holds up no other), a
channel's rate limit on an injected clock (no sleeping), a failing endpoint rested for the pass
while the others go on."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from messaging import selectors
from messaging.services import channels, outbox, templates
from messaging.services.drain import Drain
from messaging.throttle import FAILURES_TO_REST
from messaging.types import SendRequest
from tests.messaging.receivers import Answer, Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class FakeTime:
    """A monotonic clock that moves only when the drain sleeps."""

    def __init__(self):
        self.now, self.slept = 1000.0, 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def _pass(concurrency: int, time: FakeTime | None = None, **options) -> dict:
    """One drain pass at T0 (on the fake clock when given); its counts."""
    clocked = {"clock": time.clock, "sleep": time.sleep} if time else {}
    drain = Drain(concurrency=concurrency, **clocked, **options)
    try:
        return drain.run(now=T0)
    finally:
        drain.close()


def _channel(tenant_a, name, url, **extra):
    channel = channels.channel_create(tenant=tenant_a.ref, name=name, kind="webhook", actor="t",
                                      config={"url": url, "timeout_seconds": 2}, **extra)
    template = templates.template_create(tenant=tenant_a.ref, name=f"{name} body", channel_kind="webhook", actor="t",
                                         parts={"body": '{"n": {{ vars.n }}}'})
    return channel, template


def _queue(tenant_a, pair, cdp_id, n, prefix):
    channel, template = pair
    return [outbox.delivery_enqueue(tenant=tenant_a.ref, now=T0, request=SendRequest(
        key=f"{prefix}{i}", channel_id=channel.id, template_id=template.id, cdp_id=cdp_id, category="transactional",
        variables={"n": i}))[0] for i in range(n)]


def _statuses(tenant_a, infos):
    return [selectors.delivery_get(tenant=tenant_a.ref, delivery_id=i.id).status for i in infos]


@pytest.fixture
def second_receiver(settings):
    settings.CDP_WEBHOOK_ALLOW_PRIVATE = True
    with Receiver() as server:
        yield server


def test_a_stalled_endpoint_holds_up_no_other(tenant_a, receiver, second_receiver, shoppers):
    release = threading.Event()
    receiver.script = [Answer(200, stall=release)]  # the slow one answers only once the others have arrived
    second_receiver.hook = lambda count, when: release.set() if count >= 5 and when == "after" else None
    slow = _queue(tenant_a, _channel(tenant_a, "Slow", f"{receiver.url}/hook"), shoppers["ada"], 1, "s")
    fast = _queue(tenant_a, _channel(tenant_a, "Fast", f"{second_receiver.url}/hook"), shoppers["ada"], 5, "f")
    assert _pass(4) == {"sent": 6}
    # One after another, the slow send would have timed out (2 s) waiting for the five behind it.
    assert _statuses(tenant_a, slow + fast) == ["sent"] * 6 and len(second_receiver.received) == 5


def test_a_channels_rate_limit_paces_its_sends_on_the_clock(tenant_a, receiver, shoppers):
    limited = _queue(tenant_a, _channel(tenant_a, "Limited", f"{receiver.url}/hook", rate_per_second=2), shoppers["ada"], 6, "r")
    time = FakeTime()
    assert _pass(2, time) == {"sent": 6}
    # A burst of two, then two a second: the last four waited two seconds (of the injected clock).
    assert 1.9 <= time.slept <= 2.2, time.slept
    assert len(receiver.received) == 6

    # A pass that ends before the limit lets the rest go leaves them queued, unattempted, for the next.
    later = _queue(tenant_a, (selectors.channel_get(tenant=tenant_a.ref, channel_id=limited[0].channel_id),
                              templates_of(tenant_a, "Limited body")), shoppers["ada"], 6, "q")
    time = FakeTime()
    counts = _pass(2, time, pass_seconds=0.6)
    assert counts["sent"] == 3 and counts["queued"] == 3, counts
    held = [selectors.delivery_get(tenant=tenant_a.ref, delivery_id=i.id) for i in later]
    waiting = [d for d in held if d.status == "queued"]
    assert all(d.attempts == 0 and d.reason == "waiting for the channel's rate limit" for d in waiting)


def templates_of(tenant_a, name):
    from messaging.selectors import template_list

    return next(t for t in template_list(tenant=tenant_a.ref) if t.name == name)


def test_a_failing_endpoint_is_rested_while_the_others_go_on(tenant_a, receiver, second_receiver, shoppers):
    receiver.default = Answer(500)
    failing = _queue(tenant_a, _channel(tenant_a, "Down", f"{receiver.url}/hook"), shoppers["ada"], FAILURES_TO_REST + 5, "d")
    healthy = _queue(tenant_a, _channel(tenant_a, "Up", f"{second_receiver.url}/hook"), shoppers["ada"], 4, "u")
    counts = _pass(1)
    assert _statuses(tenant_a, healthy) == ["sent"] * 4
    rows = [selectors.delivery_get(tenant=tenant_a.ref, delivery_id=i.id) for i in failing]
    # FAILURES_TO_REST failures in a row, then no more calls to it in this pass.
    assert len(receiver.received) == FAILURES_TO_REST and counts["retrying"] == FAILURES_TO_REST
    rested = [r for r in rows if r.attempts == 0]
    assert len(rested) == 5 and all(r.status == "queued" and r.reason == "the endpoint is failing: resting it" for r in rested)
    assert all((r.next_attempt_at - T0).total_seconds() == 60 for r in rested)


def test_the_scheduled_drain_keeps_passing_for_its_minute(tenant_a, receiver, shoppers):
    """A message queued while the every-minute drain is running goes within seconds, not next minute."""
    from messaging.tasks import deliveries_drain

    pair = _channel(tenant_a, "Loop", f"{receiver.url}/hook")
    first = _queue(tenant_a, pair, shoppers["ada"], 1, "a")
    time, later = FakeTime(), []

    def sleep(seconds):
        time.sleep(seconds)
        if not later:  # queued while the loop is idle
            later.extend(_queue(tenant_a, pair, shoppers["ada"], 1, "b"))

    assert deliveries_drain(seconds=30, clock=time.clock, sleep=sleep) == {"sent": 2}
    assert _statuses(tenant_a, first + later) == ["sent", "sent"] and 30 <= time.slept <= 35


def test_a_rate_limited_channel_does_not_hold_up_the_messages_queued_behind_it(tenant_a, receiver, second_receiver, shoppers):
    limited = _queue(tenant_a, _channel(tenant_a, "One a second", f"{receiver.url}/hook", rate_per_second=1), shoppers["ada"], 8, "l")
    other = _queue(tenant_a, _channel(tenant_a, "Other", f"{second_receiver.url}/hook"), shoppers["ada"], 1, "o")
    time = FakeTime()
    counts = _pass(1, time)
    # One at once, four held for their tokens (four a send in flight), the other three back in the
    # outbox for a later pass, so the other channel's message went without waiting for them.
    assert counts == {"sent": 6, "queued": 3}, counts
    assert _statuses(tenant_a, other) == ["sent"] and len(second_receiver.received) == 1
    assert _statuses(tenant_a, limited).count("queued") == 3 and 3.9 <= time.slept <= 4.2, time.slept


def test_an_endpoint_rate_paces_each_host_of_a_channel_on_its_own(tenant_a, receiver, second_receiver, shoppers):
    """A webhook channel whose templates call two endpoints, at most two a second to each: the two
    are paced side by side (a second of waiting in all), where one channel-wide rate of two a
    second would have made the last six wait three seconds."""
    channel, first = _channel(tenant_a, "Two hosts", f"{receiver.url}/hook", endpoint_rate_per_second=2)
    other = templates.template_create(tenant=tenant_a.ref, name="Elsewhere", channel_kind="webhook", actor="t",
                                      parts={"url": f"{second_receiver.url}/elsewhere", "body": '{"n": {{ vars.n }}}'})
    sends = _queue(tenant_a, (channel, first), shoppers["ada"], 4, "a") + _queue(tenant_a, (channel, other), shoppers["ada"], 4, "b")
    time = FakeTime()
    assert _pass(2, time) == {"sent": 8}
    assert _statuses(tenant_a, sends) == ["sent"] * 8 and len(receiver.received) == len(second_receiver.received) == 4
    # Each endpoint: a burst of two, then two a second.
    assert 0.9 <= time.slept <= 1.2, time.slept
    assert selectors.channel_get(tenant=tenant_a.ref, channel_id=channel.id).endpoint_rate_per_second == 2
