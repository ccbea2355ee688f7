"""Webhook deliveries (messaging/): 10,000 signed webhooks through the outbox and the drain to a
real HTTP server on loopback (a process of its own, as a real endpoint is) that fails 20 % of first attempts with 500, the failures retried
when their time comes (an injected clock: no waiting), against a raw keep-alive `http.client`
loop sending the same signed bodies with the same retries, in the same run.
Gate: every delivery recorded once as sent (one final status, one attempt per request the server
saw) and every webhook-id received. Target: product / raw <= 2 (the ratio line).
`--small` runs 1,000 (a quick check, not the figure)."""
from __future__ import annotations

import hashlib
import http.client
import json
import multiprocessing
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _setup import django_setup, report, timed

DELIVERIES = 1_000 if "--small" in sys.argv else 10_000
CUSTOMERS = 200
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BODY = '{"order": "{{ vars.order }}", "customer": "{{ customer.cdp_id }}", "plan": "{{ customer.plan | default: "free" }}"}'


def serve(pipe) -> None:
    """The receiver, in a process of its own (as a real endpoint is: its work does not share the
    drain's interpreter lock). Fails the first attempt of one id in five (by its hash), answers
    200 otherwise; `GET /seen` answers how many requests each webhook-id made."""
    seen: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)

        def do_GET(self):
            with lock:
                self._answer(200, json.dumps(seen).encode())

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            key = self.headers.get("webhook-id", "")
            with lock:
                n = seen[key] = seen.get(key, 0) + 1
            fail = n == 1 and hashlib.md5(key.encode()).digest()[0] % 5 == 0
            self._answer(500 if fail else 200, b'{"error": "busy"}' if fail else b'{"ok": true}')

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pipe.send(server.server_address[1])
    server.serve_forever()


class Receiver:
    def __init__(self):
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(target=serve, args=(child,), daemon=True)
        self.process.start()
        self.port = parent.recv()

    def seen(self) -> dict[str, int]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port)
        connection.request("GET", "/seen")
        counts = json.loads(connection.getresponse().read())
        connection.close()
        return counts

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def raw_loop(port: int, secret: str, bodies: list[tuple[str, str]]) -> int:
    """The reference: the same signed requests over one kept-alive connection, failures retried
    once in a second pass. Returns how many requests it made."""
    from standardwebhooks.webhooks import Webhook

    hook, connection, requests = Webhook(secret), http.client.HTTPConnection("127.0.0.1", port), 0
    pending = bodies
    for at in (T0, T0 + timedelta(hours=1)):
        failed = []
        for delivery_id, body in pending:
            headers = {"content-type": "application/json", "webhook-id": delivery_id, "webhook-timestamp": str(int(at.timestamp())),
                       "webhook-signature": hook.sign(delivery_id, at, body)}
            connection.request("POST", "/raw", body=body.encode(), headers=headers)
            response = connection.getresponse()
            response.read()
            requests += 1
            if response.status >= 500:
                failed.append((delivery_id, body))
        pending = failed
    connection.close()
    return requests


def main() -> int:
    receiver = Receiver()  # first: the spawned process starts from a clean interpreter, before Django
    django_setup()
    import os

    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count

    settings.CDP_WEBHOOK_ALLOW_PRIVATE = True
    call_command("lakehouse", "migrate", stdout=open(os.devnull, "w"))
    from customers.services import customer_identify
    from messaging.models import Delivery, DeliveryAttempt
    from messaging.services import channels, outbox, templates
    from messaging.services.drain import Drain, after_pass
    from messaging.types import SendRequest
    from tenancy import services as tenancy

    tenant = tenancy.tenant_create(slug="bench", actor="bench")
    ids = [customer_identify(tenant=tenant, user_id=f"u{n}", anonymous_id=None, email=None, traits={"plan": "pro" if n % 3 else "free"},
                             actor="bench").cdp_id for n in range(CUSTOMERS)]
    channel = channels.channel_create(tenant=tenant, name="hook", kind="webhook", actor="bench",
                                      config={"url": f"http://127.0.0.1:{receiver.port}/hook"})
    template = templates.template_create(tenant=tenant, name="order", channel_kind="webhook", parts={"body": BODY}, actor="bench")
    queueing = timed(lambda: outbox.deliveries_enqueue(tenant=tenant, now=T0, requests=[SendRequest(
        key=f"order-{n}", channel_id=channel.id, template_id=template.id, cdp_id=ids[n % CUSTOMERS], category="transactional",
        variables={"order": f"o{n}"}) for n in range(DELIVERIES)]))

    def product():
        drain = Drain()
        try:
            for at in (T0, T0 + timedelta(hours=1)):
                while drain.run(now=at, limit=500):
                    after_pass()  # the statuses exported as events on the customers, as the schedule does
        finally:
            drain.close()

    took = timed(product)
    seen = receiver.seen()
    product_requests = sum(seen.values())
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    attempts = DeliveryAttempt.objects.count()
    failed = []
    if statuses != {"sent": DELIVERIES}:
        failed.append(f"statuses {statuses}")
    if attempts != product_requests:
        failed.append(f"{attempts} attempts recorded, {product_requests} requests received")
    delivery_ids = set(Delivery.objects.values_list("delivery_id", flat=True))
    if not delivery_ids <= set(seen):
        failed.append("some webhook-ids never arrived")
    bodies = [(f"raw_{n}", f'{{"order": "o{n}", "customer": "{ids[n % CUSTOMERS]}", "plan": "pro"}}') for n in range(DELIVERIES)]
    raw_requests = 0

    def reference():
        nonlocal raw_requests
        raw_requests = raw_loop(receiver.port, channel.secret, bodies)

    raw = timed(reference)
    receiver.stop()
    if failed:
        print("correctness gate failed:\n  " + "\n  ".join(failed))
        return 1
    report({"deliveries": str(DELIVERIES), "queueing_seconds": queueing, "product_seconds": took, "raw_seconds": raw,
            "product_requests": str(product_requests), "raw_requests": str(raw_requests),
            "product_ms_per_delivery": took * 1000 / DELIVERIES}, took / raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
