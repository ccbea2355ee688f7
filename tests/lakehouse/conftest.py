"""The same lakehouse suite on real engines: SQLite always, PostgreSQL and local Spark in `make test`.

Each engine gets the tables once per run, from `lakehouse.migrate`, and the shared dataset;
tests that write use a tenant id of their own, so no test sees another's rows.
"""
from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from lakehouse.backends.embedded import embedded_engine
from lakehouse.backends.spark import SparkEngine
from lakehouse.migrate import migrate
from tests.lakehouse import dataset
from tests.servers import postgres_create_database, standalone_connection

ENGINES = ["sqlite", "postgresql", "spark"]


@pytest.fixture(scope="session")
def _engines(request, django_db_blocker):
    built = {}

    def make(name):
        if name not in built:
            with django_db_blocker.unblock():
                if name == "sqlite":
                    path = Path(tempfile.mkdtemp(prefix="cdp-lh-")) / "lakehouse.sqlite3"
                    engine = embedded_engine(connection=standalone_connection("django.db.backends.sqlite3", str(path)))
                elif name == "postgresql":
                    server = request.getfixturevalue("postgres_server")
                    postgres_create_database(server, "cdp_lakehouse")
                    engine = embedded_engine(connection=standalone_connection(
                        "django.db.backends.postgresql", "cdp_lakehouse", USER=server.user, HOST=server.host, PORT=str(server.port)))
                else:
                    engine = SparkEngine(request.getfixturevalue("spark_session"), schema="cdp_test")
                migrate(engine)
                dataset.load(engine)
            built[name] = engine
        return built[name]

    yield make
    for engine in built.values():
        connection = getattr(engine, "_connection", None)
        if connection is not None:
            connection.close()


def _marks(name: str):
    return [pytest.mark.spark] if name == "spark" else [pytest.mark.postgres] if name == "postgresql" else []


@pytest.fixture(params=[pytest.param(name, marks=_marks(name)) for name in ENGINES])
def engine(request, _engines, django_db_blocker):
    """Each engine in turn, loaded with the dataset."""
    with django_db_blocker.unblock():
        yield _engines(request.param)


@pytest.fixture
def all_engines(_engines, django_db_blocker):
    """Every engine at once, for comparing their answers."""
    with django_db_blocker.unblock():
        yield {name: _engines(name) for name in ENGINES}


@pytest.fixture
def tenant_id() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def spark_engine(_engines, django_db_blocker):
    """The local Spark engine alone (loaded with the dataset)."""
    with django_db_blocker.unblock():
        yield _engines("spark")
