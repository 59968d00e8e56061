"""The result store: SQLite in WAL mode, written as rows are produced.

Three tables: `scans` (one per run), `results` (rows of a scan, in the order they were produced)
and `cache` (model outputs keyed by path, size, mtime_ns and model digest, so an unchanged file is
never decoded twice with the same model). Each batch is one transaction, committed before its rows
are reported, so killing the process loses nothing already reported.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core import paths as user_paths
from desktop.core.events import ScanRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,            -- running | finished | cancelled | interrupted
    paths TEXT NOT NULL,             -- JSON list
    model_name TEXT NOT NULL,
    model_path TEXT NOT NULL,
    model_digest TEXT NOT NULL,
    device TEXT NOT NULL,
    options TEXT NOT NULL,           -- JSON object
    done INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    score REAL, verdict TEXT, width INTEGER, height INTEGER, format TEXT,
    size INTEGER, mtime_ns INTEGER, error TEXT,
    patch_map BLOB, patch_rows INTEGER, patch_cols INTEGER,
    cached INTEGER NOT NULL DEFAULT 0,
    model TEXT, evidence TEXT, reason TEXT
);
-- Rows of a scan are appended in order (scan_id and id both grow), so this index stays cheap;
-- a path is never inserted twice into one scan because a resumed scan skips the paths it has.
CREATE INDEX IF NOT EXISTS results_by_scan ON results (scan_id);
CREATE TABLE IF NOT EXISTS cache (
    path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, model_digest TEXT NOT NULL,
    score REAL, width INTEGER, height INTEGER, format TEXT, error TEXT,
    patch_map BLOB, patch_rows INTEGER, patch_cols INTEGER,
    finding TEXT,
    PRIMARY KEY (model_digest, path, size, mtime_ns)
) WITHOUT ROWID;
"""
# Columns added after the first release: (table, column, type), added to older databases on open.
ADDED_COLUMNS = (("results", "model", "TEXT"), ("results", "evidence", "TEXT"), ("results", "reason", "TEXT"),
                 ("cache", "finding", "TEXT"))
_IN_CHUNK = 500  # bound on SQL parameters per query


@dataclass(frozen=True)
class ScanRecord:
    id: int
    started_at: float
    finished_at: float | None
    status: str
    paths: list[str]
    model_name: str
    model_path: str
    model_digest: str
    device: str
    options: dict[str, Any]
    done: int
    errors: int
    pid: int | None


@dataclass(frozen=True)
class CachedResult:
    score: float | None
    width: int | None
    height: int | None
    format: str | None
    error: str | None
    patch_map: np.ndarray | None
    finding: str | None = None  # the file's evidence (desktop.core.verdicts.Finding as JSON)


def pack_patch_map(patch_map: np.ndarray | None) -> tuple[bytes | None, int | None, int | None]:
    if patch_map is None:
        return None, None, None
    arr = np.asarray(patch_map, dtype=np.float16)
    arr = arr.reshape(arr.shape[0], -1) if arr.ndim >= 2 else arr.reshape(1, -1)
    return arr.tobytes(), int(arr.shape[0]), int(arr.shape[1])


def unpack_patch_map(blob: bytes | None, rows: int | None, cols: int | None) -> np.ndarray | None:
    if blob is None or rows is None or cols is None:
        return None
    return np.frombuffer(blob, dtype=np.float16).reshape(rows, cols).astype(np.float32)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class ResultStore:
    """Thread-safe by having one connection per thread."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else user_paths.default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        with self._db as db:
            for table, column, kind in ADDED_COLUMNS:
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @property
    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable against process kills, fast
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # ------------------------------------------------------------------ scans

    def begin_scan(self, paths: Sequence[str], model_name: str, model_path: str, model_digest: str,
                   device: str, options: dict[str, Any]) -> int:
        with self._db as db:
            cur = db.execute(
                "INSERT INTO scans (started_at, status, paths, model_name, model_path, model_digest, device,"
                " options, pid) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), json.dumps(list(paths)), model_name, model_path, model_digest, device,
                 json.dumps(options), os.getpid()),
            )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def reopen_scan(self, scan_id: int, device: str) -> set[str]:
        """Mark a scan running again in this process; the paths it already has."""
        with self._db as db:
            cur = db.execute("UPDATE scans SET status='running', finished_at=NULL, pid=?, device=? WHERE id=?",
                             (os.getpid(), device, scan_id))
            if cur.rowcount == 0:
                raise KeyError(f"no scan with id {scan_id}")
        return {r[0] for r in self._db.execute("SELECT path FROM results WHERE scan_id=?", (scan_id,))}

    def finish_scan(self, scan_id: int, status: str) -> None:
        with self._db as db:
            db.execute(
                "UPDATE scans SET status=?, finished_at=?, done=(SELECT COUNT(*) FROM results WHERE scan_id=?),"
                " errors=(SELECT COUNT(*) FROM results WHERE scan_id=? AND error IS NOT NULL) WHERE id=?",
                (status, time.time(), scan_id, scan_id, scan_id),
            )

    def _record(self, row: sqlite3.Row | tuple[Any, ...]) -> ScanRecord:
        r = tuple(row)
        return ScanRecord(int(r[0]), float(r[1]), r[2], str(r[3]), json.loads(r[4]), r[5], r[6], r[7], r[8],
                          json.loads(r[9]), int(r[10]), int(r[11]), r[12])

    _SCAN_COLUMNS = ("id, started_at, finished_at, status, paths, model_name, model_path, model_digest, device,"
                     " options, (SELECT COUNT(*) FROM results r WHERE r.scan_id = scans.id),"
                     " (SELECT COUNT(*) FROM results r WHERE r.scan_id = scans.id AND r.error IS NOT NULL), pid")

    def get_scan(self, scan_id: int) -> ScanRecord | None:
        row = self._db.execute(f"SELECT {self._SCAN_COLUMNS} FROM scans WHERE id=?", (scan_id,)).fetchone()
        return self._record(row) if row else None

    def list_scans(self) -> list[ScanRecord]:
        """Newest first. A 'running' scan whose process is gone is reported as 'interrupted'."""
        records = [self._record(r) for r in self._db.execute(f"SELECT {self._SCAN_COLUMNS} FROM scans ORDER BY id DESC")]
        return [self._with_liveness(r) for r in records]

    def _with_liveness(self, record: ScanRecord) -> ScanRecord:
        if record.status == "running" and not _pid_alive(record.pid):
            return replace(record, status="interrupted")
        return record

    def interrupted_scans(self) -> list[ScanRecord]:
        return [r for r in self.list_scans() if r.status == "interrupted"]

    def delete_scan(self, scan_id: int) -> None:
        with self._db as db:
            db.execute("DELETE FROM results WHERE scan_id=?", (scan_id,))
            db.execute("DELETE FROM scans WHERE id=?", (scan_id,))

    # ------------------------------------------------------------------ rows

    def add_rows(self, scan_id: int, rows: Sequence[ScanRow], cache_digest: str | Mapping[str, str] | None = None,
                 cacheable: Sequence[ScanRow] = (), findings: Mapping[str, str] | None = None) -> None:
        """Write a batch of rows (and their cache entries) in one transaction.

        `cache_digest`: one model digest, or {model name: digest} when rows come from several models
        (routing; a row is cached under its own model's digest). `findings`: path -> evidence JSON to cache.
        """
        result_values = []
        for r in rows:
            blob, pr, pc = pack_patch_map(r.patch_map)
            result_values.append((scan_id, r.path, r.score, r.verdict, r.width, r.height, r.format, r.size,
                                  r.mtime_ns, r.error, blob, pr, pc, int(r.cached), r.model, r.evidence, r.reason))
        with self._db as db:
            db.executemany(
                "INSERT INTO results (scan_id, path, score, verdict, width, height, format, size,"
                " mtime_ns, error, patch_map, patch_rows, patch_cols, cached, model, evidence, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                result_values,
            )
            if cache_digest is not None and cacheable:
                if isinstance(cache_digest, str):
                    self._cache_put_many(db, cache_digest, cacheable, findings)
                else:
                    for name, digest in cache_digest.items():
                        mine = [r for r in cacheable if (r.model or "") == name]
                        if mine:
                            self._cache_put_many(db, digest, mine, findings)

    def rows(self, scan_id: int) -> list[ScanRow]:
        return list(self.iter_rows(scan_id))

    def iter_rows(self, scan_id: int) -> Iterator[ScanRow]:
        cur = self._db.execute(
            "SELECT path, score, verdict, width, height, format, size, mtime_ns, error, patch_map, patch_rows,"
            " patch_cols, cached, model, evidence, reason FROM results WHERE scan_id=? ORDER BY id", (scan_id,))
        for r in cur:
            yield ScanRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                          unpack_patch_map(r[9], r[10], r[11]), bool(r[12]), r[13], r[14], r[15])

    # ------------------------------------------------------------------ cache

    def _cache_put_many(self, db: sqlite3.Connection, digest: str, rows: Iterable[ScanRow],
                        findings: Mapping[str, str] | None = None) -> None:
        values = []
        for r in rows:
            if r.size is None or r.mtime_ns is None:
                continue
            blob, pr, pc = pack_patch_map(r.patch_map)
            values.append((r.path, r.size, r.mtime_ns, digest, r.score, r.width, r.height, r.format, r.error,
                           blob, pr, pc, (findings or {}).get(r.path)))
        db.executemany("INSERT OR REPLACE INTO cache (path, size, mtime_ns, model_digest, score, width, height,"
                       " format, error, patch_map, patch_rows, patch_cols, finding)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)

    def cache_put(self, digest: str, row: ScanRow) -> None:
        with self._db as db:
            self._cache_put_many(db, digest, [row])

    def cache_get(self, path: str, size: int, mtime_ns: int, digest: str) -> CachedResult | None:
        return self.cache_get_many(digest, [(path, size, mtime_ns)]).get(path)

    def cache_get_many(self, digest: str, keys: Sequence[tuple[str, int, int]]) -> dict[str, CachedResult]:
        """Cached results for the (path, size, mtime_ns) keys that match exactly."""
        wanted = {k[0]: k for k in keys}
        found: dict[str, CachedResult] = {}
        names = list(wanted)
        for start in range(0, len(names), _IN_CHUNK):
            chunk = names[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            cur = self._db.execute(
                "SELECT path, size, mtime_ns, score, width, height, format, error, patch_map, patch_rows,"
                f" patch_cols, finding FROM cache WHERE model_digest=? AND path IN ({marks})", (digest, *chunk))
            for r in cur:
                if wanted[r[0]][1:] == (r[1], r[2]):
                    found[r[0]] = CachedResult(r[3], r[4], r[5], r[6], r[7], unpack_patch_map(r[8], r[9], r[10]),
                                               r[11])
        return found
