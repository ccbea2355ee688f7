"""The SIGKILL drill that journeys' ticks and campaigns' sends are put through.

Run as `python -m tests.kill_drill DATA CLOCKS TRIALS SEED module:tick QUERIES` on a SQLite
database prepared in DATA (CDP_DATA_DIR): for each clock the tick runs uninterrupted once,
counting its writes; then in each trial a forked child runs it and kills itself with SIGKILL at
its N-th write (INSERT, UPDATE, DELETE, a savepoint: where a crash can leave something half
done; N random, before or after the statement runs; some trials twice), the tick runs again to
the end, and the state (the rows QUERIES read) must equal the uninterrupted run's. Prints one
JSON line: writes per clock, how many runs were killed, the trials that went wrong, the final
state.

One process drives every trial: it restores the database a clock starts from and forks, which
skips Django's start-up for each of the ~50 runs.
"""
from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
from datetime import datetime

WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE")


def main(data: str, clocks: list[datetime], trials: int, seed: int, tick_path: str, queries: list[str]) -> dict:
    import django

    django.setup()
    from django.db import connections
    from django.db.backends import utils

    module, _, name = tick_path.partition(":")
    run_tick = getattr(importlib.import_module(module), name)
    database = os.path.join(data, "cdp.sqlite3")
    writes, plan = [0], {"target": 0, "stage": ""}

    def counting(original):
        def run(self, sql, *args, **kwargs):
            if not sql.lstrip().upper().startswith(WRITES):
                return original(self, sql, *args, **kwargs)
            writes[0] += 1
            if writes[0] == plan["target"] and plan["stage"] == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            result = original(self, sql, *args, **kwargs)
            if writes[0] == plan["target"] and plan["stage"] == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        return run

    utils.CursorWrapper.execute = counting(utils.CursorWrapper.execute)
    utils.CursorWrapper.executemany = counting(utils.CursorWrapper.executemany)

    def snapshot(name: str) -> None:
        connections.close_all()
        shutil.copy(database, os.path.join(data, name))

    def restore(name: str) -> None:
        connections.close_all()
        for suffix in ("-wal", "-shm"):
            if os.path.exists(database + suffix):
                os.remove(database + suffix)
        shutil.copy(os.path.join(data, name), database)

    def state() -> list:
        connections.close_all()
        db = sqlite3.connect(database)
        try:
            return json.loads(json.dumps([db.execute(q).fetchall() for q in queries], default=str))
        finally:
            db.close()  # before a restore replaces the file under it

    def tick(at: datetime, target: int = 0, stage: str = "") -> bool:
        connections.close_all()
        pid = os.fork()
        if pid == 0:
            writes[0], plan["target"], plan["stage"] = 0, target, stage
            run_tick(now=at)
            connections.close_all()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    expected, counts = [], []
    for i, at in enumerate(clocks):  # the uninterrupted run, counting each tick's writes
        snapshot(f"start{i}")
        connections.close_all()
        writes[0] = 0
        run_tick(now=at)
        counts.append(writes[0])
        expected.append(state())
    rng, killed, wrong = random.Random(seed), 0, []
    for trial in range(trials):
        i = trial % len(clocks)
        restore(f"start{i}")
        points = [(rng.randint(1, counts[i]), rng.choice(["before", "after"])) for _ in range(1 + (trial % 4 == 3))]  # some twice
        for target, stage in points:
            killed += tick(clocks[i], target, stage)
        assert not tick(clocks[i])  # the run after the kills goes to the end
        if state() != expected[i]:
            wrong.append([trial, points])
    return {"writes": counts, "killed": killed, "wrong": wrong, "final": expected[-1]}


if __name__ == "__main__":
    result = main(sys.argv[1], [datetime.fromisoformat(c) for c in json.loads(sys.argv[2])], int(sys.argv[3]), int(sys.argv[4]),
                  sys.argv[5], json.loads(sys.argv[6]))
    print(json.dumps(result))
