"""The console's messaging forms: Django's fields refuse what the database would (NUL
characters, overlong names), with a message instead of an error page."""
from __future__ import annotations

from django import forms

KINDS = [("email", "email"), ("webhook", "webhook"), ("sms", "sms"), ("table", "table export")]


class TemplateNewForm(forms.Form):
    name = forms.CharField(max_length=200)
    channel_kind = forms.ChoiceField(choices=KINDS)


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=KINDS)
    config = forms.CharField(required=False, max_length=20_000)
    secret = forms.CharField(required=False, max_length=4000, strip=False)


def first_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        return f"{field}: {errors[0]}" if field != "__all__" else errors[0]
    return ""
