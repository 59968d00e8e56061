"""The result store: SQLite in WAL mode, written as rows are produced.

Three tables: `scans` (one per run), `results` (rows of a scan, in the order they were produced)
and `cache` (model outputs keyed by path, size, mtime_ns and model digest, so an unchanged file is
never decoded twice with the same model). Each batch is one transaction, committed before its rows
are reported, so killing the process loses nothing already reported.

Paths are stored losslessly: text when the name is valid UTF-8, else the raw bytes (`os.fsencode`) as
a BLOB in the same column, turned back into Python's surrogate-escaped `str` on the way out.

Faults (docs/reliability.md): a damaged database (SQLite says CORRUPT or NOTADB, or a quick check at
open fails) is moved aside with a timestamp and a fresh one started, once per process and path, and
`notice` says so; a read-only place, a full disk or a lock held too long become a `StoreError`
with one line for the user.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from desktop.core import paths as user_paths
from desktop.core.scan import store_shared as shared
from desktop.core.scan.events import ScanRow
from desktop.core.scan.store_copy import Decide, StoredRows, copy_cached
from desktop.core.scan.store_errors import (
    BUSY_TIMEOUT_S,
    StoreError,
    is_busy,
    is_damage,
    leave_checked,
    left_checked,
    store_error,
)
from desktop.core.scan.store_rows import (
    ADDED_COLUMNS,
    SCHEMA,
    CachedResult,
    ScanRecord,
    db_path,
    pack_patch_map,
    py_path,
    storable_text,
    unpack_patch_map,
)

_IN_CHUNK = 500  # bound on SQL parameters per query
# A quick check at open reads every page (about 0.2 s for 100,000 rows); above this size it is left to the
# statements themselves, whose CORRUPT errors start the same recovery.
QUICK_CHECK_MAX_BYTES = 256 << 20

_CHECKED: set[tuple[str, int, int, int]] = set()  # (path, inode, size, mtime_ns) quick-checked and ok

_T = TypeVar("_T")


def _guarded(method: Callable[..., _T]) -> Callable[..., _T]:
    """Run a store method; on damage move the database aside and run it once more on a fresh one;
    environment errors become StoreError."""

    @functools.wraps(method)
    def wrapper(self: ResultStore, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            if not is_damage(exc):
                raise self._translated(exc) from None
            self._recover(exc)
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._translated(exc) from None

    return wrapper


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        pass
    return True


_SCAN_FIELDS = "started_at, status, paths, model_name, model_path, model_digest, device, options, pid, rule"
_SCAN_INSERT = "id, " + _SCAN_FIELDS  # a scan as begun, to write it again into a fresh database
_SCAN_MARKS = ", ".join("?" * len(_SCAN_INSERT.split(",")))


class ResultStore:
    """Thread-safe by having one connection per thread."""

    def __init__(self, path: str | Path | None = None) -> None:
        try:
            self.path = Path(path) if path is not None else user_paths.default_store_path()
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            where = exc.filename or (Path(path).parent if path is not None else "PixelPatrol's data folder")
            raise StoreError(f"cannot create {where} ({exc.strerror or exc}): make it writable, or set "
                             "PIXELPATROL_HOME to a writable folder", "unwritable") from None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._mine: dict[int, tuple[Any, ...]] = {}  # scans this process began or reopened: their rows
        self._sharing = shared.Sharing()  # scans this process began that may share an earlier scan's rows
        self.notice: str | None = None  # set when a damaged database was moved aside (one line)
        self.moved_to: Path | None = None
        self._sound = False  # checked (or created) at open and not found damaged since
        self._open()

    @_guarded
    def _open(self) -> None:
        self._db.executescript(SCHEMA)
        self._add_columns()
        st = self.path.stat()
        key = (str(self.path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
        # the app opens the store often, the CLI once per run: again only once the file has changed
        if key not in _CHECKED and st.st_size <= QUICK_CHECK_MAX_BYTES and not left_checked(self.path, st):
            (result,) = self._db.execute("PRAGMA quick_check(1)").fetchone()
            if result != "ok":
                found = " ".join(str(result).replace("*** in database main ***", "").split())[:120]
                raise sqlite3.DatabaseError(f"database disk image is malformed: {found}")
        _CHECKED.add(key)
        self._sound = True

    def _add_columns(self) -> None:
        with self._db as db:
            have: dict[str, set[str]] = {}  # each table's columns, read once per open
            for table, column, kind in ADDED_COLUMNS:
                if table not in have:
                    have[table] = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have[table]:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def _translated(self, exc: sqlite3.Error) -> Exception:
        error = store_error(exc, self.path)
        if error is not None:
            return error
        if is_damage(exc):  # damaged again right after a fresh start: give up in one line
            return StoreError(f"the result database {self.path} is damaged ({exc}) and could not be replaced",
                              "damaged")
        return exc

    def _recover(self, exc: sqlite3.Error) -> None:
        """Move the damaged file (and its WAL) aside with a timestamp; the next statement starts a fresh one."""
        self._sound = False
        if self.moved_to is not None:  # once per process: a second damage is not the file's fault
            raise self._translated(exc) from None
        self.close()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        try:
            for suffix in ("-wal", "-shm"):
                extra = self.path.with_name(self.path.name + suffix)
                if extra.exists():
                    os.replace(extra, aside.with_name(aside.name + suffix))
            os.replace(self.path, aside)
        except OSError as err:
            raise StoreError(f"the result database {self.path} is damaged ({exc}) and cannot be moved aside "
                             f"({err.strerror or err}): move or delete it, then run again", "damaged") from None
        self.moved_to = aside
        self._sharing = shared.Sharing()  # the rows they shared are in the moved file
        self._sound = True  # the fresh file
        self.notice = (f"the result database was damaged ({exc}); moved it to {aside} and started a fresh one "
                       "(earlier scans and cached results are in the moved file)")
        self._db.executescript(SCHEMA)
        self._add_columns()
        with self._db as db:  # this process's scans go on in the fresh file under the same ids
            for values in self._mine.values():
                db.execute(f"INSERT INTO scans ({_SCAN_INSERT}) VALUES ({_SCAN_MARKS})", values)

    @property
    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            try:
                self._enable_wal(conn)
                conn.execute("PRAGMA synchronous=NORMAL")  # durable against process kills, fast
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error:
                conn.close()
                raise
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @staticmethod
    def _enable_wal(conn: sqlite3.Connection) -> None:
        """`PRAGMA journal_mode=WAL`, waiting like any other statement for a lock another process holds: while
        another process turns a new database into WAL mode, SQLite answers SQLITE_BUSY at once, without the busy
        handler (two scans started together on a new database failed one run in ten: "busy", exit 4)."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        if self._sound:
            leave_checked(self.path, QUICK_CHECK_MAX_BYTES)

    # ------------------------------------------------------------------ scans

    @_guarded
    def begin_scan(self, paths: Sequence[str], model_name: str, model_path: str, model_digest: str,
                   device: str, options: dict[str, Any], rule: str | None = None) -> int:
        """A new scan. `rule`: the verdict rule's version (`verdicts.RULE_VERSION`); a scan that repeats an earlier
        one with the same rule may share its rows (store_shared.py), one without a rule never does."""
        # json.dumps escapes undecodable bytes (surrogates) as \udcXX, which json.loads gives back
        values = (time.time(), "running", json.dumps(list(paths)), model_name, model_path, model_digest, device,
                  json.dumps(options), os.getpid(), rule)
        with self._db as db:
            cur = db.execute(f"INSERT INTO scans ({_SCAN_FIELDS}) VALUES ({', '.join('?' * len(values))})", values)
        assert cur.lastrowid is not None
        self._mine[int(cur.lastrowid)] = (int(cur.lastrowid), *values)
        if rule is not None:
            self._sharing.begun(int(cur.lastrowid))
        return int(cur.lastrowid)

    @_guarded
    def reopen_scan(self, scan_id: int, device: str) -> set[str]:
        """Mark a scan running again in this process; the paths it already has."""
        with self._db as db:
            cur = db.execute("UPDATE scans SET status='running', finished_at=NULL, pid=?, device=? WHERE id=?",
                             (os.getpid(), device, scan_id))
            if cur.rowcount == 0:
                raise KeyError(f"no scan with id {scan_id}")
            shared.own_rows(db, scan_id)  # its rows are about to grow
            row = db.execute(f"SELECT {_SCAN_INSERT} FROM scans WHERE id=?", (scan_id,)).fetchone()
        self._mine[scan_id] = tuple(row)
        return {py_path(r[0]) for r in self._db.execute("SELECT path FROM results WHERE scan_id=?", (scan_id,))}

    @_guarded
    def finish_scan(self, scan_id: int, status: str) -> None:
        self._sharing.stop(scan_id)
        with self._db as db:
            shared.finish(db, scan_id, status)
            db.execute(
                f"UPDATE scans SET status=?2, finished_at=?3, done=(SELECT COUNT(*) {shared.ROWS_OF}),"
                f" errors=(SELECT COUNT(*) {shared.ROWS_OF} AND error IS NOT NULL) WHERE id=?1",
                (scan_id, status, time.time()),
            )

    def _record(self, row: sqlite3.Row | tuple[Any, ...]) -> ScanRecord:
        r = tuple(row)
        return ScanRecord(int(r[0]), float(r[1]), r[2], str(r[3]), json.loads(r[4]), r[5], r[6], r[7], r[8],
                          json.loads(r[9]), int(r[10]), int(r[11]), r[12])

    _SCAN_COLUMNS = ("id, started_at, finished_at, status, paths, model_name, model_path, model_digest, device,"
                     f" options, (SELECT COUNT(*) {shared.ROWS_OF_SCAN}), (SELECT COUNT(*) {shared.ROWS_OF_SCAN} AND r.error IS NOT NULL),"
                     " pid")

    @_guarded
    def get_scan(self, scan_id: int) -> ScanRecord | None:
        row = self._db.execute(f"SELECT {self._SCAN_COLUMNS} FROM scans WHERE id=?", (scan_id,)).fetchone()
        return self._record(row) if row else None

    @_guarded
    def list_scans(self) -> list[ScanRecord]:
        """Newest first. A 'running' scan whose process is gone is reported as 'interrupted'."""
        records = [self._record(r) for r in self._db.execute(f"SELECT {self._SCAN_COLUMNS} FROM scans ORDER BY id DESC")]
        return [replace(r, status="interrupted") if r.status == "running" and not _pid_alive(r.pid) else r
                for r in records]

    def interrupted_scans(self) -> list[ScanRecord]:
        return [r for r in self.list_scans() if r.status == "interrupted"]

    @_guarded
    def delete_scan(self, scan_id: int) -> None:
        with self._db as db:
            shared.rehome(db, scan_id)  # scans sharing its rows keep them
            db.execute("DELETE FROM results WHERE scan_id=?", (scan_id,))
            db.execute("DELETE FROM scans WHERE id=?", (scan_id,))

    # ------------------------------------------------------------------ rows

    @_guarded
    def add_rows(self, scan_id: int, rows: Sequence[ScanRow], cache_digest: str | Mapping[str, str] | None = None,
                 cacheable: Sequence[ScanRow] = (), findings: Mapping[str, str] | None = None) -> None:
        """Write a batch of rows (and their cache entries) in one transaction (after any rows it shared so far).

        `cache_digest`: one model digest, or {model name: digest} when rows come from several models
        (routing; a row is cached under its own model's digest). `findings`: path -> evidence JSON to cache.
        """
        result_values = []
        for r in rows:
            blob, pr, pc = (None, None, None) if r.patch_map is None else pack_patch_map(r.patch_map)
            result_values.append((scan_id, db_path(r.path), r.score, r.verdict, r.width, r.height, r.format,
                                  r.size, r.mtime_ns, r.error and storable_text(r.error), blob, pr, pc, int(r.cached),
                                  r.model, r.evidence and storable_text(r.evidence), r.reason and storable_text(r.reason)))
        self._sharing.stop(scan_id)
        with self._db as db:
            shared.materialize(db, scan_id)  # rows of its own from now on: those it shared first
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
        try:
            cur = self._db.execute(
                "SELECT path, score, verdict, width, height, format, size, mtime_ns, error, patch_map, patch_rows,"
                f" patch_cols, cached, model, evidence, reason {shared.ROWS_OF} ORDER BY id", (scan_id,))
            for r in cur:
                yield ScanRow(py_path(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                              unpack_patch_map(r[9], r[10], r[11]), bool(r[12]), r[13], r[14], r[15])
        except sqlite3.Error as exc:
            if not is_damage(exc):
                raise self._translated(exc) from None
            self._recover(exc)  # the rows are gone with the damaged file: say so rather than stop half-way
            raise StoreError(f"{self.notice}; run the scan again without --resume", "damaged") from None

    @_guarded
    def copy_cached(self, scan_id: int, keys: Sequence[tuple[str, int, int]], digests: Sequence[tuple[str, str]],
                    rule: Decide) -> tuple[StoredRows | None, set[str]]:
        """The cached results of `keys` (path, size, mtime_ns, in walk order) added to scan `scan_id` as rows, in
        one transaction, without making them in Python (store_copy.py): the rows (None when no key was cached)
        and the paths that were not. `digests`: (digest, model name), tried in order."""
        got = self._sharing.chunk(self._db, scan_id, keys)
        if got is not None:
            first, last, holder, fetched, summary = got
            return StoredRows(lambda: self._db, holder, first, last, summary, fetched), set()
        first, last, missing, summary = copy_cached(self._db, scan_id, keys, digests, rule)
        if last < first:
            return None, missing
        return StoredRows(lambda: self._db, scan_id, first, last, summary), missing

    # ------------------------------------------------------------------ cache

    def _cache_put_many(self, db: sqlite3.Connection, digest: str, rows: Iterable[ScanRow],
                        findings: Mapping[str, str] | None = None) -> None:
        values = []
        for r in rows:
            if r.size is None or r.mtime_ns is None:
                continue
            blob, pr, pc = pack_patch_map(r.patch_map)
            values.append((db_path(r.path), r.size, r.mtime_ns, digest, r.score, r.width, r.height, r.format,
                           storable_text(r.error), blob, pr, pc, (findings or {}).get(r.path)))
        db.executemany("INSERT OR REPLACE INTO cache (path, size, mtime_ns, model_digest, score, width, height,"
                       " format, error, patch_map, patch_rows, patch_cols, finding)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)

    @_guarded
    def cache_get_many(self, digest: str, keys: Sequence[tuple[str, int, int]]) -> dict[str, CachedResult]:
        """Cached results for the (path, size, mtime_ns) keys that match exactly."""
        wanted = {db_path(path): (size, mtime_ns) for path, size, mtime_ns in keys}
        found: dict[str, CachedResult] = {}
        names = list(wanted)
        for start in range(0, len(names), _IN_CHUNK):
            chunk = names[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            cur = self._db.execute(
                "SELECT path, size, mtime_ns, score, width, height, format, error, patch_map, patch_rows,"
                f" patch_cols, finding FROM cache WHERE model_digest=? AND path IN ({marks})", (digest, *chunk))
            for path, size, mtime_ns, score, width, height, fmt, error, blob, rows, cols, finding in cur:
                if wanted[path] == (size, mtime_ns):
                    patch_map = None if blob is None else unpack_patch_map(blob, rows, cols)
                    found[py_path(path)] = CachedResult(score, width, height, fmt, error, patch_map, finding)
        return found
