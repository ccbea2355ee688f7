"""The console's campaign editor: a form a marketer fills in (no JSON), turned into the
definition the API takes (campaigns.definition), and back for editing a draft."""
from __future__ import annotations

from django import forms

SCHEDULES = [("now", "As soon as it is scheduled"), ("at", "At a moment"), ("local", "At a local time in each customer's time zone"),
             ("cron", "Recurring (cron)")]
METRICS = [("", "No winner selection: send the variants to everyone"), ("goal", "Pick the winner by conversions to the goal"),
           ("opened", "Pick the winner by opens"), ("clicked", "Pick the winner by clicks")]
VARIANT_KEYS = "ABCDEFGHIJ"  # a row's key unless one is typed
VARIANT_ROWS, MAX_VARIANTS = 5, 10  # rows the editor shows (more when a campaign has more), the definition's limit


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
    variant_rows = forms.IntegerField(required=False, min_value=1, max_value=MAX_VARIANTS, widget=forms.HiddenInput)
    holdout_percent = forms.FloatField(min_value=0, max_value=50, initial=5, label="Holdout %",
                                       help_text="Receives nothing; the report measures the lift against it.")
    schedule = forms.ChoiceField(choices=SCHEDULES, initial="now", widget=forms.RadioSelect)
    at = forms.DateTimeField(required=False, label="Moment (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    date = forms.DateField(required=False, label="Local date", widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(required=False, label="Local time", widget=forms.TimeInput(attrs={"type": "time"}))
    cron = forms.CharField(max_length=100, required=False, help_text="Minute hour day month weekday, e.g. 0 9 * * 1.")
    timezone = forms.CharField(max_length=64, required=False, help_text="The cron's time zone (empty: the tenant's).")
    throttle_per_minute = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, label="At most per minute")
    max_lateness_hours = forms.FloatField(required=False, min_value=1 / 60, max_value=720, label="Drop sends later than (hours)",
                                          widget=forms.NumberInput(attrs={"step": "any"}), help_text="0.5 is half an hour.")
    goal_event = forms.CharField(max_length=255, required=False, label="Goal event", help_text="e.g. Order Completed")
    goal_days = forms.FloatField(required=False, min_value=1 / 1440, max_value=365, initial=3, label="Goal window (days)",
                                 widget=forms.NumberInput(attrs={"step": "any"}))
    winner_metric = forms.ChoiceField(choices=METRICS, required=False)
    winner_test_percent = forms.FloatField(required=False, min_value=1, max_value=99, initial=20, label="Test share %")
    winner_wait_hours = forms.FloatField(required=False, min_value=1 / 60, max_value=720, initial=4, label="Pick the winner after (hours)",
                                         widget=forms.NumberInput(attrs={"step": "any"}))
    seeds = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Seed addresses",
                            help_text="Internal addresses that get every variant, one a line.")

    def __init__(self, data=None, *args, segments, channels, templates, initial=None, **kwargs):
        initial = {**(initial or {})}
        stored = initial.pop("variants", [])
        try:  # the rows the page showed (a campaign with more variants shows more), else enough for the stored ones
            rows = int((data or {}).get("variant_rows") or 0) or max(VARIANT_ROWS, len(stored))
        except (TypeError, ValueError):
            rows = VARIANT_ROWS
        self.variant_count = rows = min(max(rows, 1), MAX_VARIANTS)
        initial["variant_rows"] = rows
        for n, variant in enumerate(stored[:rows], 1):
            initial.update({f"variant_{n}_key": variant.get("key"), f"variant_{n}_template": variant.get("template_id"),
                            f"variant_{n}_weight": variant.get("weight", 1)})
        super().__init__(data, *args, initial=initial, **kwargs)
        self.fields["segments"].choices = self.fields["exclude"].choices = [(s.id, s.name) for s in segments]
        self.fields["channel_id"].choices = [(c.id, f"{c.name} ({c.kind})") for c in channels]
        options = [("", "—"), *((t.id, f"{t.name} ({t.channel_kind})") for t in templates)]
        for n in range(1, rows + 1):
            self.fields[f"variant_{n}_key"] = forms.RegexField(r"^[A-Za-z0-9_-]{1,20}$", required=False, max_length=20,
                                                               label=f"Variant {n} name", widget=forms.TextInput(
                                                                   attrs={"placeholder": VARIANT_KEYS[n - 1], "size": 8}))
            self.fields[f"variant_{n}_template"] = forms.TypedChoiceField(coerce=int, required=n == 1, empty_value=None, choices=options,
                                                                          label=f"Variant {n} template")
            self.fields[f"variant_{n}_weight"] = forms.FloatField(required=False, min_value=0.001, max_value=1000, label=f"Variant {n} weight",
                                                                  widget=forms.NumberInput(attrs={"step": "any", "placeholder": "1"}))

    def variant_rows_shown(self) -> list[tuple]:
        """(name, template, weight) bound fields a row, for the template's variant table."""
        return [(self[f"variant_{n}_key"], self[f"variant_{n}_template"], self[f"variant_{n}_weight"])
                for n in range(1, self.variant_count + 1)]

    def definition(self) -> dict:
        """The definition the filled-in form describes (the services check it)."""
        data = self.cleaned_data
        variants = [{"key": data.get(f"variant_{n}_key") or VARIANT_KEYS[n - 1], "template_id": data[f"variant_{n}_template"],
                     **({"weight": weight} if (weight := data.get(f"variant_{n}_weight")) not in (None, 1) else {})}
                    for n in range(1, self.variant_count + 1) if data.get(f"variant_{n}_template")]
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
            out["max_lateness"] = duration_of(hours=data["max_lateness_hours"])
        if data.get("goal_event"):
            out["goal"] = {"event": data["goal_event"], "within": duration_of(hours=(data.get("goal_days") or 3) * 24)}
        if data.get("winner_metric"):
            out["winner"] = {"metric": data["winner_metric"], "test_percent": data.get("winner_test_percent") or 20,
                             "wait": duration_of(hours=data.get("winner_wait_hours") or 4)}
        return out


def duration_of(*, hours: float) -> dict:
    """A Duration (kernel.definitions) for a number of hours the form took, to the minute:
    whole days and hours stay as such, so a saved definition reads as it was typed."""
    minutes = max(round(hours * 60), 1)
    days, rest = divmod(minutes, 1440)
    whole_hours, minutes = divmod(rest, 60)
    return {k: v for k, v in (("days", days), ("hours", whole_hours), ("minutes", minutes)) if v} or {"minutes": 1}


def hours_in(duration: dict | None) -> float | None:
    """The form's hours for a stored Duration (any mix of days, hours and minutes)."""
    if not duration:
        return None
    return duration.get("days", 0) * 24 + duration.get("hours", 0) + duration.get("minutes", 0) / 60


def initial_from(definition: dict, *, name: str = "", description: str = "") -> dict:
    """The form's fields for a saved definition (editing a draft)."""
    schedule = definition.get("schedule") or {}
    goal, winner = definition.get("goal") or {}, definition.get("winner") or {}
    return {"name": name, "description": description, "segments": definition.get("audience", {}).get("segments", []),
            "exclude": definition.get("audience", {}).get("exclude", []), "cap": definition.get("audience", {}).get("cap"),
            "channel_id": definition.get("channel_id"), "category": definition.get("category", "marketing"),
            "topic": definition.get("topic", ""), "variants": definition.get("variants", []),
            "holdout_percent": definition.get("holdout_percent", 5),
            "schedule": schedule.get("type", "now"), "at": schedule.get("at"), "date": schedule.get("date"), "time": schedule.get("time"),
            "cron": schedule.get("cron", ""), "timezone": schedule.get("timezone", ""),
            "throttle_per_minute": definition.get("throttle_per_minute"),
            "max_lateness_hours": hours_in(definition.get("max_lateness")),
            "goal_event": goal.get("event", ""), "goal_days": (hours_in(goal.get("within")) or 72) / 24,
            "winner_metric": winner.get("metric", ""), "winner_test_percent": winner.get("test_percent", 20),
            "winner_wait_hours": hours_in(winner.get("wait")) or 4, "seeds": "\n".join(definition.get("seeds", []))}
