"""kernel.forms.JSONObjectField reads JSON as the API does: what it accepts can be stored."""
from __future__ import annotations

from django import forms

from kernel.forms import JSONObjectField


class _Form(forms.Form):
    value = JSONObjectField(required=False, not_object="An object, please.", hint="Try again.")


def _error(text: str) -> str:
    form = _Form({"value": text})
    return "" if form.is_valid() else form.errors["value"][0]


def test_an_object_is_read_and_everything_else_is_refused_with_what_to_do():
    def read(text):
        form = _Form({"value": text})
        assert form.is_valid(), form.errors
        return form.cleaned_data["value"]

    assert read(' {"a": [1, "é"]} ') == {"a": [1, "é"]} and read("  ") == {}
    assert _error("[1]") == "An object, please."
    assert _error("{").startswith("Not JSON: the text is not valid JSON") and _error("{").endswith("Try again.")
    assert "NaN" in _error('{"a": NaN}')  # Python's json would take it; no database column can
    assert "NUL" in _error('{"a": "x\\u0000"}') and "surrogate" in _error('{"a": "\\ud800"}')
    assert '&quot;a&quot;: 1' in str(_Form(initial={"value": {"a": 1}})["value"])  # an initial object shown as JSON text
