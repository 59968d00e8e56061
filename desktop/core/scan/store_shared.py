"""A rescan that finds a tree exactly as an earlier scan left it shares that scan's rows instead of copying them.

A scan that repeats an earlier one — same paths, model digest, options and verdict rule (`verdicts.RULE_VERSION`) —
*follows* the newest such scan (its *root*: the scan that holds the rows, every one of them from the cache). Each
chunk of walked keys (path, size, mtime_ns) is compared with as many of the root's next rows (the same files, in the
order the root's own copy of that chunk wrote them: per model when routing); while they match, nothing
is written: the chunk's rows are the root's, handed out as `StoredRows` of the root's result ids. When the scan
finishes with every root row matched, it is recorded as sharing them (`scans.rows_of` = the root) and has no rows of
its own. At the first difference (a new, changed or missing file, a row from elsewhere), the rows matched so far are
copied into the scan (`materialize`) and it goes on as any other scan.

Why the rows are the same: a root row came from the cache, as the rescan's copy would (`store_copy`): score, size,
format, error and finding are the cache entry of the same key and digest; the verdict, reason and evidence the same
rule gave for the same options. The rule is stamped on each scan and only equal stamps share.

Readers resolve a scan to the scan that holds its rows (`COALESCE(rows_of, id)`); deleting a root hands its rows to
the oldest scan that shares them (`rehome`).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from desktop.core.scan.store_copy import OUT_COLUMNS, CopySummary
from desktop.core.scan.store_rows import db_path

# every column of a row but its scan (a root's rows are all cached: copies of them are too)
_FIELDS = ("path, score, verdict, width, height, format, size, mtime_ns, error, patch_map, patch_rows, patch_cols,"
           " cached, model, evidence, reason")
_COPY = f"INSERT INTO results (scan_id, {_FIELDS}) SELECT ?, {_FIELDS} FROM results WHERE scan_id = ?"
# the newest finished scan this one repeats; its rows' holder
_REPEATS = ("SELECT COALESCE(rows_of, id) FROM scans WHERE id < ? AND status = 'finished' AND paths = ?"
            " AND model_digest = ? AND options = ? AND rule = ? ORDER BY id DESC LIMIT 1")


@dataclass
class Following:
    """A scan sharing `root`'s rows so far: root result ids `first`..`last` matched, `matched` rows of `total`."""

    root: int
    total: int
    first: int = 0
    last: int = 0
    matched: int = 0


def find_root(db: sqlite3.Connection, scan_id: int) -> Following | None:
    """The scan whose rows `scan_id` (just begun, no rows) may share: the newest finished scan with the same
    paths, model digest, options and rule, as long as every one of its rows came from the cache (a first
    scan's rows did not: a copy of them would say `cached`)."""
    mine = db.execute("SELECT paths, model_digest, options, rule FROM scans WHERE id = ?", (scan_id,)).fetchone()
    if mine is None or mine[3] is None:
        return None
    found = db.execute(_REPEATS, (scan_id, *mine)).fetchone()
    if found is None:
        return None
    root = int(found[0])
    total, decoded = db.execute("SELECT COUNT(*), TOTAL(cached = 0) FROM results WHERE scan_id = ?", (root,)).fetchone()
    return Following(root, int(total)) if total and not decoded else None


def follow(db: sqlite3.Connection, f: Following, keys: Sequence[tuple[str, int, int]]
           ) -> tuple[int, list[tuple[Any, ...]], CopySummary] | None:
    """The root's next rows if they are the rows of exactly `keys`: the first one's result id, their output
    columns (`OUT_COLUMNS`) and counts, and `f` moved past them; None (and `f` unchanged) at the first difference."""
    if not keys or f.matched + len(keys) > f.total:
        return None
    rows = db.execute(f"SELECT id, {OUT_COLUMNS} FROM results WHERE scan_id = ? AND id > ? ORDER BY id LIMIT ?",
                      (f.root, f.last, len(keys))).fetchall()
    if len(rows) != len(keys):
        return None
    # the same files, in the order the holder's copy wrote them (per model when routing, as this scan's copy would)
    wanted = {path if path.isascii() else db_path(path): (size, mtime_ns) for path, size, mtime_ns in keys}
    if len(wanted) != len(rows) or any(wanted.get(r[1]) != (r[11], r[12]) for r in rows):
        return None
    verdicts: Counter[str] = Counter()
    by_model: Counter[str] = Counter()
    errors = by_evidence = 0
    for r in rows:
        if r[2] is None:  # no score: a decode error (as the copy counts it)
            errors += 1
            continue
        verdicts[r[3]] += 1
        by_model[r[4]] += 1
        by_evidence += not (r[5] or "").startswith("model")
    f.first = f.first or rows[0][0]
    f.last = rows[-1][0]
    f.matched += len(rows)
    return rows[0][0], [r[1:] for r in rows], CopySummary(errors, dict(verdicts), dict(by_model), by_evidence)


def materialize(db: sqlite3.Connection, scan_id: int, f: Following) -> None:
    """Copy the root rows matched so far into `scan_id` (in order, as cached rows); the caller commits."""
    if f.matched:
        db.execute(f"{_COPY} AND id BETWEEN ? AND ? ORDER BY id", (scan_id, f.root, f.first, f.last))


def share(db: sqlite3.Connection, scan_id: int, f: Following) -> bool:
    """Record a finished scan that matched every root row as sharing them (one statement: not if the root has
    gone or changed meanwhile). True when recorded."""
    if f.matched != f.total:
        return False
    cur = db.execute("UPDATE scans SET rows_of = ?2 WHERE id = ?1 AND EXISTS (SELECT 1 FROM scans WHERE id = ?2"
                     " AND rows_of IS NULL) AND (SELECT COUNT(*) FROM results WHERE scan_id = ?2) = ?3",
                     (scan_id, f.root, f.total))
    return cur.rowcount == 1


def rehome(db: sqlite3.Connection, scan_id: int) -> int | None:
    """Before `scan_id` is deleted: the oldest scan sharing its rows takes them, and the others share that one's.
    The heir (None when no scan shares them); the caller commits."""
    heir: int | None = db.execute("SELECT MIN(id) FROM scans WHERE rows_of = ?", (scan_id,)).fetchone()[0]
    if heir is not None:
        db.execute("UPDATE results SET scan_id = ? WHERE scan_id = ?", (heir, scan_id))
        db.execute("UPDATE scans SET rows_of = NULL WHERE id = ?", (heir,))
        db.execute("UPDATE scans SET rows_of = ? WHERE rows_of = ?", (heir, scan_id))
    return heir


def own_rows(db: sqlite3.Connection, scan_id: int) -> None:
    """Before a scan's rows change (it is resumed): it holds rows of its own, and no other scan shares them. The
    caller commits."""
    heir = rehome(db, scan_id)
    if heir is not None:  # its rows went to the heir: it takes a copy back
        db.execute("UPDATE scans SET rows_of = ? WHERE id = ?", (heir, scan_id))
    (root,) = db.execute("SELECT rows_of FROM scans WHERE id = ?", (scan_id,)).fetchone() or (None,)
    if root is not None:
        db.execute(f"{_COPY} ORDER BY id", (scan_id, root))
        db.execute("UPDATE scans SET rows_of = NULL WHERE id = ?", (scan_id,))


class Sharing:
    """The scans of one store that may still share rows: begun with a rule, none of their own written yet. A scan
    is undecided until its first cached chunk (`chunk`), then follows a root or never shares."""

    def __init__(self) -> None:
        self._scans: dict[int, Following | None] = {}  # None: undecided

    def begun(self, scan_id: int) -> None:
        self._scans[scan_id] = None

    def chunk(self, db: sqlite3.Connection, scan_id: int, keys: Sequence[tuple[str, int, int]]
              ) -> tuple[int, int, int, list[tuple[Any, ...]], CopySummary] | None:
        """`keys` answered by the root's rows: (first and last result id, root, output columns, counts); None
        when the scan does not (or no longer) share, the rows it shared so far copied into it (one transaction)."""
        if scan_id not in self._scans:
            return None
        f = self._scans[scan_id]
        if f is None:  # its first chunk: is there a scan it repeats?
            f = self._scans[scan_id] = find_root(db, scan_id)
        if f is not None:
            got = follow(db, f, keys)
            if got is not None:
                return got[0], f.last, f.root, got[1], got[2]
        with db:
            self.stop(db, scan_id)
        return None

    def stop(self, db: sqlite3.Connection, scan_id: int) -> None:
        """The scan writes rows of its own from now on: the rows it shared so far copied first (the caller commits)."""
        f = self._scans.pop(scan_id, None)
        if f is not None:
            materialize(db, scan_id, f)

    def finish(self, db: sqlite3.Connection, scan_id: int, status: str) -> None:
        """A finished scan that matched every root row is recorded as sharing them; any other keeps copies of the
        rows it shared (the caller commits)."""
        f = self._scans.pop(scan_id, None)
        if f is not None and not (status == "finished" and share(db, scan_id, f)):
            materialize(db, scan_id, f)
