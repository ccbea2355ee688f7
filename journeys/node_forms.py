"""The console's node editor: a form for one node, built from that node type's schema
(`journeys.graph`), so every setting a node has is a field and a new setting needs no new form.
Text, numbers, yes/no and choices are plain fields; a setting made of such values (a duration, a
failure policy) is one field per part (`duration.hours`), weekdays are checkboxes, and lists of
objects and conditions (events, ways, skip conditions) are JSON fields. The node is checked
against its schema here, each problem at its field; the journey's service checks the whole
definition when it is saved."""
from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal

from django import forms
from pydantic import BaseModel, ValidationError

from journeys.graph import NODE_ID, Node
from kernel.forms import rejected
from kernel.jsontext import JsonRejected, loads_storable

NODE_MODELS: dict[str, type[BaseModel]] = {
    typing.get_args(model.model_fields["type"].annotation)[0]: model for model in typing.get_args(typing.get_args(Node)[0])}
NODE_TYPES = tuple(NODE_MODELS)
FIXED = ("id", "type")  # the id is chosen when the node is added: other nodes point at it
NEXT_FIELDS = ("next", "timeout_next", "missing_next", "else")
# What an empty JSON field shows as its placeholder: the shape to type.
EXAMPLES = {"duration": {"days": 1}, "timeout": {"hours": 4}, "events": [{"event": "Order Completed", "match_key": True, "next": "bought"}],
            "ways": {"branch": [{"condition": {"type": "trait", "key": "plan", "op": "equals", "value": "pro"}, "next": "pro"}],
                     "split": [{"percent": 50, "next": "a"}, {"percent": 50, "next": "b"}]},
            "set": {"lifecycle": "onboarded"}, "from_context": {"tier": "vars.tier"}, "unset": ["trial_ends"], "save": {"tier": "result.tier"},
            "skip_if": {"type": "trait", "key": "vip", "op": "equals", "value": True},
            "on_failure": {"retries": 2, "then": "failure_exit", "next": "oops"}, "weekdays": [0, 1, 2, 3, 4]}


def _plain(annotation):
    """`X | None` -> X: an optional setting is a field that may be left empty."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


SCALARS = (str, int, float, bool)
WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


def _parts(annotation) -> dict | None:
    """The fields of a setting made only of plain values (a duration), else None."""
    model = _plain(annotation)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    fields = model.model_fields
    plain = all(_plain(f.annotation) in SCALARS or typing.get_origin(_plain(f.annotation)) is Literal for f in fields.values())
    return dict(fields) if plain else None


def _default(info) -> Any:
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    return value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value


class NodeForm(forms.Form):
    """One node of `node_type`: `node` is its stored dict (editing) or None (adding)."""

    def __init__(self, *args, node_type: str, node: dict | None = None, pickers: dict | None = None, **kwargs):
        self.model = NODE_MODELS[node_type]
        self.node_type, self.adding = node_type, node is None
        node = node or {}
        super().__init__(*args, **kwargs)
        self.keys: list[str] = []  # the node's settings, each a field named by its key in the definition (`else`, not `else_`)
        self.json_fields: set[str] = set()
        if self.adding:
            self.fields["id"] = forms.RegexField(NODE_ID, max_length=40, label="Id", help_text="Letters, digits, _ and -; other nodes "
                                                 "point at it, so it stays once the node is added.")
        self.nested: dict[str, dict] = {}  # a setting shown part by part -> its parts' fields
        self.required_parts: set[str] = set()
        for name, info in self.model.model_fields.items():
            key = info.alias or name
            if key in FIXED:
                continue
            parts = _parts(info.annotation)
            if parts is not None:
                self._add_parts(key, info, parts, node.get(key, _default(info)))
                continue
            field = self._picker(key, info, (pickers or {})[key], node.get(key)) if key in (pickers or {}) else self._field(key, info)
            field.help_text = field.help_text or info.description or ""
            value = node.get(key, _default(info))
            field.initial = json.dumps(value, ensure_ascii=False) if key in self.json_fields and value is not None else value
            self.fields[key] = field
            self.keys.append(key)
        for key in NEXT_FIELDS:
            if key in self.fields:
                self.fields[key].widget.attrs["list"] = "journey-node-ids"
        self.node_id = node.get("id", "")
        self.node: dict = {}

    def _add_parts(self, key: str, info, parts: dict, value) -> None:
        """`duration` as `duration.days`, `duration.hours`, `duration.minutes`: each part a field
        of its kind, shown with the stored value (or the part's default)."""
        value = value if isinstance(value, dict) else {}
        label = key.replace("_", " ").capitalize()
        self.nested[key] = {}
        for part, part_info in parts.items():
            name = f"{key}.{part}"
            field = self._field(part, part_info)
            field.required = False
            field.label = f"{label}: {part.replace('_', ' ')}"
            field.help_text = part_info.description or ""
            field.initial = value.get(part, _default(part_info))
            self.fields[name] = field
            self.nested[key][part] = part_info
        self.keys.append(key)
        if info.is_required():
            self.required_parts.add(key)

    def _picker(self, key: str, info, choices: list[tuple[int, str]], current) -> forms.Field:
        """An id chosen from what the tenant has (channels, templates, journeys); a stored id that
        is gone stays shown, named as missing, so the form does not change it silently."""
        known = {value for value, _ in choices}
        missing = [(current, f"{current} (not there any more)")] if isinstance(current, int) and current not in known else []
        return forms.TypedChoiceField(choices=[("", "choose"), *missing, *choices], coerce=int, empty_value=None,
                                      required=info.is_required(), label=key.removesuffix("_id").capitalize())

    def _field(self, key: str, info) -> forms.Field:
        annotation = _plain(info.annotation)
        required = info.is_required()
        label = key.replace("_", " ").capitalize()
        if typing.get_origin(annotation) is Literal:
            return forms.ChoiceField(choices=[(v, v) for v in typing.get_args(annotation)], required=required, label=label)
        if annotation is bool:
            return forms.BooleanField(required=False, label=label)
        if annotation is int:
            return forms.IntegerField(required=required, label=label, min_value=-10**9, max_value=10**9)
        if annotation is float:
            return forms.FloatField(required=required, label=label, min_value=-10**9, max_value=10**9)
        if annotation is str:
            return forms.CharField(required=False, max_length=2000, label=label, strip=True)
        if key == "weekdays":
            return forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int, required=False, label=label,
                                                  widget=forms.CheckboxSelectMultiple(attrs={"class": "inline-choices"}))
        self.json_fields.add(key)
        example = EXAMPLES.get(key)
        example = example.get(self.node_type) if key == "ways" else example
        attrs = {"rows": 3, "spellcheck": "false", "class": "code"}
        if example is not None:
            attrs["placeholder"] = json.dumps(example, ensure_ascii=False)
        return forms.CharField(required=required, max_length=20_000, label=f"{label} (JSON)", widget=forms.Textarea(attrs=attrs))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        node = {"id": data["id"] if self.adding else self.node_id, "type": self.node_type}
        for key in self.keys:
            if key in self.nested:
                value = self._joined(key, data)
                if value is None:
                    continue
                node[key] = value
                continue
            value = data.get(key)
            if key in self.json_fields:
                if value in (None, ""):
                    continue  # empty: the schema's default
                try:
                    value = loads_storable(value)  # as the API reads JSON: nothing that cannot be stored
                except JsonRejected as exc:
                    self.add_error(key, rejected(exc))
                    continue
            elif value is None:
                continue
            node[key] = value
        if self.errors:
            return data
        try:
            self.model.model_validate(node)
        except ValidationError as exc:
            for error in exc.errors():
                where = [str(p) for p in error["loc"]]
                if len(where) > 1 and f"{where[0]}.{where[1]}" in self.fields:  # a part of a setting shown part by part
                    where = [f"{where[0]}.{where[1]}", *where[2:]]
                field = where[0] if where and where[0] in self.fields else None
                rest = ".".join(where[1:] if field else where)
                self.add_error(field, f"{rest}: {error['msg']}" if rest else error["msg"])
            return data
        self.node = node
        return data

    def _joined(self, key: str, data: dict) -> dict | None:
        """A setting's parts put back together, a part left at its default left out (a wait of
        `{"hours": 2}`, as one would write it); None for an optional setting left as it comes."""
        value = {}
        for part, info in self.nested[key].items():
            given = data.get(f"{key}.{part}")
            if given is None or given == "" or given == _default(info):
                continue
            value[part] = given
        if not value and key not in self.required_parts:
            return None
        return value
