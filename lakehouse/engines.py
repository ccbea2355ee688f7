"""The engine this process uses, built once from CDP_LAKEHOUSE, and the readiness check."""
from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from lakehouse.backends.base import Engine
from lakehouse.config import EngineConfig, parse_lakehouse_url
from lakehouse.errors import LakehouseError

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def build_engine(config: EngineConfig) -> Engine:
    if config.kind == "default":
        from lakehouse.backends.embedded import embedded_engine

        return embedded_engine(alias=config.alias)
    if config.kind == "spark":
        from lakehouse.backends.spark import SparkEngine, local_session

        if config.master == "active":
            from pyspark.sql import SparkSession

            session = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        else:
            warehouse = config.warehouse_dir or str(Path(settings.DATA_DIR) / "spark-warehouse")
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


def engine_readiness_problem() -> str | None:
    """None when the engine answers; otherwise one message that names CDP_LAKEHOUSE."""
    try:
        engine = get_engine()
        engine.ping()
    except LakehouseError as exc:
        return f"lakehouse (CDP_LAKEHOUSE={settings.CDP_LAKEHOUSE}): {exc}"
    except Exception as exc:  # an engine that cannot even start (missing package, no Java)
        return f"lakehouse (CDP_LAKEHOUSE={settings.CDP_LAKEHOUSE}) could not start: {type(exc).__name__}: {exc}."
    return None
