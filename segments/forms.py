"""The console's segment form: names and the definition as JSON (the builder edits it)."""
from __future__ import annotations

import json

from django import forms


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    refresh_minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=5, help_text="How often it is refreshed.")
    definition = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
                                 help_text="The conditions as JSON (docs/segments.md); the builder above writes it.")

    def clean_definition(self):
        text = (self.cleaned_data.get("definition") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}. Fix it, or rebuild it with the builder.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("A condition or a group: a JSON object.")
        return value


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header: cdp_id, or identifier types such as email and user_id.")
    mode = forms.ChoiceField(choices=[("add", "Add them"), ("remove", "Remove them"), ("replace", "Make the list exactly this file")],
                             initial="add")


def definition_text(definition: dict) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False) if definition else ""
