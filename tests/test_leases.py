"""One holder per lease; an expired lease, or one left by a dead process on this host, is taken over."""
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from operations.leases import lease_acquire, lease_release
from operations.models import Lease

pytestmark = pytest.mark.django_db


def test_one_holder_until_released_or_expired():
    first = lease_acquire("job", seconds=60)
    assert first and lease_acquire("job", seconds=60) is None
    lease_release("job", first)
    second = lease_acquire("job", seconds=60)
    assert second and second != first
    Lease.objects.filter(name="job").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert lease_acquire("job", seconds=60)


def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_over():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    Lease.objects.create(name="job", holder=f"{socket.gethostname()}:{gone.pid}:abc", expires_at=timezone.now() + timedelta(hours=1))
    assert lease_acquire("job", seconds=60)


def test_a_live_holder_elsewhere_keeps_its_lease():
    Lease.objects.create(name="job", holder="another-host:1:abc", expires_at=timezone.now() + timedelta(hours=1))
    assert lease_acquire("job", seconds=60) is None
