"""Identity rules: which identifiers count, how they are normalised, what is blocked, the limits.

Segment-like defaults: a priority order of identifier types; at most one `user_id` and five of
every other type per customer; junk values (empty, `null`, `undefined`, `anonymous`, `0`, `-1`,
all-zero ids) never identify anybody.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cached_property

import phonenumbers
import re2

BUILT_IN_TYPES = ("user_id", "email", "phone", "device_id", "anonymous_id")
DEFAULT_LIMITS = {"user_id": 1, "*": 5}
DEFAULT_BLOCKED = (r"", r"null", r"none", r"nil", r"undefined", r"anonymous", r"unknown", r"n/a", r"0", r"-1",
                   r"[0\-]+", r"test@test\.com")
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
logger = logging.getLogger("cdp.identity")


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive, options.log_errors = False, False
    return options


def blocked_regex(patterns):
    """The blocked patterns as one RE2 expression, matched case-insensitively. RE2 runs in time
    linear in the value whatever the pattern, so a tenant's pattern such as `(a+)+b` cannot stall
    the loader for every tenant (Python's `re` backtracks exponentially on it); Arrow's RE2 applies
    the same patterns in resolution, so both agree. Raises re2.error for what RE2 cannot read."""
    return re2.compile("|".join(f"(?:{p})" for p in patterns), _re2_options())


@dataclass(frozen=True)
class CustomType:
    """A tenant's own identifier type, read from a trait (`trait:crm_id`) or the context (`context:app.install_id`)."""

    name: str
    source: str

    @property
    def path(self) -> list[str]:
        return self.source.partition(":")[2].split(".")


@dataclass(frozen=True)
class Rules:
    priority: tuple[str, ...] = BUILT_IN_TYPES
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    blocked: tuple[str, ...] = DEFAULT_BLOCKED
    custom: tuple[CustomType, ...] = ()
    default_region: str = "US"

    def limit(self, id_type: str) -> int:
        return int(self.limits.get(id_type, self.limits.get("*", 5)))

    def rank(self, id_type: str) -> int:
        """Lower is stronger; types missing from the priority list come last."""
        try:
            return self.priority.index(id_type)
        except ValueError:
            return len(self.priority)

    @cached_property
    def blocked_pattern(self):
        if not self.blocked:
            return None
        try:
            return blocked_regex(self.blocked)
        except re2.error:
            # Saved before patterns had to be RE2 (look-arounds, back-references): keep blocking
            # with Python's engine until an admin saves rules RE2 reads.
            logger.warning("identity rules hold patterns RE2 cannot read; matching them with Python's re")
            return re.compile("|".join(f"(?:{p})" for p in self.blocked), re.IGNORECASE)

    def is_blocked(self, value: str) -> bool:
        return self.blocked_pattern is not None and self.blocked_pattern.fullmatch(value.strip()) is not None

    def problems(self) -> list[dict]:
        errors = []
        types = set(self.priority) | {c.name for c in self.custom}
        for name in self.priority:
            if not TYPE_NAME.match(name):
                errors.append({"field": "priority", "message": f"{name!r}: lower-case letters, digits and _"})
        if len(set(self.priority)) != len(self.priority):
            errors.append({"field": "priority", "message": "names a type twice"})
        for name, limit in self.limits.items():
            if name != "*" and name not in types:
                errors.append({"field": "limits", "message": f"{name!r} is not an identifier type in priority or custom"})
            if not isinstance(limit, int) or not 1 <= limit <= 1000:
                errors.append({"field": "limits", "message": f"{name}: a whole number from 1 to 1000"})
        for pattern in self.blocked:
            try:
                blocked_regex([pattern])
            except re2.error as exc:
                reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
                errors.append({"field": "blocked", "message": f"{pattern!r} is not a regular expression RE2 reads (no look-arounds "
                                                              f"or back-references): {reason}"})
        for custom in self.custom:
            if not TYPE_NAME.match(custom.name) or custom.name in BUILT_IN_TYPES:
                errors.append({"field": "custom", "message": f"{custom.name!r}: a new lower-case type name"})
            if not re.match(r"^(trait|context):[A-Za-z_][\w.]*$", custom.source):
                errors.append({"field": "custom", "message": f"{custom.source!r}: trait:<key> or context:<path>"})
        if not phonenumbers.region_code_for_country_code(phonenumbers.country_code_for_region(self.default_region)):
            errors.append({"field": "default_region", "message": "a two-letter region code such as US or GB"})
        return errors

    def as_dict(self) -> dict:
        return {"priority": list(self.priority), "limits": dict(self.limits), "blocked": list(self.blocked),
                "custom": [{"name": c.name, "source": c.source} for c in self.custom], "default_region": self.default_region}

    @classmethod
    def from_dict(cls, data: dict) -> Rules:
        defaults = cls()
        return cls(
            priority=tuple(data.get("priority") or defaults.priority),
            limits=dict(data.get("limits") or defaults.limits),
            blocked=tuple(data["blocked"]) if data.get("blocked") is not None else defaults.blocked,
            custom=tuple(CustomType(name=c["name"], source=c["source"]) for c in data.get("custom") or ()),
            default_region=(data.get("default_region") or defaults.default_region).upper(),
        )


def normalize(id_type: str, value, rules: Rules) -> str | None:
    """The identifier as stored, or None when it identifies nobody (blocked, malformed)."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip() if isinstance(value, (str, int, float)) else None
    if not text or len(text) > 255:
        return None
    if id_type == "email":
        text = text.lower()
        if "@" not in text[1:-1]:
            return None
    elif id_type == "phone":
        try:
            number = phonenumbers.parse(text, rules.default_region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(number):
            return None
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None if rules.is_blocked(text) else text
