from django import forms


class RulesForm(forms.Form):
    priority = forms.CharField(max_length=500, help_text="Identifier types, strongest first, separated by commas.")
    limits = forms.CharField(max_length=1000, help_text="type=limit pairs separated by commas; * for every other type.")
    blocked = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 6}),
                              help_text="One regular expression per line; a value matching one whole identifies nobody.")
    custom = forms.CharField(max_length=2000, required=False, help_text="name=trait:key or name=context:path, comma separated.")
    default_region = forms.CharField(max_length=2, initial="US")

    def rules_data(self) -> dict:
        """The form as the rules' dict; mistakes in the pairs become form errors."""
        data = self.cleaned_data
        limits, custom = {}, []
        for pair in filter(None, (p.strip() for p in data["limits"].split(","))):
            name, _, number = pair.partition("=")
            try:
                limits[name.strip()] = int(number)
            except ValueError:
                self.add_error("limits", f"{pair!r}: write type=number, e.g. user_id=1")
        for pair in filter(None, (p.strip() for p in data["custom"].split(","))):
            name, _, source = pair.partition("=")
            custom.append({"name": name.strip(), "source": source.strip()})
        return {"priority": [p.strip() for p in data["priority"].split(",") if p.strip()], "limits": limits,
                "blocked": [line.strip() for line in data["blocked"].splitlines() if line.strip()], "custom": custom,
                "default_region": data["default_region"].strip().upper()}

    @classmethod
    def initial_from(cls, rules: dict) -> dict:
        return {"priority": ", ".join(rules["priority"]), "limits": ", ".join(f"{k}={v}" for k, v in rules["limits"].items()),
                "blocked": "\n".join(rules["blocked"]), "custom": ", ".join(f"{c['name']}={c['source']}" for c in rules["custom"]),
                "default_region": rules["default_region"]}


class UnmergeForm(forms.Form):
    identifier = forms.CharField(max_length=300, help_text="type:value of the identifier to block")
    reason = forms.CharField(max_length=500, required=False)


