"""The real gunicorn command lines (the Databricks app's and the Dockerfile's) never write a credential or a
query string to the process's output, whatever the client sends."""
from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.servers import free_port

pytestmark = pytest.mark.own_database  # processes on a database of their own: once, not again on PostgreSQL

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _gunicorn_line(command: str) -> list[str]:
    """`exec gunicorn ...` out of a deployment's shell command, as argv."""
    return shlex.split(re.search(r"exec (gunicorn [^&\"]+)", command).group(1).strip())


def _app_line(port: int) -> list[str]:
    app = yaml.safe_load((ROOT / "infrastructure/databricks/apps/cdp-platform-app.yml").read_text())
    command = app["resources"]["apps"]["cdp_platform"]["config"]["command"][-1]
    return [arg.replace("${DATABRICKS_APP_PORT}", str(port)) for arg in _gunicorn_line(command)]


def _dockerfile_line(port: int) -> list[str]:
    command = re.search(r"^CMD \[.*\]$", (ROOT / "Dockerfile").read_text(), re.M).group(0)
    return [arg.replace("${PORT}", str(port)) for arg in _gunicorn_line(command)]


@pytest.fixture(scope="module")
def production_env(tmp_path_factory):
    data = tmp_path_factory.mktemp("gunicorn-data")
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "cdp_site.settings.production", "SECRET_KEY": "s" * 50,
        "ALLOWED_HOSTS": "127.0.0.1", "CDP_DATA_DIR": str(data), "CDP_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1",
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    }
    env.pop("CDP_LAKEHOUSE", None)
    manage = lambda *args: subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,  # noqa: E731
                                          check=True, capture_output=True, text=True).stdout
    manage("migrate", "--noinput")
    manage("cdp_tenant", "create", "acme")
    write_key = manage("cdp_writekey", "create", "--tenant", "acme").strip().splitlines()[-1]
    api_key = manage("cdp_apikey", "create", "--tenant", "acme", "--role", "viewer").strip().splitlines()[-1]
    return env, write_key, api_key


def _serve_and_call(argv: list[str], port: int, env: dict, calls) -> tuple[list[int], str]:
    log = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # until it answers /health (or gives up); nothing here measures time
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30)
                break
            except (urllib.error.URLError, OSError):  # refused until it listens; slow while its worker loads Django on a busy machine
                assert log.poll() is None, log.stdout.read()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        statuses = [_status(port, *call) for call in calls]
    finally:
        log.terminate()
        output, _ = log.communicate(timeout=30)
    return statuses, output


def _status(port: int, method: str, path: str, headers: dict, body: bytes | None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                     headers={"X-Forwarded-Proto": "https", **headers})
    try:
        return urllib.request.urlopen(request, timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("command_line", [_app_line, _dockerfile_line], ids=["databricks-app", "Dockerfile"])
def test_gunicorn_logs_hold_no_write_key_api_key_or_query_string(production_env, command_line):
    env, write_key, api_key = production_env
    port = free_port()
    basic = base64.b64encode(f"{write_key}:".encode()).decode()
    track = b'{"userId": "u1", "event": "Signed Up", "messageId": "m-1"}'
    calls = [
        ("POST", "/api/v1/track", {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}, track),
        ("POST", f"/api/beacon/v1/batch?writeKey={write_key}", {"Content-Type": "text/plain"},
         b'{"batch": [{"type": "track", "userId": "u2", "event": "E", "messageId": "m-2"}]}'),
        ("GET", "/api/customers?token=query-secret-123", {"Authorization": f"Bearer {api_key}",
                                                          "Referer": "https://shop.test/?session=referer-secret-456"}, None),
    ]
    statuses, output = _serve_and_call(command_line(port), port, env, calls)
    assert statuses[:2] == [200, 200]  # the write key was accepted: these are the calls that carry it
    assert statuses[2] != 401
    # The app's own request lines are there (so the process does log requests)...
    assert '"cdp_path": "/api/v1/track"' in output or "/api/v1/track" in output
    # ...and none of what the client sent as a credential or in a query string.
    for secret in (write_key, write_key[len("cdp_wk_"):], basic, api_key, "query-secret-123", "referer-secret-456", "writeKey="):
        assert secret not in output, secret
