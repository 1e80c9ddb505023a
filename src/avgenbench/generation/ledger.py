"""The job ledger: one SQLite file in OUT recording every submitted job before it is polled, so a run after a
crash or Ctrl-C polls the jobs it already paid for instead of submitting them again.

Rows hold the prompt key, provider, model, job id, state, reason and estimated cost; never a key or a signed URL.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LEDGER_NAME = ".avgenbench-generate.sqlite"

SUBMITTED, SUCCEEDED, WRITTEN, FAILED, REFUSED = "submitted", "succeeded", "written", "failed", "refused"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  key TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, job_id TEXT NOT NULL,
  state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', cost REAL NOT NULL DEFAULT 0,
  submitted_at REAL NOT NULL, updated_at REAL NOT NULL,
  PRIMARY KEY (key, provider, model)
)
"""


@dataclass
class Job:
    key: str
    provider: str
    model: str
    job_id: str
    state: str
    reason: str = ""
    cost: float = 0.0


class Ledger:
    """Thread-safe; each write is committed at once (the submit record must survive a crash right after it)."""

    def __init__(self, out_dir: Path | str, read_only: bool = False):
        """`read_only` (for --dry-run) reads an existing ledger and never creates OUT or the file."""
        self.path = Path(out_dir) / LEDGER_NAME
        self._lock = threading.Lock()
        if read_only and not self.path.exists():
            self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        elif read_only:
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False,
                                       isolation_level=None)
            return
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def get(self, key: str, provider: str, model: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT key, provider, model, job_id, state, reason, cost FROM jobs "
                                   "WHERE key=? AND provider=? AND model=?", (key, provider, model)).fetchone()
        return Job(*row) if row else None

    def submitted(self, key: str, provider: str, model: str, job_id: str, cost: float) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO jobs VALUES (?,?,?,?,?,?,?,?,?)",
                             (key, provider, model, job_id, SUBMITTED, "", cost, now, now))

    def update(self, key: str, provider: str, model: str, state: str, reason: str = "") -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET state=?, reason=?, updated_at=? WHERE key=? AND provider=? AND model=?",
                             (state, reason, time.time(), key, provider, model))

    def spent(self, provider: str) -> float:
        """Estimated spend so far: jobs that were submitted and not failed or refused (providers do not bill those)."""
        with self._lock:
            (total,) = self._db.execute("SELECT COALESCE(SUM(cost), 0) FROM jobs WHERE provider=? AND state NOT IN (?, ?)",
                                        (provider, FAILED, REFUSED)).fetchone()
        return float(total)

    def jobs(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute("SELECT key, provider, model, job_id, state, reason, cost FROM jobs ORDER BY key").fetchall()
        return [Job(*r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
