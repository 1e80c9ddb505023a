"""SQLite results store in OUT_DIR: one row per (run, video, dimension, backend), written as each unit finishes."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

DB_NAME = "avgenbench.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run TEXT PRIMARY KEY,
    tier TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    videos_dir TEXT,
    suite_dir TEXT,
    tool_version TEXT,
    config TEXT
);
CREATE TABLE IF NOT EXISTS results (
    run TEXT NOT NULL,
    video_key TEXT NOT NULL,
    dimension TEXT NOT NULL,
    backend TEXT NOT NULL,
    backend_version TEXT NOT NULL,
    tier TEXT NOT NULL,
    category TEXT NOT NULL,
    content TEXT NOT NULL,
    video_path TEXT,
    video_sha256 TEXT,
    status TEXT NOT NULL,
    raw REAL,
    normalized REAL,
    evidence TEXT,
    message TEXT,
    started REAL,
    seconds REAL,
    PRIMARY KEY (run, video_key, dimension, backend)
);
CREATE TABLE IF NOT EXISTS media (
    run TEXT NOT NULL,
    video_key TEXT NOT NULL,
    video_path TEXT,
    status TEXT NOT NULL,
    decodes INTEGER NOT NULL,
    seconds REAL,
    info TEXT,
    PRIMARY KEY (run, video_key)
);
"""


@dataclass
class ResultRow:
    run: str
    video_key: str
    dimension: str
    backend: str
    backend_version: str
    tier: str
    category: str
    content: str
    video_path: str | None
    video_sha256: str | None
    status: str
    raw: float | None
    normalized: float | None
    evidence: dict[str, Any]
    message: str
    started: float
    seconds: float
    context: str = ""  # provenance.row_context: the annotation parts and judge templates the row was measured against

    def public(self) -> dict[str, Any]:
        """The record `results --json` prints."""
        return {
            "run": self.run, "category": self.category, "content": self.content, "video_key": self.video_key,
            "video_path": self.video_path, "dimension": self.dimension, "status": self.status, "raw": self.raw,
            "normalized": self.normalized, "tier": self.tier, "backend": self.backend,
            "backend_version": self.backend_version, "message": self.message, "evidence": self.evidence,
            "seconds": round(self.seconds, 3),
        }


class RunTierConflict(ValueError):
    pass


class RunFolderConflict(ValueError):
    """The run name already holds the results of another videos folder (another model, most likely)."""


def same_folder(recorded: str, videos_dir: str) -> bool:
    """Whether a run's recorded videos folder is `videos_dir` (an older store's relative path is read from here)."""
    a, b = Path(recorded), Path(videos_dir)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (OSError, ValueError):
        return recorded == videos_dir


BUSY_SECONDS = 60.0  # how long opening a store keeps retrying while other processes hold it


def _connect(path: Path) -> sqlite3.Connection:
    """Open the store and make sure its schema exists. Two evals creating one new store at the same moment can get
    'database is locked' at once, without SQLite's busy wait (switching to WAL takes an exclusive lock and SQLite
    refuses rather than deadlock), so the whole setup is retried with backoff until BUSY_SECONDS have passed."""
    deadline = time.monotonic() + BUSY_SECONDS
    wait = 0.02
    while True:
        db = sqlite3.connect(path, timeout=30)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            _migrate(db)
            db.row_factory = sqlite3.Row
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(wait * random.uniform(0.5, 1.5))
            wait = min(wait * 2, 1.0)


# The schema's version (SQLite's user_version). SCHEMA is version 1; each later version's statements bring a store of
# the version before it up to that version, in one transaction.
SCHEMA_VERSION = 2
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE results ADD COLUMN context TEXT",  # what the row was measured against (provenance.row_context)
        "ALTER TABLE media ADD COLUMN prompt TEXT",  # the prompt text, so a store outlives its suite folder
        "ALTER TABLE runs ADD COLUMN environment TEXT"),  # packages and CPU of the last eval (provenance.environment)
}


class StoreVersionError(RuntimeError):
    pass


def _migrate(db: sqlite3.Connection) -> None:
    """Bring the store to SCHEMA_VERSION; refuse a store written by a newer avgenbench."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then find it done
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0] or 1
        if version > SCHEMA_VERSION:
            raise StoreVersionError(f"this store has schema version {version}; this avgenbench reads up to "
                                    f"{SCHEMA_VERSION}: upgrade avgenbench to read it")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    def __init__(self, out_dir: Path | str):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / DB_NAME
        self.db = _connect(self.path)

    @classmethod
    def open_existing(cls, out_dir: Path | str) -> "Store":
        if not (Path(out_dir) / DB_NAME).is_file():
            raise FileNotFoundError(f"no results store in {out_dir} (expected {DB_NAME}); run `avgenbench eval` first")
        return cls(out_dir)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # runs -----------------------------------------------------------------
    def check_run(self, run: str, tier: str, videos_dir: str) -> None:
        """Raise RunTierConflict / RunFolderConflict when `run` exists with another tier or another videos folder."""
        row = self.db.execute("SELECT tier, videos_dir FROM runs WHERE run = ?", (run,)).fetchone()
        if row is None:
            return
        if row["tier"] != tier:
            raise RunTierConflict(
                f"run '{run}' holds {row['tier']}-tier results; a {tier}-tier eval needs another --run name "
                "(tiers are never mixed in one run)")
        if row["videos_dir"] and not same_folder(row["videos_dir"], videos_dir):
            raise RunFolderConflict(
                f"run '{run}' holds the results of the videos in {row['videos_dir']}, not {videos_dir}; "
                f"give these videos their own --run NAME (see `avgenbench runs list {self.out_dir}`), or pass --replace "
                f"to delete run '{run}' and evaluate {videos_dir} under that name")

    def ensure_run(self, run: str, tier: str, videos_dir: str, suite_dir: str, tool_version: str,
                   config: dict[str, Any], environment: dict[str, Any] | None = None) -> None:
        self.check_run(run, tier, videos_dir)
        row = self.db.execute("SELECT tier FROM runs WHERE run = ?", (run,)).fetchone()
        now = time.time()
        config = {**config, "requested_dimensions": self._requested_dimensions(run, config)}
        with self.db:
            if row is None:
                self.db.execute("INSERT INTO runs (run, tier, created, updated, videos_dir, suite_dir, tool_version, "
                                "config, environment) VALUES (?,?,?,?,?,?,?,?,?)",
                                (run, tier, now, now, videos_dir, suite_dir, tool_version, json.dumps(config),
                                 json.dumps(environment or {})))
            else:
                self.db.execute("UPDATE runs SET updated=?, videos_dir=?, suite_dir=?, tool_version=?, config=?, "
                                "environment=? WHERE run=?", (now, videos_dir, suite_dir, tool_version,
                                                              json.dumps(config), json.dumps(environment or {}), run))

    def _requested_dimensions(self, run: str, config: dict[str, Any]) -> list[str]:
        """Every dimension any eval of the run asked for (a later eval of fewer dimensions keeps the others due)."""
        row = self.db.execute("SELECT config FROM runs WHERE run = ?", (run,)).fetchone()
        before = json.loads(row["config"] or "{}") if row else {}
        earlier = before.get("requested_dimensions", before.get("dimensions", []))
        return list(dict.fromkeys([*earlier, *config.get("dimensions", [])]))

    def runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY created").fetchall()
        return [{**dict(r), "config": json.loads(r["config"] or "{}"), "environment": json.loads(r["environment"] or "{}")}
                for r in rows]

    def run_info(self, run: str) -> dict[str, Any] | None:
        return next((r for r in self.runs() if r["run"] == run), None)

    def run_overview(self) -> list[dict[str, Any]]:
        """Every run with its tier, videos folder, number of result rows and creation time, oldest first."""
        query = ("SELECT r.run, r.tier, r.videos_dir, r.suite_dir, r.created, r.updated, "
                 "(SELECT COUNT(*) FROM results WHERE results.run = r.run) AS result_rows FROM runs r ORDER BY r.created")
        return [dict(r) for r in self.db.execute(query)]

    def delete_run(self, run: str) -> dict[str, Any] | None:
        """Delete a run with all its result and media rows; what was removed, or None for an unknown run."""
        info = next((r for r in self.run_overview() if r["run"] == run), None)
        if info is None:
            return None
        with self.db:
            self.db.execute("DELETE FROM results WHERE run=?", (run,))
            info["media_rows"] = self.db.execute("DELETE FROM media WHERE run=?", (run,)).rowcount
            self.db.execute("DELETE FROM runs WHERE run=?", (run,))
        return info

    # results --------------------------------------------------------------
    def write_results(self, rows: list[ResultRow]) -> None:
        """Replace each row's (run, video, dimension) results, whatever backend made the old ones, atomically."""
        with self.db:
            self.db.executemany("DELETE FROM results WHERE run=? AND video_key=? AND dimension=?",
                                [(r.run, r.video_key, r.dimension) for r in rows])
            self.db.executemany(
                "INSERT OR REPLACE INTO results (run, video_key, dimension, backend, backend_version, tier, category, "
                "content, video_path, video_sha256, status, raw, normalized, evidence, message, started, seconds, "
                "context) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(r.run, r.video_key, r.dimension, r.backend, r.backend_version, r.tier, r.category, r.content,
                  r.video_path, r.video_sha256, r.status, r.raw, r.normalized, json.dumps(r.evidence, default=str),
                  r.message, r.started, r.seconds, r.context) for r in rows])

    def write_media(self, run: str, video_key: str, video_path: str | None, status: str, decodes: int,
                    seconds: float, info: dict[str, Any], prompt: str | None = None) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO media (run, video_key, video_path, status, decodes, seconds, info, "
                            "prompt) VALUES (?,?,?,?,?,?,?,?)",
                            (run, video_key, video_path, status, decodes, seconds, json.dumps(info), prompt))

    def results(self, run: str | None = None) -> list[ResultRow]:
        query = "SELECT * FROM results"
        args: tuple = ()
        if run is not None:
            query += " WHERE run = ?"
            args = (run,)
        query += " ORDER BY run, category, video_key, dimension"
        return [self._row(r) for r in self.db.execute(query, args)]

    def iter_finished(self, run: str) -> Iterator[tuple[str, str, str, str, str | None, str, str]]:
        """(video_key, dimension, backend, backend_version, video_sha256, status, context) of every row of a run."""
        query = ("SELECT video_key, dimension, backend, backend_version, video_sha256, status, context FROM results "
                 "WHERE run=?")
        for r in self.db.execute(query, (run,)):
            yield (r["video_key"], r["dimension"], r["backend"], r["backend_version"], r["video_sha256"], r["status"],
                   r["context"] or "")

    def crashed_videos(self, run: str) -> dict[str, str]:
        """video_key -> cause ('signal SIGSEGV') of the videos whose rows say their worker process died measuring them."""
        query = ("SELECT video_key, json_extract(evidence, '$.worker_crash') AS cause FROM results WHERE run=? "
                 "AND status='error' AND json_extract(evidence, '$.worker_crash') IS NOT NULL")
        return {r["video_key"]: str(r["cause"]) for r in self.db.execute(query, (run,))}

    def media(self, run: str) -> dict[str, dict[str, Any]]:
        out = {}
        for r in self.db.execute("SELECT * FROM media WHERE run=?", (run,)):
            out[r["video_key"]] = {**dict(r), "info": json.loads(r["info"] or "{}")}
        return out

    @staticmethod
    def _row(r: sqlite3.Row) -> ResultRow:
        return ResultRow(
            run=r["run"], video_key=r["video_key"], dimension=r["dimension"], backend=r["backend"],
            backend_version=r["backend_version"], tier=r["tier"], category=r["category"], content=r["content"],
            video_path=r["video_path"], video_sha256=r["video_sha256"], status=r["status"], raw=r["raw"],
            normalized=r["normalized"], evidence=json.loads(r["evidence"] or "{}"), message=r["message"] or "",
            started=r["started"] or 0.0, seconds=r["seconds"] or 0.0, context=r["context"] or "")
