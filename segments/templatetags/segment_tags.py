"""Explanations in words: a condition, and what its facts are called."""
from __future__ import annotations

from django import template

from segments.describe import describe

register = template.Library()
LABELS = {"trait": "the trait", "writes": "writes of it", "calls": "matching calls", "last_call": "the last matching call",
          "first": "first-step calls", "then": "second-step calls", "periods": "active periods", "identifiers": "identifiers",
          "consent": "latest decision", "member": "in that segment", "bucket": "bucket"}


@register.filter
def describe_condition(condition: dict, names=None) -> str:
    return describe(condition, names or {})


@register.filter
def fact_label(fact: dict) -> str:
    return LABELS.get(fact.get("fact"), fact.get("fact", ""))
