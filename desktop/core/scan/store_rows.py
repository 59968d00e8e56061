"""What the result store keeps: its tables, and as Python sees them: paths stored losslessly, a scan's record, a cached
model output, a patch map packed as float16."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from desktop.core.scan.export import readable

if TYPE_CHECKING:  # imported where a patch map is packed or unpacked: most rows have none
    import numpy as np


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
                 ("cache", "finding", "TEXT"),
                 ("scans", "rule", "TEXT"),  # the verdict rule's version (verdicts.RULE_VERSION)
                 ("scans", "rows_of", "INTEGER"),  # the scan whose rows it shares (store_shared.py); NULL: its own
                 ("scans", "rows_upto", "INTEGER"))  # the last of those rows it shares


def db_path(path: str) -> str | bytes:
    """A path as the store keeps it: text when it is valid UTF-8, else its raw bytes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def py_path(value: str | bytes) -> str:
    """A stored path back as Python's str (undecodable bytes as surrogate escapes, like os.listdir)."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def storable_text(value: str | None) -> str | None:
    """Free text (an error message may quote a file name) made storable: undecodable bytes as \\xNN."""
    return None if value is None else readable(value)


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


class CachedResult(NamedTuple):  # a tuple: a rescan makes one per file, a frozen dataclass costs 5x more
    score: float | None
    width: int | None
    height: int | None
    format: str | None
    error: str | None
    patch_map: np.ndarray | None
    finding: str | None = None  # the file's evidence (desktop.core.scan.verdicts.Finding as JSON)


def pack_patch_map(patch_map: np.ndarray | None) -> tuple[bytes | None, int | None, int | None]:
    if patch_map is None:
        return None, None, None
    import numpy as np

    arr = np.asarray(patch_map, dtype=np.float16)
    arr = arr.reshape(arr.shape[0], -1) if arr.ndim >= 2 else arr.reshape(1, -1)
    return arr.tobytes(), int(arr.shape[0]), int(arr.shape[1])


def unpack_patch_map(blob: bytes | None, rows: int | None, cols: int | None) -> np.ndarray | None:
    if blob is None or rows is None or cols is None:
        return None
    import numpy as np

    return np.frombuffer(blob, dtype=np.float16).reshape(rows, cols).astype(np.float32)
