"""Human formatting in the console (issue 14): numbers grouped, money with two decimals, times
relative with the exact local time on hover, trait values as people read them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from console.templatetags.console_tags import money, number, percent, trait_display, when
from customers.types import Trait

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_numbers_money_and_shares():
    assert (number(100000), number(1234.5), number(0.256), number(None), number(0.0)) == ("100,000", "1,234.5", "0.26", "—", "0")
    assert (money(0.0), money(1234.5), money("n/a")) == ("0.00", "1,234.50", "n/a")
    assert percent(2 / 3) == "67%"


def test_times_are_relative_with_the_exact_local_time_on_hover():
    with timezone.override(ZoneInfo("Europe/Paris")):
        html = when(NOW - timedelta(minutes=5), NOW)
    assert html == '<time datetime="2026-11-20T11:55:00+00:00" title="Fri 20 Nov 2026, 12:55:00 CET">5 minutes ago</time>'
    assert ">just now<" in when(NOW - timedelta(seconds=10), NOW) and ">in 2 days<" in when(NOW + timedelta(days=2, hours=1), NOW)
    assert when(None) == "" and "2026-11-20T12:00:00+00:00" in when(NOW.replace(tzinfo=None), NOW), "a naive time is UTC"


def _trait(key, value, kind="string"):
    return Trait(key=key, value=value, type=kind, number_value=None, updated_at=NOW, source="identify")


def test_trait_values_read_as_people_read_them():
    assert trait_display(_trait("lifetime_value", 0.0, "number")) == "0.00"
    assert trait_display(_trait("orders_30d", 12000, "number")) == "12,000"
    assert "ago</time>" in trait_display(_trait("last_seen_at", "2026-11-19T10:00:00.123456+00:00"))
    assert trait_display(_trait("city", "Oslo")) == "Oslo"
    assert trait_display(_trait("flags", ["a", "<b>"], "array")) == '<code title="array">[&quot;a&quot;, &quot;&lt;b&gt;&quot;]</code>'
    assert trait_display(_trait("nothing", None)) == "—"
