"""A seeded, realistic e-commerce dataset for the demo tenant.

About 5k customers and 100k events over the last 90 days: anonymous visitors browsing, some of
whom sign up and identify later (their earlier events join them), product views, carts,
checkouts and orders with amounts, plus the mess real traffic has: people who signed up twice
with the same email, junk identifiers (`undefined`, `null`, `0`) from broken SDK set-ups, and a store
kiosk many customers sign in at (a shared identifier the Identity page suggests blocking).
Calls go through `customers.services.calls_apply`, as the loader's do, so the data is exactly what ingestion would make.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from customers.selectors import computed_trait_names, event_exists
from customers.services import calls_apply, computed_trait_create
from kernel.segment.calls import Accepted, normalize_call
from lakehouse import get_engine
from tenancy.types import TenantRef

FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
               "Katherine", "Dennis", "Hedy", "John", "Sophie", "Guido", "Anita", "Bjarne"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
              "Perlman", "Berners-Lee", "Johnson", "Ritchie", "Lamarr", "Backus", "Wilson", "van Rossum", "Borg", "Stroustrup"]
CITIES = ["Oslo", "Lisbon", "Berlin", "Austin", "Toronto", "Nairobi", "Osaka", "Melbourne", "Madrid", "Chicago"]
PRODUCTS = [(f"sku-{n:03d}", name, price) for n, (name, price) in enumerate([
    ("Trail Runner", 129.0), ("Rain Shell", 189.0), ("Merino Tee", 49.0), ("Canvas Tote", 29.0), ("Thermal Mug", 24.5),
    ("Down Vest", 159.0), ("Wool Socks", 18.0), ("Day Pack", 89.0), ("Sun Hat", 35.0), ("Camp Stove", 74.0),
    ("Headlamp", 39.0), ("Water Filter", 45.0)])]
JUNK_IDS = ["undefined", "null", "0", "anonymous", "-1"]
FIRST_MESSAGE_ID = "demo-000000"
SESSION_CALLS = 6  # calls in an average session (home, one to three products viewed, sometimes a cart)
ONE_TIME_SHARE = 0.35  # visitors who come once
COMPUTED_TRAITS = [
    {"name": "orders_30d", "aggregation": "count", "event": "Order Completed", "window_days": 30,
     "description": "Orders in the last 30 days."},
    {"name": "lifetime_value", "aggregation": "sum", "event": "Order Completed", "property": "revenue",
     "description": "Total revenue from all orders."},
    {"name": "last_seen_at", "aggregation": "last", "description": "When the customer was last active."},
    {"name": "page_views_7d", "aggregation": "count", "event_type": "page", "window_days": 7,
     "description": "Pages viewed in the last 7 days."},
]


@dataclass(frozen=True)
class DemoDataResult:
    created: bool
    customers: int = 0
    events: int = 0


class _Shop:
    """Generates one tenant's traffic, deterministically from the seed."""

    def __init__(self, seed: int, now: datetime, target_events: int):
        self.rng, self.now, self.target = random.Random(seed), now, target_events
        self.calls: list[dict] = []
        self.emails: list[str] = []

    def call(self, **fields) -> None:
        self.calls.append({"messageId": f"demo-{len(self.calls):06d}", **fields})

    def when(self, start: datetime, minutes: float) -> datetime:
        return min(start + timedelta(minutes=minutes), self.now - timedelta(minutes=1))

    def visitor(self, n: int, customers: int) -> None:
        rng = self.rng
        anonymous_id = f"anon-{n:05d}-{rng.getrandbits(32):08x}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        user_id = f"user-{n:05d}" if rng.random() < 0.7 else None
        email = f"{first}.{last}.{n}@example.com".lower().replace(" ", "")
        if user_id and self.emails and rng.random() < 0.01:  # signed up twice with one email: a conflict to review
            email = rng.choice(self.emails)
        if user_id:
            self.emails.append(email)
        start = self.now - timedelta(days=rng.uniform(0, 90))
        sessions = self.session_count(customers)
        span = (self.now - start).total_seconds() / 60 - 30  # every session ends before now
        starts = sorted(rng.uniform(0, max(span, 1)) for _ in range(sessions - 1))
        identified = False
        for session, offset in enumerate([0.0, *starts]):
            at = self.when(start, offset).replace(microsecond=0)
            ids = {"anonymousId": anonymous_id, **({"userId": user_id} if identified else {})}
            self.session(ids, at)
            if user_id and not identified and (session >= sessions // 2 or rng.random() < 0.4):
                identified = True
                junk = rng.random() < 0.005
                self.call(type="identify", anonymousId=anonymous_id, userId=rng.choice(JUNK_IDS) if junk else user_id,
                          timestamp=self.when(at, 5).isoformat(),
                          traits={"email": email, "first_name": first, "last_name": last, "name": f"{first} {last}",
                                  "city": rng.choice(CITIES), "plan": rng.choice(["free", "free", "plus", "pro"]),
                                  "age": rng.randint(18, 75), "newsletter": rng.random() < 0.6})
        if identified and n % 23 == 0:  # signs in once at the store's kiosk, as many do: a shared identifier to block
            at = (self.now - timedelta(days=1 + n % 60)).replace(microsecond=0)
            self.call(type="identify", userId=user_id, timestamp=at.isoformat(), context={"device": {"id": "store-kiosk-1"}})
        if identified and rng.random() < 0.15:  # later, on a phone: browses anonymously, then signs in (a merge)
            phone_id = f"anon-{n:05d}-m{rng.getrandbits(24):06x}"
            at = (self.now - timedelta(days=rng.uniform(8, 20))).replace(microsecond=0)
            self.session({"anonymousId": phone_id}, at)
            self.call(type="identify", anonymousId=phone_id, userId=user_id, timestamp=self.when(at, 60 * 24 * rng.uniform(3, 7)).isoformat())

    def session_count(self, customers: int) -> int:
        """A third come once; the others return, on days of their own across the 90 days, about
        as often as the events budget allows (a session is about six calls), so profiles and
        charts show history rather than one burst."""
        per_visitor = max(self.target / customers / SESSION_CALLS, 1)
        if per_visitor <= 1 or self.rng.random() < ONE_TIME_SHARE:
            return 1
        returning_mean = (per_visitor - ONE_TIME_SHARE) / (1 - ONE_TIME_SHARE)
        return 1 + round(self.rng.expovariate(1 / max(returning_mean - 1, 0.5)))

    def session(self, ids: dict, at: datetime) -> None:
        rng = self.rng
        self.call(type="page", name="Home", timestamp=at.isoformat(), context={"page": {"path": "/"}}, **ids)
        cart = []
        for _step in range(rng.randint(1, 3)):
            sku, name, price = rng.choice(PRODUCTS)
            at = self.when(at, rng.uniform(0.2, 4))
            self.call(type="page", name=name, timestamp=at.isoformat(), context={"page": {"path": f"/products/{sku}"}}, **ids)
            self.call(type="track", event="Product Viewed", timestamp=at.isoformat(),
                      properties={"sku": sku, "name": name, "price": price}, **ids)
            if rng.random() < 0.3:
                cart.append((sku, price))
                self.call(type="track", event="Product Added", timestamp=self.when(at, 0.5).isoformat(),
                          properties={"sku": sku, "price": price, "quantity": 1}, **ids)
        if cart and rng.random() < 0.6:
            at = self.when(at, rng.uniform(1, 10))
            cart_id = f"cart-{len(self.calls):06d}"  # journeys key on it (the abandoned-cart demo)
            self.call(type="track", event="Checkout Started", timestamp=at.isoformat(), properties={"items": len(cart), "cartId": cart_id},
                      **ids)
            if rng.random() < 0.7:
                revenue = round(sum(price for _, price in cart), 2)
                self.call(type="track", event="Order Completed", timestamp=self.when(at, 2).isoformat(),
                          properties={"order_id": f"ord-{len(self.calls):06d}", "cartId": cart_id, "revenue": revenue, "currency": "USD",
                                      "products": [sku for sku, _ in cart]}, **ids)


def demo_data_load(*, tenant: TenantRef, customers: int = 5000, events: int = 100_000, seed: int = 7, actor: str = "demo",
                   progress: Callable[[int, int], None] = lambda done, total: None, now: datetime | None = None) -> DemoDataResult:
    """Load the dataset into an empty tenant; a tenant that has it already is left alone. The
    traffic ends at `now` (default: the current time; tests fix it, since days depend on it)."""
    engine = get_engine()
    if event_exists(tenant=tenant, message_id=FIRST_MESSAGE_ID):
        return DemoDataResult(created=False)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    shop = _Shop(seed, now, events)
    n = 0
    while len(shop.calls) < events:
        shop.visitor(n, customers)
        n += 1
    calls = shop.calls[:events]
    received = now
    payloads = [outcome.payload for outcome in (normalize_call(call, received_at=received) for call in calls) if isinstance(outcome, Accepted)]
    payloads.sort(key=lambda call: (call["timestamp"], call["messageId"]))  # loaded in time order, as traffic arrives
    chunk = 5_000  # about four days of this traffic per load, so later sign-ins merge earlier visitors
    for start in range(0, len(payloads), chunk):
        with engine.transaction():
            calls_apply(engine, tenant, payloads[start:start + chunk])
        progress(min(start + chunk, len(payloads)), len(payloads))
    for definition in COMPUTED_TRAITS:
        if definition["name"] not in computed_trait_names(tenant=tenant):
            computed_trait_create(tenant=tenant, actor=actor, values=definition)
    return DemoDataResult(created=True, customers=n, events=len(payloads))
