from django import forms

from tenancy.roles import Role


class KeyForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Where the key is used, e.g. 'checkout service'.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, required=False)


class MemberForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
