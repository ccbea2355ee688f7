from zoneinfo import available_timezones

from django import forms

from tenancy.roles import Role


class KeyForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Where the key is used, e.g. 'checkout service'.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, required=False)


class MemberForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


def time_zone_choices() -> list[tuple[str, str]]:
    return [("", "The site's default"), *((zone, zone.replace("_", " ")) for zone in sorted(available_timezones()))]


class TenantForm(forms.Form):
    name = forms.CharField(max_length=200)
    time_zone = forms.ChoiceField(choices=time_zone_choices, required=False,
                                  help_text="Times and days in the console (charts, 'today', dates) are shown in it.")
