"""The Databricks bundle (the app's command and environment, the jobs), the original design's file
names, and the Dockerfile agree; the bundle validates as the CLI would check it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT.parent / "shared" / "databricks" / "bundle-schema.json"


def _load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def _merged_bundle() -> dict:
    """databricks.yml with its includes merged, as the Databricks CLI reads it."""
    bundle = _load("databricks.yml")
    for include in bundle.get("include", []):
        part = _load(include)
        for kind, resources in part.get("resources", {}).items():
            bundle.setdefault("resources", {}).setdefault(kind, {}).update(resources)
    return bundle


def _schema() -> dict:
    """The CLI's schema, its Go regex classes (\\p{L}, \\p{N}) spelled the way Python's re reads them."""
    text = SCHEMA_PATH.read_text()
    text = text.replace("[\\\\p{L}\\\\p{N}]", "[^\\\\W_]").replace("\\\\p{L}", "[^\\\\W\\\\d_]").replace("\\\\p{N}", "\\\\d")
    return json.loads(text)


def _validate(document: dict) -> None:
    jsonschema.Draft202012Validator(_schema()).validate(document)


@pytest.fixture(scope="module")
def bundle() -> dict:
    return _merged_bundle()


def test_bundle_validates_against_the_cli_schema(bundle):
    _validate(bundle)
    for include in bundle["include"]:
        _validate(_load(include))


def test_bundle_validation_can_fail():
    broken = _merged_bundle()
    broken["resources"]["apps"]["cdp_platform"]["compute_size"] = "HUGE"
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)
    misspelt = _merged_bundle()
    misspelt["resources"]["jobs"]["journey_orchestrator"]["schedule"]["cron"] = "*/5 * * * *"
    with pytest.raises(jsonschema.ValidationError):
        _validate(misspelt)


def test_the_original_design_file_names_are_the_bundle(bundle):
    assert set(bundle["include"]) >= {
        "infrastructure/databricks/apps/cdp-platform-app.yml",
        "infrastructure/databricks/workflows/journey_orchestrator.yml",
    }
    assert set(bundle["targets"]) == {"dev", "prod"}


def test_app_declares_warehouse_secret_and_lakebase(bundle):
    app = bundle["resources"]["apps"]["cdp_platform"]
    kinds = {resource["name"]: next(k for k in resource if k not in ("name", "description")) for resource in app["resources"]}
    assert kinds == {"sql-warehouse": "sql_warehouse", "django-secret-key": "secret", "lakebase": "database"}
    assert app["compute_size"] in ("MEDIUM", "LARGE", "XLARGE")
    assert (ROOT / "infrastructure/databricks/apps" / app["source_code_path"]).resolve() == ROOT
    # Its command and environment are the bundle's (config); an app.yaml beside it would conflict.
    assert not (ROOT / "app.yaml").exists() and not (ROOT / "app.yml").exists()


def test_orchestrator_job_runs_every_5_minutes_by_quartz_cron_with_a_time_zone(bundle):
    job = bundle["resources"]["jobs"]["journey_orchestrator"]
    assert job["schedule"]["quartz_cron_expression"] == "0 0/5 * * * ?"
    assert job["schedule"]["timezone_id"]
    assert job["max_concurrent_runs"] == 1
    task = job["tasks"][0]["spark_python_task"]
    assert (ROOT / "infrastructure/databricks/workflows" / task["python_file"]).resolve().is_file()
    assert task["parameters"][-1] == "cdp_orchestrate"


def _app_env(bundle) -> dict:
    return {item["name"]: item for item in bundle["resources"]["apps"]["cdp_platform"]["config"]["env"]}


def test_the_app_serves_gunicorn_on_the_app_port_with_resources_bound_by_name(bundle):
    config = bundle["resources"]["apps"]["cdp_platform"]["config"]
    command = " ".join(config["command"])
    assert re.search(r"gunicorn -c cdp_site/gunicorn\.conf\.py cdp_site\.wsgi:application\s+--bind 0\.0\.0\.0:\$\{DATABRICKS_APP_PORT\}", command)
    assert "lakehouse migrate" not in command, "without its grants the app could never start; the setup job migrates"
    env = _app_env(bundle)
    assert env["DJANGO_SETTINGS_MODULE"]["value"] == "cdp_site.settings.production"
    declared = {resource["name"] for resource in bundle["resources"]["apps"]["cdp_platform"]["resources"]}
    bound = {item["value_from"] for item in env.values() if "value_from" in item}
    assert bound and bound <= declared
    assert not any("valueFrom" in item for item in env.values())  # app.yaml's spelling; the bundle says value_from
    assert "SECRET_KEY" in env and "value" not in env["SECRET_KEY"]  # never a literal secret


def _job_settings(bundle, job: str) -> dict:
    parameters = bundle["resources"]["jobs"][job]["tasks"][0]["spark_python_task"]["parameters"]
    settings = dict(p.partition("=")[::2] for i, p in enumerate(parameters) if i and parameters[i - 1] == "--setting")
    settings |= {p.partition("=")[0]: "secret" for i, p in enumerate(parameters) if i and parameters[i - 1] == "--secret"}
    if "--lakebase" in parameters:
        settings |= dict.fromkeys(("PGHOST", "PGDATABASE", "PGUSER", "CDP_LAKEBASE_INSTANCE"), "lakebase")
    return settings


# What Databricks sets by itself: for an app (ARCHITECTURE's checked list, plus the Lakebase
# resource's PG* variables), for a job nothing but its parameters.
APP_PLATFORM = {"DATABRICKS_APP_PORT", "DATABRICKS_HOST", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
                "DATABRICKS_APP_NAME", "DATABRICKS_WORKSPACE_ID", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE"}
# What the code needs on Databricks: production settings, the warehouse, the workspace, Lakebase.
NEEDED = {"SECRET_KEY", "CDP_LAKEHOUSE", "DATABRICKS_WAREHOUSE_ID", "DATABRICKS_HOST"}


def test_app_and_jobs_read_the_same_catalog_and_schema_and_get_every_variable_they_need(bundle):
    from urllib.parse import parse_qs, urlsplit

    app_env = _app_env(bundle)
    lakehouse = {app_env["CDP_LAKEHOUSE"]["value"]}
    assert set(app_env) | APP_PLATFORM >= NEEDED | {"ALLOWED_HOSTS", "PGHOST", "DATABRICKS_APP_NAME"}
    for job in bundle["resources"]["jobs"]:
        settings = _job_settings(bundle, job)
        lakehouse.add(settings["CDP_LAKEHOUSE"])
        # A job on its own Spark (spark://active) needs no warehouse.
        needed = NEEDED - {"DATABRICKS_WAREHOUSE_ID"} if settings["CDP_LAKEHOUSE"].startswith("spark://") else NEEDED
        assert set(settings) >= needed, job
    # Whatever the engine, the same tables: one catalog and one schema, the bundle's variables.
    assert {urlsplit(url).scheme for url in lakehouse} == {"databricks", "spark"}
    places = {(parse_qs(urlsplit(url).query)["catalog"][0], parse_qs(urlsplit(url).query)["schema"][0]) for url in lakehouse}
    assert places == {("${var.catalog}", "${var.schema}")}
    assert {url for url in lakehouse if url.startswith("spark://")} <= {"spark://active?catalog=${var.catalog}&schema=${var.schema}"}
    assert "PGHOST" in _job_settings(bundle, "journey_orchestrator")  # the tick needs the operational database
    assert "PGHOST" in _job_settings(bundle, "identity_rebuild")  # a run's lease and record are operational rows


def test_the_identity_rebuild_job_runs_cdp_resolve_for_the_tenant_it_is_given(bundle):
    job = bundle["resources"]["jobs"]["identity_rebuild"]
    assert "schedule" not in job and job["max_concurrent_runs"] == 1  # on demand only
    assert [p["name"] for p in job["parameters"]] == ["tenant"]
    parameters = job["tasks"][0]["spark_python_task"]["parameters"]
    assert parameters[-3:] == ["cdp_resolve", "--full", "--tenant={{job.parameters.tenant}}"]


def test_job_runner_accepts_settings_secrets_and_a_command():
    import importlib.util

    spec = importlib.util.spec_from_file_location("manage_task", ROOT / "infrastructure/databricks/jobs/manage_task.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    options, command = module._parse(["--setting", "A=1", "--secret", "S=scope/key", "--lakebase", "inst/db", "cdp_orchestrate", "--verbosity", "2"])
    assert (options.setting, options.secret, options.lakebase) == (["A=1"], ["S=scope/key"], "inst/db")
    assert command == ["cdp_orchestrate", "--verbosity", "2"]


def test_dockerfile_runs_gunicorn_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert "gunicorn -c cdp_site/gunicorn.conf.py cdp_site.wsgi:application" in text
    assert "npm ci" in text  # JavaScript from the npm registry, not a CDN


def _deprecated_keys(document, node, schema, path="") -> list[str]:
    """Every key of `document` whose schema says `deprecated` (what `bundle validate` warns about)."""
    while "$ref" in node:
        target = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    if "oneOf" in node:
        node = next((option for option in node["oneOf"] if option.get("type") in ("object", "array")), node["oneOf"][0])
    found = []
    if isinstance(document, dict):
        properties = node.get("properties", {})
        for key, value in document.items():
            child = properties.get(key) or (node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else None)
            if child is None:
                continue
            if child.get("deprecated"):
                found.append(f"{path}/{key}")
            found += _deprecated_keys(value, child, schema, f"{path}/{key}")
    elif isinstance(document, list) and isinstance(node.get("items"), dict):
        for i, value in enumerate(document):
            found += _deprecated_keys(value, node["items"], schema, f"{path}[{i}]")
    return found


def test_the_bundle_uses_no_deprecated_key(bundle):
    schema = _schema()
    assert _deprecated_keys(bundle, schema, schema) == []
    stale = _merged_bundle()
    stale["resources"]["jobs"]["journey_orchestrator"]["environments"][0]["spec"] = {"client": "2"}
    assert _deprecated_keys(stale, schema, schema) == ["/resources/jobs/journey_orchestrator/environments[0]/spec/client"]


def test_the_job_passes_the_workspace_host_and_its_own_folder(bundle):
    task = bundle["resources"]["jobs"]["journey_orchestrator"]["tasks"][0]["spark_python_task"]
    parameters = task["parameters"]
    assert parameters[parameters.index("--root") + 1] == "${workspace.file_path}"
    assert "DATABRICKS_HOST=${workspace.host}" in parameters
    dependencies = bundle["resources"]["jobs"]["journey_orchestrator"]["environments"][0]["spec"]["dependencies"]
    assert dependencies == ["-r ${workspace.file_path}/requirements.txt"]  # the CLI rewrites a /Workspace prefix, with a warning


def test_job_runner_asks_the_cluster_for_its_session_only_for_spark_active(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("manage_task", ROOT / "infrastructure/databricks/jobs/manage_task.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    asked = []
    for url, expected in [("spark://active?catalog=main&schema=cdp", 1), ("databricks://?catalog=main&schema=cdp", 0),
                          ("default", 0)]:
        monkeypatch.setenv("CDP_LAKEHOUSE", url)
        asked.clear()
        module._activate_spark(lambda url=url: asked.append(url))
        assert len(asked) == expected, url
