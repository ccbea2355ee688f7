"""Run a `manage.py` command as a Databricks job task.

Jobs cannot set environment variables on serverless tasks, so settings arrive as parameters:
  --setting NAME=VALUE      an environment variable
  --secret NAME=scope/key   an environment variable read from a Databricks secret scope
  --lakebase instance/db    the Lakebase operational database (PGHOST etc. from the instance)
followed by the command and its arguments (e.g. `cdp_orchestrate`).
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setting", action="append", default=[])
    parser.add_argument("--secret", action="append", default=[])
    parser.add_argument("--lakebase", default="")
    return parser.parse_known_args(argv)


def _apply(options: argparse.Namespace) -> None:
    from databricks.sdk import WorkspaceClient

    client = None
    for item in options.setting:
        name, _, value = item.partition("=")
        os.environ[name] = value
    for item in options.secret:
        client = client or WorkspaceClient()
        name, _, ref = item.partition("=")
        scope, _, key = ref.partition("/")
        os.environ[name] = base64.b64decode(client.secrets.get_secret(scope=scope, key=key).value).decode()
    if options.lakebase:
        client = client or WorkspaceClient()
        instance_name, _, database = options.lakebase.partition("/")
        instance = client.database.get_database_instance(name=instance_name)
        os.environ.update({
            "PGHOST": instance.read_write_dns, "PGDATABASE": database, "PGPORT": "5432",
            "PGUSER": client.current_user.me().user_name, "PGSSLMODE": "require",
        })


def main(argv: list[str]) -> None:
    options, command = _parse(argv)
    _apply(options)
    root = Path(__file__).resolve().parents[3]
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.production")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *command])


if __name__ == "__main__":
    main(sys.argv[1:])
