"""Every option and argument of the product's own manage.py commands says what it is for."""
from __future__ import annotations

import argparse

from django.core.management import get_commands, load_command_class

DJANGO_OWN = {"version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks", "help"}
OURS = ("cdp_site", "tenancy", "customers", "identity", "tracking", "lakehouse", "journeys", "operations", "campaigns", "segments")


def _undocumented(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _undocumented(sub, f"{prefix} {name}")
        elif action.dest not in DJANGO_OWN and not action.help:
            missing.append(f"{prefix} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_command_has_help_text():
    commands = {name: app for name, app in get_commands().items() if app in OURS}
    assert {"cdp_user", "cdp_import", "lakehouse"} <= set(commands)
    missing = [item for name, app in sorted(commands.items())
               for item in _undocumented(load_command_class(app, name).create_parser("manage.py", name), name)]
    assert missing == []


def test_help_speaks_english():
    parser = load_command_class("tenancy", "cdp_apikey").create_parser("manage.py", "cdp_apikey")
    assert "Create an API key" in parser.format_help()
