"""Run a `manage.py` command as a Databricks job task.

Jobs cannot set environment variables on serverless tasks, so settings arrive as parameters:
  --root PATH               the project's folder in the workspace (the bundle passes
                            ${workspace.file_path}); serverless runs this file through
                            exec(compile(...)), where __file__ is not defined
  --setting NAME=VALUE      an environment variable
  --secret NAME=scope/key   an environment variable read from a Databricks secret scope
  --lakebase instance/db    the Lakebase operational database (PGHOST etc. from the instance; the
                            password from the database credential API, see cdp_site/lakebase)
followed by the command and its arguments (e.g. `cdp_orchestrate`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="")
    parser.add_argument("--setting", action="append", default=[])
    parser.add_argument("--secret", action="append", default=[])
    parser.add_argument("--lakebase", default="")
    return parser.parse_known_args(argv)


def _root(options: argparse.Namespace) -> Path:
    """Where manage.py is: --root, else three folders above this file when Python says where it is."""
    if options.root:
        return Path(options.root)
    here = globals().get("__file__")
    if here:
        return Path(here).resolve().parents[3]
    raise SystemExit("manage_task.py: pass --root ${workspace.file_path} (serverless runs this file without __file__).")


def _apply(options: argparse.Namespace, client_factory=None) -> None:
    """Settings, secrets and the Lakebase connection into the environment, before Django starts."""
    for item in options.setting:
        name, _, value = item.partition("=")
        os.environ[name] = value
    client = None

    def workspace():
        nonlocal client
        if client is None:
            factory = client_factory
            if factory is None:
                from databricks.sdk import WorkspaceClient

                factory = WorkspaceClient
            client = factory()
        return client

    for item in options.secret:
        name, _, ref = item.partition("=")
        scope, _, key = ref.partition("/")
        # The SDK documents w.secrets.get_secret as working from dbutils only; w.dbutils.secrets
        # is the supported read in a job (and returns the value as text).
        os.environ[name] = workspace().dbutils.secrets.get(scope=scope, key=key)
    if options.lakebase:
        instance_name, _, database = options.lakebase.partition("/")
        instance = workspace().database.get_database_instance(name=instance_name)
        os.environ.update({
            "PGHOST": instance.read_write_dns, "PGDATABASE": database, "PGPORT": "5432",
            "PGUSER": workspace().current_user.me().user_name, "PGSSLMODE": "require",
            # The job's password comes from the database credential API, not an OAuth token.
            "CDP_LAKEBASE_INSTANCE": instance_name,
        })


def _activate_spark(session_factory=None) -> None:
    """For CDP_LAKEHOUSE=spark://active: a spark_python_task's script starts with no active session
    (notebooks have `spark`; a script must ask the cluster for it), and the engine takes only the
    active one, never starting a session of its own."""
    if not os.environ.get("CDP_LAKEHOUSE", "").startswith("spark://active"):
        return
    if session_factory is None:
        from pyspark.sql import SparkSession

        session_factory = SparkSession.builder.getOrCreate
    session_factory()


def main(argv: list[str], client_factory=None, session_factory=None) -> None:
    options, command = _parse(argv)
    root = _root(options)
    _apply(options, client_factory)
    _activate_spark(session_factory)
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.production")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *command])


if __name__ == "__main__":
    main(sys.argv[1:])
