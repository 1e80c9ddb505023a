"""SQLite file shared by every process of a run: judge answers (the cache), a ledger of calls (cost, tokens,
cache hits per session), and send times (requests-per-minute limit across processes).

Default location: judge.sqlite under the cache root (cachedir.py: $AVGENBENCH_CACHE_DIR, else
$XDG_CACHE_HOME/avgenbench, else ~/.cache/avgenbench). Stores answers and
counts only; never requests' keys or endpoints' credentials.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..cachedir import cache_root

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, backend TEXT, model TEXT, template TEXT, data TEXT, raw_text TEXT,
    input_tokens INTEGER, output_tokens INTEGER, created REAL
);
CREATE TABLE IF NOT EXISTS calls (
    session TEXT, ts REAL, backend TEXT, model TEXT, template TEXT, status TEXT, cached INTEGER, network_calls INTEGER,
    input_tokens INTEGER, output_tokens INTEGER, cost REAL, message TEXT
);
CREATE INDEX IF NOT EXISTS calls_session ON calls(session);
CREATE TABLE IF NOT EXISTS sends (backend TEXT, model TEXT, ts REAL);
"""


def default_cache_path() -> Path:
    return cache_root() / "judge.sqlite"


class JudgeCache:
    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False, isolation_level=None)
        self._initialise()
        self._lock = threading.RLock()  # one connection shared by a client's threads

    def _initialise(self, attempts: int = 50) -> None:
        # Worker processes open the cache at the same moment; switching to WAL can fail with "locked" without
        # waiting for the busy timeout, so retry briefly.
        for attempt in range(attempts):
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.executescript(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 + 0.05 * random.random())

    @property
    def _db(self) -> "_Locked":
        return _Locked(self._conn, self._lock)

    def close(self) -> None:
        self._conn.close()

    # answers
    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data, raw_text, input_tokens, output_tokens FROM responses WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        return {"data": json.loads(row[0]), "raw_text": row[1], "input_tokens": row[2], "output_tokens": row[3]}

    def put(self, key: str, backend: str, model: str, template: str, data: Any, raw_text: str,
            input_tokens: int, output_tokens: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?)",
                         (key, backend, model, template, json.dumps(data), raw_text, input_tokens, output_tokens, time.time()))

    # ledger
    def record(self, session: str, backend: str, model: str, template: str, status: str, cached: bool,
               network_calls: int, input_tokens: int, output_tokens: int, cost: float, message: str = "") -> None:
        self._db.execute("INSERT INTO calls VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (session, time.time(), backend, model, template, status, int(cached), network_calls,
                          input_tokens, output_tokens, cost, message[:500]))

    def session_cost(self, session: str) -> float:
        return float(self._db.execute("SELECT COALESCE(SUM(cost), 0) FROM calls WHERE session=?", (session,)).fetchone()[0])

    def session_summary(self, session: str) -> dict[str, Any]:
        rows = self._db.execute(
            "SELECT status, cached, network_calls, input_tokens, output_tokens, cost FROM calls WHERE session=?",
            (session,)).fetchall()
        return {
            "requests": len(rows),
            "api_calls": sum(r[2] for r in rows),
            "cache_hits": sum(1 for r in rows if r[1]),
            "failed": sum(1 for r in rows if r[0] == "error"),
            "skipped_for_budget": sum(1 for r in rows if r[0] == "budget"),
            "input_tokens": sum(r[3] for r in rows),
            "output_tokens": sum(r[4] for r in rows),
            "cost_usd": round(sum(r[5] for r in rows), 6),
        }

    # rate limit
    def note_send(self, backend: str, model: str) -> None:
        now = time.time()
        self._db.execute("INSERT INTO sends VALUES (?,?,?)", (backend, model, now))
        self._db.execute("DELETE FROM sends WHERE ts < ?", (now - 120,))

    def sends_since(self, backend: str, model: str, since: float) -> tuple[int, float | None]:
        count, oldest = self._db.execute(
            "SELECT COUNT(*), MIN(ts) FROM sends WHERE backend=? AND model=? AND ts>=?", (backend, model, since)).fetchone()
        return int(count), oldest

    # maintenance
    def stats(self) -> dict[str, Any]:
        n, size_in, size_out = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0) FROM responses").fetchone()
        by_model = self._db.execute(
            "SELECT backend || ':' || model, template, COUNT(*) FROM responses GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        calls = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(cached),0), COALESCE(SUM(network_calls),0), COALESCE(SUM(cost),0) FROM calls").fetchone()
        return {
            "path": str(self.path), "answers": n, "answer_input_tokens": size_in, "answer_output_tokens": size_out,
            "by_judge_and_template": [{"judge": j, "template": t, "answers": c} for j, t, c in by_model],
            "ledger": {"requests": calls[0], "cache_hits": calls[1], "api_calls": calls[2], "cost_usd": round(calls[3], 6)},
            "bytes": self.path.stat().st_size if self.path.exists() else 0,
        }

    def clear(self, judge: str | None = None) -> int:
        if judge:
            backend, _, model = judge.partition(":")
            removed = self._db.execute("DELETE FROM responses WHERE backend=? AND model=?", (backend, model)).rowcount
        else:
            removed = self._db.execute("DELETE FROM responses").rowcount
            self._db.execute("DELETE FROM calls")
            self._db.execute("DELETE FROM sends")
        self._db.execute("VACUUM")
        return removed


class _Locked:
    """Serialises statements on a shared sqlite3 connection."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock):
        self._conn, self._lock = conn, lock

    def execute(self, sql: str, params: tuple = ()) -> "_Rows":
        with self._lock:
            cursor = self._conn.execute(sql, params)
            return _Rows(cursor.fetchall(), cursor.rowcount)


class _Rows:
    def __init__(self, rows: list, rowcount: int):
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list:
        return self._rows
