"""Fixtures the tracking tests share."""
import pytest

from tests.tracking.helpers import send


@pytest.fixture
def broken(tenant_a):
    """Tenant A's second request, damaged in the inbox (as a bug or a bad disk would leave it)."""
    send(tenant_a, "a-1")
    batch = send(tenant_a, "a-2")
    good_body = batch.body
    batch.body = '{"batch": [{"type": "track", "event": "Viewed", "userId": "u1", "messageId": "a-2"'
    batch.save()
    return batch, good_body
