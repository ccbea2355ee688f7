import json
from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from kernel.times import parse_time

register = template.Library()


@register.filter
def pairs(mapping) -> list:
    """A dict's (key, value) pairs. `mapping.items` in a template would first look up a key named
    'items', which event properties often have."""
    return list(mapping.items()) if isinstance(mapping, dict) else []


@register.filter
def json_value(value) -> str:
    """A trait's value as a person reads it: text as it is, anything else as JSON (`true`, `42`,
    `["a","b"]`), never Python's spelling of it. The template engine escapes the result."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


# --- human formatting (issue 14): numbers grouped, money with two decimals, times relative with
# the exact local time on hover. Times are shown in the tenant's zone (activated per request by
# tenancy.middleware); the API keeps UTC.

@register.filter
def number(value) -> str:
    """12,345, and up to two decimals for a fraction (1,234.5, 0.25)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return number_format(value, use_l10n=True, force_grouping=True)  # exact, however large
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return str(value)
    if value.is_integer():
        return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)
    text = number_format(round(value, 2), decimal_pos=2, use_l10n=True, force_grouping=True)
    return text.rstrip("0").rstrip(".")


@register.filter
def money(value) -> str:
    """1,234.50: two decimals, grouped."""
    if value is None or value == "":
        return "—"
    try:
        return number_format(float(value), decimal_pos=2, use_l10n=True, force_grouping=True)
    except (TypeError, ValueError, OverflowError):
        return str(value)


@register.filter
def percent(value) -> str:
    """0.4567 -> 46%."""
    if value is None:
        return "—"
    return f"{round(float(value) * 100)}%"


@register.filter
def when(value, now=None):
    """<time> with '5 minutes ago' (or 'in 2 days') as text and the exact local time on hover."""
    if not isinstance(value, datetime):
        return "" if value in (None, "") else value  # empty: `|when|default:"never"` says what it means
    now = now if isinstance(now, datetime) else timezone.now()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    local = timezone.localtime(value)
    delta = now - value
    if abs(delta) < timedelta(seconds=45):
        text = "just now"
    elif delta > timedelta(0):
        text = f"{timesince(value, now, depth=1)} ago"
    else:
        text = f"in {timeuntil(value, now, depth=1)}"
    exact = f"{local:%a %d %b %Y, %H:%M:%S} {local.tzname()}"
    return format_html('<time datetime="{}" title="{}">{}</time>', value.astimezone(UTC).isoformat(timespec="seconds"), exact,
                       text.replace("\xa0", " "))


MONEY_WORDS = ("revenue", "price", "amount", "total", "spend", "value", "ltv", "cost", "paid")


@register.filter
def trait_display(trait):
    """A trait's value as a person reads it: numbers grouped (money-like names with two decimals:
    `lifetime_value` 0 -> 0.00), ISO times as a relative time, text as it is, anything else as JSON."""
    value, key = trait.value, trait.key.lower()
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return money(value) if any(word in key for word in MONEY_WORDS) else number(value)
    if isinstance(value, str):
        parsed = parse_time(value) if len(value) >= 19 and value[4:5] == "-" and value[10:11] in ("T", " ") else None
        return when(parsed) if parsed else value
    return format_html('<code title="{}">{}</code>', trait.type, json_value(value))


@register.filter
def label(value) -> str:
    """A stored status or key as words: awaiting_approval -> awaiting approval."""
    return str(value or "").replace("_", " ")
