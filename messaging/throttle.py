"""Pacing a drain pass: per-channel rate limits and per-endpoint backoff, on an injected clock.

A channel's `rate_per_second` is a token bucket (a burst of one second's worth): a send takes a
token; without one the channel's next send waits, and the drain sends other channels' messages
meanwhile. An endpoint (a channel and the host it calls) that fails eight times in a row is
rested for the rest of the pass: its other messages go back to the outbox for a later pass,
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
    buckets: dict[int, Bucket] = field(default_factory=dict)
    failures: dict[tuple, int] = field(default_factory=dict)

    def wait(self, channel_id: int, rate: float) -> float:
        """Seconds until the channel may send (0: now, and the token is taken)."""
        if rate <= 0:
            return 0.0
        now = self.clock()
        bucket = self.buckets.get(channel_id)
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[channel_id] = Bucket(rate=rate, tokens=max(rate, 1.0), at=now)
        bucket.tokens = min(max(rate, 1.0), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    def resting(self, endpoint: tuple) -> bool:
        return self.failures.get(endpoint, 0) >= FAILURES_TO_REST

    def outcome(self, endpoint: tuple, failed: bool) -> None:
        """Count a retryable failure (a 5xx, a timeout, a refused connection), or a success, which
        ends the run of failures."""
        self.failures[endpoint] = self.failures.get(endpoint, 0) + 1 if failed else 0


def endpoint(channel_id: int, kind: str, config: dict, parts: dict) -> tuple:
    """What fails together: a webhook's host (a template may send elsewhere than the channel's
    URL), else the channel."""
    if kind == "webhook":
        url = (parts.get("url") or "").strip() or config.get("url", "")
        return channel_id, (urlsplit(url).hostname or "").lower()
    return channel_id, ""
