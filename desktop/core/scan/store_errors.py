"""What goes wrong with the result database, told apart (docs/reliability.md): damage (SQLite says CORRUPT
or NOTADB: the store moves the file aside and starts afresh) and environment problems (busy, full,
unwritable: one line for the user, as a :class:`StoreError`)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

BUSY_TIMEOUT_S = 30.0  # how long a statement waits for another process's lock before giving up

# SQLite primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 26


class StoreError(Exception):
    """The result database cannot be used right now; the message is one line saying what to do.

    `kind`: "busy" (another process holds the lock), "full" (no space left), "unwritable" (a read-only
    folder or file system, a folder that cannot be created), "damaged" (damage found while reading rows).
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_busy(exc: BaseException) -> bool:
    """Whether another connection holds the lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    return isinstance(exc, sqlite3.Error) and _code(exc) in (_BUSY, _LOCKED)


def is_damage(exc: BaseException) -> bool:
    """Whether SQLite says the file itself is damaged (not busy, not read-only)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = _code(exc)
    if code is not None:
        return code in (_CORRUPT, _NOTADB)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def store_error(exc: sqlite3.Error, path: Path) -> StoreError | None:
    """The one-line error for an environment problem, or None when `exc` is something else."""
    code = _code(exc)
    text = str(exc)
    if code in (_BUSY, _LOCKED) or "locked" in text:
        return StoreError(f"the result database {path} is busy: another process has held it for more than "
                          f"{BUSY_TIMEOUT_S:g} s; wait for it to finish, then run again (add --resume to continue)",
                          "busy")
    if code == _FULL or "disk is full" in text:
        return StoreError(f"no space left for the result database {path}; rows written so far are kept: "
                          "free some space, then run the same command with --resume", "full")
    if code in (_READONLY, _CANTOPEN, _PERM, _IOERR) or "readonly" in text or "unable to open" in text:
        return StoreError(f"cannot write the result database {path} ({text}): make {path.parent} writable, "
                          "or set PIXELPATROL_HOME to a writable folder", "unwritable")
    return None


# A database checked at open (PRAGMA quick_check reads every page: about 0.06 s per 100,000 rows) is marked
# checked at close by its size and mtime in `<name>.checked`; the next process checks again only once the file
# is not as it was left, or a WAL holds writes made after (a process that crashed leaves one).


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def _wal_empty(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return not wal.exists() or wal.stat().st_size == 0


def left_checked(path: Path, st: os.stat_result) -> bool:
    """`path` (stat `st`) is as a process that had checked it left it at close."""
    try:
        return _marker(path).read_text() == f"{st.st_size} {st.st_mtime_ns}" and _wal_empty(path)
    except OSError:
        return False


def leave_checked(path: Path, max_bytes: int) -> None:
    """Mark `path`, as it is now (after the last connection's checkpoint), checked; nothing while another
    process's writes sit in the WAL, or for a file too big to be checked at open anyway."""
    try:
        st = path.stat()
        if _wal_empty(path) and st.st_size <= max_bytes:
            _marker(path).write_text(f"{st.st_size} {st.st_mtime_ns}")
    except OSError:
        pass  # a read-only folder: the next process checks again
