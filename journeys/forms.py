"""The console's journey forms: name, description and the definition as JSON; publishing."""
from __future__ import annotations

import json

from django import forms

STARTER = {"entry": {"type": "manual"}, "start": "wait",
           "nodes": [{"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "done"}, {"id": "done", "type": "exit"}],
           "holdout_percent": 5}


class JourneyForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    definition = forms.CharField(widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
                                 help_text="Entry, nodes, goal and settings as JSON (docs/journeys.md). A draft may be incomplete; "
                                           "publishing checks it all and names each problem's node.")

    def clean_definition(self):
        try:
            value = json.loads(self.cleaned_data["definition"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("A journey definition is a JSON object.")
        return value


class PublishForm(forms.Form):
    in_flight = forms.ChoiceField(choices=[("stay", "Instances in flight stay on their version"),
                                           ("move", "Move them to the node of the same id in this version")],
                                  initial="stay", widget=forms.RadioSelect)
    node_map = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "code", "placeholder": "old_node=new_node"}),
                               help_text="When moving: for nodes this version no longer has, one line old=new (old= ends them).")

    def clean_node_map(self):
        mapping = {}
        for number, line in enumerate((self.cleaned_data.get("node_map") or "").splitlines(), 1):
            if not line.strip():
                continue
            old, sep, new = line.partition("=")
            if not sep or not old.strip():
                raise forms.ValidationError(f"Line {number}: old_node=new_node.")
            mapping[old.strip()] = new.strip()
        return mapping


def definition_text(definition: dict) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False)
