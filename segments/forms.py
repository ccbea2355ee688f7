"""The console's segment form: names and the definition as JSON (the builder edits it)."""
from __future__ import annotations

import json

from django import forms

from kernel.forms import JSONObjectField


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    refresh_minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=5, help_text="How often it is refreshed.")
    definition = JSONObjectField(required=False, widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
                                 not_object="A condition or a group: a JSON object.", hint="Fix it, or rebuild it with the builder.",
                                 help_text="The conditions as JSON (docs/segments.md); the builder above writes it.")


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header: cdp_id, or identifier types such as email and user_id.")
    mode = forms.ChoiceField(choices=[("add", "Add them"), ("remove", "Remove them"), ("replace", "Make the list exactly this file")],
                             initial="add")


def definition_text(definition: dict) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False) if definition else ""
