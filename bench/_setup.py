"""Shared set-up for benchmarks: Django on a throwaway data directory, and timing."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> Path:
    """Configure Django on a fresh temporary data directory (SQLite in WAL mode) and migrate."""
    data_dir = Path(tempfile.mkdtemp(prefix="cdp-bench-"))
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)  # a million-event database each run: not left behind
    os.environ["CDP_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.local")
    os.environ["DEBUG"] = "false"
    os.environ["CDP_LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def report(figures: dict[str, float | str], ratio: float) -> None:
    for name, value in figures.items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
    print(f"ratio: {ratio:.3f}")
