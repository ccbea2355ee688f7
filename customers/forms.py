import json

from django import forms

from customers.computed import AGGREGATIONS
from kernel.jsontext import JsonRejected, loads

VALUE_TYPES = [("auto", "as typed"), ("string", "text"), ("number", "number"), ("boolean", "true/false"), ("json", "JSON")]


class TraitForm(forms.Form):
    """A trait set by an operator. `type` says how to read the value: as typed (a JSON number,
    true/false, array or object when it is one, text otherwise: `42` is a number, `02134` text),
    or forced to one type."""

    key = forms.RegexField(regex=r"^[A-Za-z0-9_.\-]{1,128}$", max_length=128,
                           error_messages={"invalid": "Use letters, digits, _, - and . (up to 128)."})
    value = forms.CharField(max_length=2000, required=False, strip=True)
    type = forms.ChoiceField(choices=VALUE_TYPES, required=False)

    def clean(self):
        data = super().clean()
        if "value" in data:
            try:
                data["value"] = typed_value(data["value"], data.get("type") or "auto")
            except ValueError as exc:
                self.add_error("value", str(exc))
        return data


def typed_value(text: str, kind: str):
    """The value a person typed, as the JSON type they meant (see TraitForm)."""
    if kind == "string":
        return text
    if kind == "number":
        try:
            number = json.loads(text)
        except ValueError:
            number = None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError("Enter a number, such as 42 or 3.5.")
        return number
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError("Enter true or false.")
        return text.lower() == "true"
    try:
        value = loads(text)
    except (ValueError, JsonRejected):
        if kind == "json":
            raise ValueError("Enter JSON, such as [\"a\", \"b\"] or {\"city\": \"Oslo\"}.") from None
        return text
    # As typed: text that happens to read as JSON text ("\"x\"") or a number with leading zeros
    # (not JSON) stays text; a JSON number, true/false, null, array or object is taken as one.
    return text if isinstance(value, str) else value


class ConsentForm(forms.Form):
    channel = forms.CharField(max_length=32)
    purpose = forms.CharField(max_length=64)
    granted = forms.TypedChoiceField(choices=[("true", "granted"), ("false", "denied")], coerce=lambda v: v == "true")


class EraseForm(forms.Form):
    confirm = forms.CharField(max_length=64, help_text="Type the customer's id to confirm.")


class ComputedTraitForm(forms.Form):
    name = forms.CharField(max_length=64)
    aggregation = forms.ChoiceField(choices=[(a, a.replace("_", " ")) for a in AGGREGATIONS])
    event = forms.CharField(max_length=200, required=False)
    event_type = forms.ChoiceField(choices=[("", "any"), ("track", "track"), ("page", "page"), ("screen", "screen"),
                                            ("identify", "identify"), ("group", "group"), ("alias", "alias")], required=False)
    property = forms.CharField(max_length=200, required=False)
    window_days = forms.IntegerField(required=False, min_value=1, max_value=3650)
    description = forms.CharField(max_length=500, required=False)
