"""Form fields the console's apps share."""
from __future__ import annotations

import json

from django import forms

from kernel.jsontext import JsonRejected, loads_storable


class JSONObjectField(forms.CharField):
    """A JSON object typed into a text area (a definition, properties): the dict, or {} when
    left empty. Read as the API reads bodies (`kernel.jsontext`: no NaN, no NUL, no lone
    surrogate), so nothing accepted here fails later where it is stored; `not_object` says what
    to type instead of a list or a number, `hint` what to do about text that is not JSON."""

    def __init__(self, *, not_object: str = "A JSON object: {\"name\": value}.", hint: str = "", max_length: int = 100_000, **kwargs):
        self.not_object, self.hint, self.text_limit = not_object, hint, max_length
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return {}
        if len(text) > self.text_limit:
            raise forms.ValidationError(f"At most {self.text_limit:,} characters.")
        try:
            parsed = loads_storable(text)
        except JsonRejected as exc:
            raise forms.ValidationError(f"{rejected(exc)}{' ' + self.hint if self.hint else ''}") from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(self.not_object)
        return parsed

    def prepare_value(self, value):  # a bound form shows what was typed; an initial dict is shown as text
        return json.dumps(value, indent=2, ensure_ascii=False) if isinstance(value, dict) else value


def rejected(exc: JsonRejected) -> str:
    """kernel.jsontext's refusal, worded for a form field rather than a request body."""
    return "Not JSON: " + str(exc).replace("The body ", "the text ", 1)
