"""The API's token bucket: a minute's allowance as a burst, then a steady refill."""
from __future__ import annotations

import pytest
from django.core.cache import cache

from kernel.ratelimit import take_token


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_burst_up_to_the_allowance_then_a_wait_of_one_refill():
    assert [take_token("k", 3, 1000.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert take_token("k", 3, 1000.0) == pytest.approx(20.0)  # 3 a minute: one every 20 s
    assert take_token("k", 3, 1010.0) == pytest.approx(10.0)  # half a token back after 10 s
    assert take_token("k", 3, 1020.0) == 0.0
    assert take_token("k", 3, 1020.0) == pytest.approx(20.0)


def test_refill_stops_at_the_allowance_and_buckets_are_separate():
    for _ in range(3):
        take_token("a", 3, 0.0)
    assert take_token("b", 3, 0.0) == 0.0  # another principal is not affected
    # An hour idle refills to three, not to 180.
    assert [take_token("a", 3, 3600.0) for _ in range(4)][-1] == pytest.approx(20.0)


def test_a_denied_request_takes_nothing():
    for _ in range(3):
        take_token("k", 3, 0.0)
    for _ in range(5):
        take_token("k", 3, 1.0)  # hammering while empty does not push the wait further out
    assert take_token("k", 3, 20.0) == 0.0
