"""The console's journey forms: name, description and the definition as JSON; publishing."""
from __future__ import annotations

import json

from django import forms

from kernel.forms import JSONObjectField

STARTER = {"entry": {"type": "manual"}, "start": "wait",
           "nodes": [{"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "done"}, {"id": "done", "type": "exit"}],
           "holdout_percent": 5}


class JourneyForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    definition = JSONObjectField(widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
                                 not_object="A journey definition is a JSON object.",
                                 help_text="Entry, nodes, goal and settings as JSON (docs/journeys.md). A draft may be incomplete; "
                                           "publishing checks it all and names each problem's node.")


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


class SimulationForm(forms.Form):
    """Ask for a simulation: past events (a backtest over a period) or today's audience run
    forward; the service checks the rest and names the field."""
    mode = forms.ChoiceField(choices=[("backtest", "Past events: as if it had been live over a period"),
                                      ("audience", "Today's audience: they enter now, the clock runs forward")],
                             initial="backtest", widget=forms.RadioSelect)
    version = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, help_text="Empty: the newest (a draft too).")
    start = forms.DateTimeField(required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(required=False, label="Until", help_text="Empty: now.",
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    segment = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Audience",
                                     help_text="Whose members enter (default: the journey's entry segment).")
    days = forms.IntegerField(initial=30, min_value=1, max_value=365, required=False, label="Days forward")
    sample = forms.IntegerField(initial=1000, min_value=1, max_value=10_000, required=False, label="At most", help_text="customers")

    def __init__(self, *args, segments=(), zone=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", "the entry segment"), *((s.id, s.name) for s in segments)]
        if zone is not None:  # times typed are read in the tenant's zone (tenancy.middleware makes it current)
            for name in ("start", "end"):
                self.fields[name].label = f"{self.fields[name].label} ({zone.key})"

    def request(self) -> dict:
        """The simulation_queue arguments."""
        data = self.cleaned_data
        if data["mode"] == "backtest":
            return {"mode": "backtest", "version": data["version"], "start": data["start"], "end": data["end"]}
        return {"mode": "audience", "version": data["version"], "segment_id": data["segment"],
                "days": data["days"] or 30, "sample": data["sample"] or 1000}


class JourneyTestForm(forms.Form):
    """Try a journey on one customer (GET: it changes nothing). A wait for events gets a field
    saying which event comes; empty takes the timeout, as the API's `choices` does."""
    prefix = "test"
    customer = forms.CharField(max_length=1024, help_text="A cdp_id, email, user id, anonymous id or phone.")
    at = forms.DateTimeField(required=False, label="Clock starts", help_text="Empty: now.",
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    key = forms.CharField(max_length=200, required=False, help_text="For a keyed journey: the instance's key (a cart id).")
    version = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, help_text="Empty: the newest (a draft too).")
    context = JSONObjectField(required=False, max_length=20_000, label="Entry event's properties",
                              not_object='A JSON object of properties: {"name": value}.',
                              widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "code",
                                                           "placeholder": '{"cartId": "c-1", "total": 42}'}),
                              help_text="JSON; templates see them as event.")

    def __init__(self, *args, spec=None, zone=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.waits = [n for n in (spec.nodes if spec is not None else []) if n.type == "wait_event"]
        for node in self.waits:
            self.fields[f"choice_{node.id}"] = forms.TypedChoiceField(
                required=False, coerce=int, empty_value=None, label=f"At {node.label or node.id}",
                choices=[("", f"nothing comes: the timeout ({node.timeout_next})"),
                         *((i, f"{e.event} comes ({e.next})") for i, e in enumerate(node.events))])
        if zone is not None:
            self.fields["at"].label = f"Clock starts ({zone.key})"

    def request(self) -> dict:
        """The journey_test arguments other than the customer."""
        data = self.cleaned_data
        choices = {n.id: data[f"choice_{n.id}"] for n in self.waits if data.get(f"choice_{n.id}") is not None}
        return {"at": data["at"], "key": data["key"], "version": data["version"], "context": data["context"], "choices": choices}
