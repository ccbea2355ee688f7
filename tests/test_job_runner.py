"""The orchestrator job's entry, run the way serverless runs a spark_python_task: the file's source
through exec(compile(...)), with no __file__, from another working directory, with the parameters
the bundle passes; and the Lakebase password as a job and an app get it."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from cdp_site.lakebase.credentials import REFRESH_BEFORE_SECONDS, LakebaseCredentials

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "infrastructure/databricks/jobs/manage_task.py"
SERVERLESS = (
    "import sys; path = sys.argv[1]; sys.argv = [path, *sys.argv[2:]];"
    "exec(compile(open(path).read(), path, 'exec'), {'__name__': '__main__'})"
)


def _bundle_parameters(**variables) -> list[str]:
    job = yaml.safe_load((ROOT / "infrastructure/databricks/workflows/journey_orchestrator.yml").read_text())
    parameters = job["resources"]["jobs"]["journey_orchestrator"]["tasks"][0]["spark_python_task"]["parameters"]
    out = []
    for parameter in parameters:
        for name, value in variables.items():
            parameter = parameter.replace("${" + name + "}", value)
        out.append(parameter)
    return out


def _serverless_run(tmp_path, parameters: list[str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CDP_", "DATABRICKS_"))}
    return subprocess.run([sys.executable, "-c", SERVERLESS, str(RUNNER), *parameters], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.own_database
def test_a_tick_runs_as_serverless_runs_the_file(tmp_path):
    parameters = _bundle_parameters(**{"workspace.file_path": str(ROOT), "workspace.host": "https://ws.example.com",
                                       "var.catalog": "main", "var.schema": "cdp", "var.warehouse_id": "w1"})
    assert parameters[:2] == ["--root", str(ROOT)] and "DATABRICKS_HOST=https://ws.example.com" in parameters
    # Off a workspace: no secret scope, no Lakebase (tested below with the SDK's shapes); the
    # operational database is a SQLite file and the lakehouse a local Spark session.
    local, skip_value = [], False
    for parameter in parameters:
        if skip_value:
            skip_value = False
            continue
        if parameter in ("--secret", "--lakebase"):
            skip_value = True
            continue
        if parameter.startswith("CDP_LAKEHOUSE="):
            parameter = f"CDP_LAKEHOUSE=spark://local[1]?warehouse_dir={tmp_path / 'spark'}"
        local.append(parameter)
    settings = ["--setting", "SECRET_KEY=" + "s" * 50, "--setting", f"CDP_DATA_DIR={tmp_path}"]
    command = local.index("cdp_orchestrate")
    migrated = _serverless_run(tmp_path, [*local[:command], *settings, "migrate", "--noinput"])
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    ticked = _serverless_run(tmp_path, [*local[:command], *settings, *local[command:]])
    assert ticked.returncode == 0, ticked.stderr[-2000:]
    assert "journeys: 0" in ticked.stdout


def test_without_root_and_without_file_the_runner_says_what_to_pass(tmp_path):
    run = _serverless_run(tmp_path, ["cdp_orchestrate"])
    assert run.returncode != 0 and "--root ${workspace.file_path}" in run.stderr


class _Workspace:
    """The SDK calls the runner and the credentials make, shaped as databricks-sdk answers them."""

    def __init__(self):
        self.credentials = 0
        self.dbutils = SimpleNamespace(secrets=SimpleNamespace(get=lambda scope, key: f"secret-of-{scope}/{key}"))
        self.database = SimpleNamespace(
            get_database_instance=lambda name: SimpleNamespace(read_write_dns=f"{name}.database.example.com"),
            generate_database_credential=self._credential)
        self.current_user = SimpleNamespace(me=lambda: SimpleNamespace(user_name="sp-application-id"))
        self.config = SimpleNamespace(oauth_token=lambda: SimpleNamespace(
            access_token="app-token", expiry=datetime.now(UTC) + timedelta(hours=1)))

    def _credential(self, request_id, instance_names):
        self.credentials += 1
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        return SimpleNamespace(token=f"db-token-{self.credentials}-{instance_names[0]}", expiration_time=expires)


def test_secrets_and_lakebase_come_from_the_sdk_calls_that_work_in_a_job(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("manage_task", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Whatever the runner sets is undone after the test (set first, so monkeypatch restores its absence).
    for name in ("SECRET_KEY", "PGHOST", "PGDATABASE", "PGPORT", "PGUSER", "PGSSLMODE", "CDP_LAKEBASE_INSTANCE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    workspace = _Workspace()
    options, command = module._parse(["--secret", "SECRET_KEY=cdp/django-secret-key", "--lakebase", "cdp-lakebase/cdp", "cdp_orchestrate"])
    module._apply(options, client_factory=lambda: workspace)
    assert os.environ["SECRET_KEY"] == "secret-of-cdp/django-secret-key"
    assert (os.environ["PGHOST"], os.environ["PGDATABASE"], os.environ["PGUSER"]) == (
        "cdp-lakebase.database.example.com", "cdp", "sp-application-id")
    assert os.environ["CDP_LAKEBASE_INSTANCE"] == "cdp-lakebase" and command == ["cdp_orchestrate"]


def test_a_jobs_lakebase_password_is_a_database_credential_reused_until_near_expiry():
    workspace, now = _Workspace(), [datetime.now(UTC).timestamp()]
    credentials = LakebaseCredentials(client_factory=lambda: workspace, instance="cdp-lakebase", clock=lambda: now[0])
    assert credentials.mode == "database-credential"
    first = credentials.password()
    assert first == "db-token-1-cdp-lakebase" and credentials.password() == first  # cached
    now[0] += 3600 - REFRESH_BEFORE_SECONDS + 1  # within five minutes of expiry
    assert credentials.password() == "db-token-2-cdp-lakebase"


def test_an_apps_lakebase_password_is_its_oauth_token():
    credentials = LakebaseCredentials(client_factory=_Workspace)
    assert credentials.mode == "app-oauth" and credentials.password() == "app-token"
