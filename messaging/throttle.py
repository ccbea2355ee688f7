"""Pacing a drain pass: per-channel rate limits and per-endpoint backoff, on an injected clock.

A channel's `rate_per_second` is a token bucket (a burst of one second's worth): a send takes a
token; without one the channel's next send waits, and the drain sends other channels' messages
meanwhile. Its `endpoint_rate_per_second` is a bucket per endpoint as well (a webhook channel whose
templates call several hosts paces each host on its own); a send takes a token from both. An
endpoint (a channel and the host and port it calls) that fails eight times in a row is rested for
the rest of the pass: its other messages go back to the outbox for a later pass,
unattempted, instead of each waiting out its own timeout while the others queue behind."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

FAILURES_TO_REST = 8  # in a row: a flaky endpoint failing one call in five almost never gets there (0.2**8)
REST_SECONDS = 60.0


@dataclass
class Bucket:
    rate: float
    tokens: float
    at: float


@dataclass
class Pace:
    clock: callable = time.monotonic
    buckets: dict[object, Bucket] = field(default_factory=dict)  # by channel id, and by endpoint
    failures: dict[tuple, int] = field(default_factory=dict)

    def wait(self, channel_id: int, rate: float, endpoint: tuple | None = None, endpoint_rate: float = 0) -> float:
        """Seconds until the channel may send to the endpoint (0: now, and a token is taken from
        the channel's bucket and the endpoint's: from both or neither)."""
        limits = [(key, r) for key, r in ((channel_id, rate), (endpoint, endpoint_rate)) if r > 0 and key is not None]
        buckets = [self._filled(key, r) for key, r in limits]
        waits = [(1.0 - b.tokens) / b.rate for b in buckets if b.tokens < 1.0]
        if waits:
            return max(waits)
        for bucket in buckets:
            bucket.tokens -= 1.0
        return 0.0

    def until(self, channel_id: int, rate: float, endpoint: tuple | None = None, endpoint_rate: float = 0) -> float:
        """Seconds until `wait` would let it go, taking nothing."""
        limits = [(key, r) for key, r in ((channel_id, rate), (endpoint, endpoint_rate)) if r > 0 and key is not None]
        return max([0.0, *((1.0 - b.tokens) / b.rate for b in (self._filled(key, r) for key, r in limits))])

    def _filled(self, key, rate: float) -> Bucket:
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[key] = Bucket(rate=rate, tokens=max(rate, 1.0), at=now)
        bucket.tokens = min(max(rate, 1.0), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        return bucket

    def resting(self, endpoint: tuple) -> bool:
        return self.failures.get(endpoint, 0) >= FAILURES_TO_REST

    def outcome(self, endpoint: tuple, failed: bool) -> None:
        """Count a retryable failure (a 5xx, a timeout, a refused connection), or a success, which
        ends the run of failures."""
        self.failures[endpoint] = self.failures.get(endpoint, 0) + 1 if failed else 0


def endpoint(channel_id: int, kind: str, config: dict, parts: dict) -> tuple:
    """What fails together and is paced together: a webhook's host and port (a template may send
    elsewhere than the channel's URL), else the channel."""
    if kind == "webhook":
        url = urlsplit((parts.get("url") or "").strip() or config.get("url", ""))
        try:
            port = url.port
        except ValueError:  # not a port: the send itself says what is wrong with the URL
            port = None
        return channel_id, (url.hostname or "").lower(), port
    return channel_id, "", None
