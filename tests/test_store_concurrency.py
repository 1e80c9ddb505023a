"""Several evals opening the same new store at the same moment must all get it (no 'database is locked')."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

OPEN_AT = """
import sys, time
from avgenbench.store import Store
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
with Store(sys.argv[1]) as store:
    store.ensure_run(sys.argv[3], "lite", "v", "s", "0", {})
print("opened")
"""


def test_many_processes_create_one_new_store_at_once(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC}
    for round_ in range(3):
        out = tmp_path / f"out{round_}"
        start = time.time() + 1.5  # every process imports first, then they open the store together
        procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(out), str(start), f"run{i}"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(6)]
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0 and "opened" in stdout, stderr[-800:]
        from avgenbench.store import Store

        with Store.open_existing(out) as store:
            assert len(store.runs()) == 6


def test_an_immediate_database_is_locked_while_setting_up_is_retried(tmp_path, monkeypatch):
    """SQLite answers 'database is locked' at once, without its busy wait, when two connections switch a new file to
    WAL together (it refuses rather than deadlock). Opening the store waits and tries again."""
    import sqlite3

    from avgenbench.store import Store

    refusals = []

    class Refusing(sqlite3.Connection):
        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode") and len(refusals) < 2:
                refusals.append(sql)
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real_connect(*a, factory=Refusing, **k))
    with Store(tmp_path / "out") as store:
        store.ensure_run("r", "lite", "v", "s", "0", {})
        assert [r["run"] for r in store.runs()] == ["r"]
    assert len(refusals) == 2
