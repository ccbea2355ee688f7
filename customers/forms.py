from django import forms

from customers.computed import AGGREGATIONS


class TraitForm(forms.Form):
    key = forms.RegexField(regex=r"^[A-Za-z0-9_.\-]{1,128}$", max_length=128,
                           error_messages={"invalid": "Use letters, digits, _, - and . (up to 128)."})
    value = forms.CharField(max_length=2000, required=False, strip=True)


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
