"""The engine this process uses, built once from CDP_LAKEHOUSE, and the readiness check."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from django.conf import settings

from lakehouse.backends.base import Engine
from lakehouse.config import EngineConfig, parse_lakehouse_url
from lakehouse.errors import ConfigurationError, LakehouseError

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def build_engine(config: EngineConfig) -> Engine:
    if config.kind == "default":
        from lakehouse.backends.embedded import embedded_engine

        return embedded_engine(alias=config.alias)
    if config.kind == "spark":
        from lakehouse.backends.spark import SparkEngine, local_session, lock_warehouse

        if config.master == "active":
            from pyspark.sql import SparkSession

            # The cluster's own session (Unity Catalog, Delta); never a local one started by accident.
            session = SparkSession.getActiveSession()
            if session is None:
                raise ConfigurationError(
                    "CDP_LAKEHOUSE=spark://active needs the running Spark session of a Databricks cluster or job; "
                    "there is none in this process. Use databricks://... for a SQL warehouse, or spark://local[2] here.")
        else:
            warehouse = config.warehouse_dir or str(Path(settings.DATA_DIR) / "spark-warehouse")
            lock_warehouse(warehouse)
            session = local_session(config.master, warehouse)
        return SparkEngine(session, catalog=config.catalog, schema=config.schema, table_format=config.table_format)
    from lakehouse.backends.databricks import DatabricksEngine

    return DatabricksEngine(config)


def get_engine() -> Engine:
    """The configured engine (one per process, per CDP_LAKEHOUSE value)."""
    url = settings.CDP_LAKEHOUSE
    engine = _engines.get(url)
    if engine is None:
        with _lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = build_engine(parse_lakehouse_url(url))
    return engine


_tables_seen: dict[str, float] = {}  # engine URL -> when every table was last seen (monotonic)
TABLES_RECHECK_SECONDS = 60


def engine_readiness_problem(*, clock=time.monotonic) -> str | None:
    """None when the engine answers and has every table; otherwise one message naming CDP_LAKEHOUSE
    and what to do. The tables are looked for at most once a minute once all were there."""
    url = settings.CDP_LAKEHOUSE
    try:
        engine = get_engine()
        engine.ping()
        seen = _tables_seen.get(url)
        if seen is None or clock() - seen > TABLES_RECHECK_SECONDS:
            from lakehouse.schema import TABLES

            missing = [table.name for table in TABLES if engine.existing_columns(table.name) is None]
            if missing:
                _tables_seen.pop(url, None)
                return (f"lakehouse (CDP_LAKEHOUSE={url}): tables missing ({', '.join(missing)}); "
                        "run manage.py lakehouse migrate (on Databricks: the lakehouse_setup job).")
            _tables_seen[url] = clock()
    except LakehouseError as exc:
        return f"lakehouse (CDP_LAKEHOUSE={url}): {exc}"
    except Exception as exc:  # an engine that cannot even start (missing package, no Java)
        return f"lakehouse (CDP_LAKEHOUSE={url}) could not start: {type(exc).__name__}: {exc}."
    return None
