"""Real servers the tests start themselves and stop: PostgreSQL, local Spark.

Each is started once per test run, on demand, on a free port, and torn down at the end.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"


def _pg_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed; `make test` installs it (scripts/ensure-test-services.sh).")
    return Path(candidates[-1])


def _as_postgres_user(args: list[str]) -> list[str]:
    # The server refuses to run as root; as root we run it as the `postgres` system user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_server():
    pg_bin, port = _pg_bin(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="cdp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    data, log = workdir / "data", workdir / "log"
    run = lambda args: subprocess.run(_as_postgres_user(args), check=True, capture_output=True)  # noqa: E731
    run([str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "cdp"])
    run([str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start", "-o",
         f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"])
    server = PostgresServer(host="127.0.0.1", port=port, user="cdp")
    try:
        yield server
    finally:
        subprocess.run(_as_postgres_user([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def postgres_create_database(server: PostgresServer, name: str) -> str:
    import psycopg

    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session for the whole run, a session a worker under `-n 2` (start-up costs about 4 s),
    one core each: two workers share two cores, and more threads than cores only contend."""
    from lakehouse.backends.spark import local_session

    warehouse = tempfile.mkdtemp(prefix="cdp-spark-")
    session = local_session("local[1]", warehouse)
    # The suite runs hundreds of small, distinct statements: compiling each one's generated Java
    # (whole-stage code generation) and re-planning it adaptively cost more than running it.
    # Results are the same either way; this takes about a fifth off the Spark tests.
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    session.conf.set("spark.sql.adaptive.enabled", "false")
    session.conf.set("spark.sql.shuffle.partitions", "1")
    try:
        yield session
    finally:
        from pyspark import SparkContext

        session.stop()
        # Close the Py4J gateway too: its thread would otherwise die noisily at interpreter exit.
        gateway = SparkContext._gateway
        if gateway is not None:
            gateway.shutdown()
            SparkContext._gateway = SparkContext._jvm = None
        shutil.rmtree(warehouse, ignore_errors=True)


def standalone_connection(engine: str, name: str, **settings):
    """A Django database connection outside `connections`, for a second real server."""
    from django.db.utils import load_backend

    settings_dict = {
        "ENGINE": engine, "NAME": name, "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "OPTIONS": {},
        "TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False, "TEST": {}, **settings,
    }
    return load_backend(engine).DatabaseWrapper(settings_dict, alias=f"standalone-{name}")


class SmtpInbox:
    """What a loopback SMTP server received: each message as parsed email."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback (aiosmtpd in a thread), with the site's mail settings pointing
    at it; `.inbox.messages` holds what arrived. Stopped after the test."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", controller.port, False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    controller.inbox = inbox
    try:
        yield controller
    finally:
        controller.stop()
