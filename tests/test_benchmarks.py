"""The benchmarks still run and their correctness gates still hold: each `--small` (a tenth of the
figure's size) in a process of its own, exiting 0 with its `ratio:` line last. The figures
themselves are `make bench`'s, never asserted here (timing is not a test)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.own_database  # each makes its own throwaway database: once, not again on PostgreSQL


@pytest.mark.parametrize("name", ["campaign", "delivery", "orchestrator", "segments"])
def test_a_benchmark_runs_and_its_gate_holds(name):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "DJANGO_"))}
    done = subprocess.run([sys.executable, f"bench/{name}.py", "--small"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("ratio: ") and float(last.removeprefix("ratio: ")) > 0, last
