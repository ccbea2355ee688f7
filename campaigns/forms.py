"""The console's campaign editor: a form a marketer fills in (no JSON), turned into the
definition the API takes (campaigns.definition), and back for editing a draft."""
from __future__ import annotations

from django import forms

SCHEDULES = [("now", "As soon as it is scheduled"), ("at", "At a moment"), ("local", "At a local time in each customer's time zone"),
             ("cron", "Recurring (cron)")]
METRICS = [("", "No winner selection: send the variants to everyone"), ("goal", "Pick the winner by conversions to the goal"),
           ("opened", "Pick the winner by opens"), ("clicked", "Pick the winner by clicks")]
VARIANT_KEYS = ("A", "B", "C")


class ApprovalRuleForm(forms.Form):
    approval_threshold = forms.IntegerField(min_value=0, max_value=1_000_000_000, label="Approval above (reachable customers)",
                                            help_text="A campaign reaching more customers than this, or every customer, needs a "
                                                      "second admin's approval before it is scheduled.")


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    segments = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple, label="Send to members of")
    exclude = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="Except members of")
    cap = forms.IntegerField(required=False, min_value=1, max_value=100_000_000, label="At most this many recipients",
                             help_text="A stable random sample of the audience (empty: everyone).")
    channel_id = forms.TypedChoiceField(coerce=int, label="Channel")
    category = forms.ChoiceField(choices=[("marketing", "Marketing (consent, caps, quiet hours)"),
                                          ("transactional", "Transactional")], initial="marketing")
    topic = forms.CharField(max_length=100, required=False, help_text="The subscription topic of a marketing message.")
    template_a = forms.TypedChoiceField(coerce=int, label="Variant A template")
    template_b = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Variant B template")
    template_c = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Variant C template")
    holdout_percent = forms.FloatField(min_value=0, max_value=50, initial=5, label="Holdout %",
                                       help_text="Receives nothing; the report measures the lift against it.")
    schedule = forms.ChoiceField(choices=SCHEDULES, initial="now", widget=forms.RadioSelect)
    at = forms.DateTimeField(required=False, label="Moment (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    date = forms.DateField(required=False, label="Local date", widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(required=False, label="Local time", widget=forms.TimeInput(attrs={"type": "time"}))
    cron = forms.CharField(max_length=100, required=False, help_text="Minute hour day month weekday, e.g. 0 9 * * 1.")
    timezone = forms.CharField(max_length=64, required=False, help_text="The cron's time zone (empty: the tenant's).")
    throttle_per_minute = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, label="At most per minute")
    max_lateness_hours = forms.IntegerField(required=False, min_value=1, max_value=720, label="Drop sends later than (hours)")
    goal_event = forms.CharField(max_length=255, required=False, label="Goal event", help_text="e.g. Order Completed")
    goal_days = forms.IntegerField(required=False, min_value=1, max_value=365, initial=3, label="Goal window (days)")
    winner_metric = forms.ChoiceField(choices=METRICS, required=False)
    winner_test_percent = forms.FloatField(required=False, min_value=1, max_value=99, initial=20, label="Test share %")
    winner_wait_hours = forms.IntegerField(required=False, min_value=1, max_value=720, initial=4, label="Pick the winner after (hours)")
    seeds = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Seed addresses",
                            help_text="Internal addresses that get every variant, one a line.")

    def __init__(self, *args, segments, channels, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segments"].choices = self.fields["exclude"].choices = [(s.id, s.name) for s in segments]
        self.fields["channel_id"].choices = [(c.id, f"{c.name} ({c.kind})") for c in channels]
        options = [(t.id, f"{t.name} ({t.channel_kind})") for t in templates]
        self.fields["template_a"].choices = options
        self.fields["template_b"].choices = self.fields["template_c"].choices = [("", "—"), *options]

    def definition(self) -> dict:
        """The definition the filled-in form describes (the services check it)."""
        data = self.cleaned_data
        variants = [{"key": key, "template_id": data[f"template_{key.lower()}"]} for key in VARIANT_KEYS if data.get(f"template_{key.lower()}")]
        schedule: dict = {"type": data["schedule"]}
        if data["schedule"] == "at" and data.get("at"):
            schedule["at"] = data["at"].isoformat()
        if data["schedule"] == "local":
            schedule.update({"date": data["date"].isoformat() if data.get("date") else None,
                             "time": data["time"].strftime("%H:%M") if data.get("time") else None})
        if data["schedule"] == "cron":
            schedule.update({"cron": data.get("cron", ""), "timezone": data.get("timezone", "")})
        out = {"audience": {"segments": data["segments"], "exclude": data.get("exclude") or [],
                            **({"cap": data["cap"]} if data.get("cap") else {})},
               "channel_id": data["channel_id"], "category": data["category"], "topic": data.get("topic", ""),
               "variants": variants, "holdout_percent": data["holdout_percent"], "schedule": schedule,
               "seeds": [line.strip() for line in data.get("seeds", "").splitlines() if line.strip()]}
        if data.get("throttle_per_minute"):
            out["throttle_per_minute"] = data["throttle_per_minute"]
        if data.get("max_lateness_hours"):
            out["max_lateness"] = {"hours": data["max_lateness_hours"]}
        if data.get("goal_event"):
            out["goal"] = {"event": data["goal_event"], "within": {"days": data.get("goal_days") or 3}}
        if data.get("winner_metric"):
            out["winner"] = {"metric": data["winner_metric"], "test_percent": data.get("winner_test_percent") or 20,
                             "wait": {"hours": data.get("winner_wait_hours") or 4}}
        return out


def initial_from(definition: dict, *, name: str = "", description: str = "") -> dict:
    """The form's fields for a saved definition (editing a draft)."""
    schedule = definition.get("schedule") or {}
    variants = {v["key"]: v["template_id"] for v in definition.get("variants", [])}
    goal, winner = definition.get("goal") or {}, definition.get("winner") or {}
    return {"name": name, "description": description, "segments": definition.get("audience", {}).get("segments", []),
            "exclude": definition.get("audience", {}).get("exclude", []), "cap": definition.get("audience", {}).get("cap"),
            "channel_id": definition.get("channel_id"), "category": definition.get("category", "marketing"),
            "topic": definition.get("topic", ""), "template_a": variants.get("A"), "template_b": variants.get("B"),
            "template_c": variants.get("C"), "holdout_percent": definition.get("holdout_percent", 5),
            "schedule": schedule.get("type", "now"), "at": schedule.get("at"), "date": schedule.get("date"), "time": schedule.get("time"),
            "cron": schedule.get("cron", ""), "timezone": schedule.get("timezone", ""),
            "throttle_per_minute": definition.get("throttle_per_minute"),
            "max_lateness_hours": (definition.get("max_lateness") or {}).get("hours"),
            "goal_event": goal.get("event", ""), "goal_days": (goal.get("within") or {}).get("days", 3),
            "winner_metric": winner.get("metric", ""), "winner_test_percent": winner.get("test_percent", 20),
            "winner_wait_hours": (winner.get("wait") or {}).get("hours", 4), "seeds": "\n".join(definition.get("seeds", []))}
