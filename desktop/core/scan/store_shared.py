"""A rescan that finds a tree exactly as an earlier scan left it shares that scan's rows instead of copying them.

A scan that repeats an earlier one — same paths, model digest, options and verdict rule (`verdicts.RULE_VERSION`) —
*follows* the newest such scan (its *holder*: the scan that holds the rows, every one of them from the cache). Each
chunk of walked keys (path, size, mtime_ns) is compared with as many of the holder's next rows (the same files, in
the order the holder's own copy of that chunk wrote them: per model when routing). While they match, nothing is
written but the scan's own record: `scans.rows_of` (the holder) and `scans.rows_upto` (the last holder row it
shares), committed before the rows are handed out (as `StoredRows` already read), so a scan killed half-way still
has every row it reported. A scan that finishes with every holder row matched keeps sharing them; at the first
difference (a new, changed, missing or renamed file, rows of its own to add, a cancel) the rows shared so far are
copied into the scan (`materialize`) and it goes on as any other scan.

Why the rows are the same: a holder row came from the cache, as the rescan's copy would (`store_copy`): score, size,
format, error and finding are the cache entry of the same key and digest; the verdict, reason and evidence the same
rule gave for the same options. The rule is stamped on each scan and only equal stamps share.

The database, not this process, says what a scan shares: readers resolve a scan to its rows with `rows_of` and
`rows_upto`; deleting or reopening a holder first gives its rows to the oldest finished scan sharing them
(`rehome`), and copies into any unfinished one the rows it had shared, so another process's scan that was following
it simply finds it no longer shares and copies from the cache from there on.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

from desktop.core.scan.store_copy import ROW_COLUMNS, CopySummary
from desktop.core.scan.store_rows import db_path

# a scan's rows (its own, or those it shares), for the scan ?1; and in a query of `scans` (results as r)
ROWS_OF = ("FROM results WHERE scan_id = COALESCE((SELECT rows_of FROM scans WHERE id = ?1), ?1)"
           " AND id <= COALESCE((SELECT rows_upto FROM scans WHERE id = ?1), 9223372036854775807)")
ROWS_OF_SCAN = ("FROM results r WHERE r.scan_id = COALESCE(scans.rows_of, scans.id)"
                " AND r.id <= COALESCE(scans.rows_upto, 9223372036854775807)")
# every column of a row but its scan (a holder's rows are all cached: copies of them are too)
_COPY = (f"INSERT INTO results (scan_id, {ROW_COLUMNS}) SELECT ?, {ROW_COLUMNS} FROM results WHERE scan_id = ?"
         " AND id <= ? ORDER BY id")
_STATE = "SELECT rows_of, rows_upto FROM scans WHERE id = ?"
# the newest finished scan this one repeats; its rows' holder
_REPEATS = ("SELECT COALESCE(rows_of, id) FROM scans WHERE id < ? AND status = 'finished' AND paths = ?"
            " AND model_digest = ? AND options = ? AND rule = ? ORDER BY id DESC LIMIT 1")
# a chunk shared: recorded only if the scan still shares what it did (another process may have changed that)
_ADVANCE = ("UPDATE scans SET rows_of = ?1, rows_upto = ?2 WHERE id = ?3 AND rows_of IS ?4 AND rows_upto IS ?5"
            " AND EXISTS (SELECT 1 FROM results WHERE scan_id = ?1 AND id = ?2)")


def find_holder(db: sqlite3.Connection, scan_id: int) -> int | None:
    """The scan whose rows `scan_id` (just begun, no rows) may share: the newest finished scan with the same
    paths, model digest, options and rule, as long as every one of its rows came from the cache (a first
    scan's rows did not: a copy of them would say `cached`)."""
    mine = db.execute("SELECT paths, model_digest, options, rule FROM scans WHERE id = ?", (scan_id,)).fetchone()
    if mine is None or mine[3] is None:
        return None
    found = db.execute(_REPEATS, (scan_id, *mine)).fetchone()
    if found is None:
        return None
    holder = int(found[0])
    total, decoded = db.execute("SELECT COUNT(*), TOTAL(cached = 0) FROM results WHERE scan_id = ?",
                                (holder,)).fetchone()
    return holder if total and not decoded else None


def follow(db: sqlite3.Connection, scan_id: int, first_chunk: bool, keys: Sequence[tuple[str, int, int]]
           ) -> tuple[int, int, int, list[tuple[Any, ...]], CopySummary] | None:
    """The holder's next rows if they are the rows of exactly `keys`, recorded as shared (one transaction): the
    first and last result id, the holder, the rows (ROW_COLUMNS) and their counts; None when they are not (or the
    scan no longer shares), nothing recorded."""
    if first_chunk:
        holder, upto = find_holder(db, scan_id), None
    else:
        holder, upto = db.execute(_STATE, (scan_id,)).fetchone() or (None, None)
    if holder is None or not keys:
        return None
    rows = db.execute(f"SELECT id, {ROW_COLUMNS} FROM results WHERE scan_id = ? AND id > ? ORDER BY id LIMIT ?",
                      (holder, upto or 0, len(keys))).fetchall()
    wanted = {path if path.isascii() else db_path(path): (size, mtime_ns) for path, size, mtime_ns in keys}
    if len(wanted) != len(keys) or len(rows) != len(keys) or any(wanted.get(r[1]) != (r[7], r[8]) for r in rows):
        return None
    last = rows[-1][0]
    with db:
        if db.execute(_ADVANCE, (holder, last, scan_id, None if first_chunk else holder, upto)).rowcount != 1:
            return None
    return rows[0][0], last, holder, [r[1:] for r in rows], _counts(rows)


def _counts(rows: list[tuple[Any, ...]]) -> CopySummary:
    """What rows (id, ROW_COLUMNS) count, as the copy counts them."""
    verdicts: Counter[str] = Counter()
    by_model: Counter[str] = Counter()
    errors = by_evidence = 0
    for r in rows:
        if r[2] is None:  # no score: a decode error
            errors += 1
            continue
        verdicts[r[3]] += 1
        by_model[r[14]] += 1
        by_evidence += not (r[16] or "").startswith("model")
    return CopySummary(errors, dict(verdicts), dict(by_model), by_evidence)


def materialize(db: sqlite3.Connection, scan_id: int) -> None:
    """A scan that shares rows gets copies of them, and shares no more (the caller commits)."""
    holder, upto = db.execute(_STATE, (scan_id,)).fetchone() or (None, None)
    if holder is not None:
        db.execute(_COPY, (scan_id, holder, upto))
        db.execute("UPDATE scans SET rows_of = NULL, rows_upto = NULL WHERE id = ?", (scan_id,))


def finish(db: sqlite3.Connection, scan_id: int, status: str) -> None:
    """A scan that finished with every row of its holder matched keeps sharing them; any other gets copies of the
    rows it shared (the caller commits)."""
    holder, upto = db.execute(_STATE, (scan_id,)).fetchone() or (None, None)
    if holder is None:
        return
    done = db.execute("SELECT NOT EXISTS (SELECT 1 FROM results WHERE scan_id = ?1 AND id > ?2) AND EXISTS"
                      " (SELECT 1 FROM scans WHERE id = ?1 AND rows_of IS NULL AND status = 'finished')",
                      (holder, upto)).fetchone()[0]
    if status != "finished" or not done:
        materialize(db, scan_id)


def rehome(db: sqlite3.Connection, scan_id: int) -> int | None:
    """Before `scan_id`'s rows are deleted or change: a scan sharing them that has not finished gets copies of the
    rows it shared; the oldest finished one takes the rows, and the other finished ones share that one's. The heir
    (None when no finished scan shares them); the caller commits."""
    for (follower,) in db.execute("SELECT id FROM scans WHERE rows_of = ? AND status != 'finished'",
                                  (scan_id,)).fetchall():
        materialize(db, follower)
    heir: int | None = db.execute("SELECT MIN(id) FROM scans WHERE rows_of = ?", (scan_id,)).fetchone()[0]
    if heir is not None:
        db.execute("UPDATE results SET scan_id = ? WHERE scan_id = ?", (heir, scan_id))
        db.execute("UPDATE scans SET rows_of = NULL, rows_upto = NULL WHERE id = ?", (heir,))
        db.execute("UPDATE scans SET rows_of = ? WHERE rows_of = ?", (heir, scan_id))
    return heir


def own_rows(db: sqlite3.Connection, scan_id: int) -> None:
    """Before a scan's rows change (it is resumed): it holds rows of its own, and no other scan shares them. The
    caller commits."""
    heir = rehome(db, scan_id)
    if heir is not None:  # its rows went to the heir: it takes copies back
        db.execute("UPDATE scans SET rows_of = ?1, rows_upto = (SELECT MAX(id) FROM results WHERE scan_id = ?1)"
                   " WHERE id = ?2", (heir, scan_id))
    materialize(db, scan_id)


class Sharing:
    """The scans this process began with a rule that may still share rows: none of their own written yet. A scan
    is undecided until its first cached chunk, then follows a holder or never shares."""

    def __init__(self) -> None:
        self._scans: dict[int, bool] = {}  # scan id -> its first chunk was seen

    def begun(self, scan_id: int) -> None:
        self._scans[scan_id] = False

    def chunk(self, db: sqlite3.Connection, scan_id: int, keys: Sequence[tuple[str, int, int]]
              ) -> tuple[int, int, int, list[tuple[Any, ...]], CopySummary] | None:
        """`keys` answered by shared rows (see `follow`), or None when the scan does not (or no longer) share: the
        rows it shared so far are then copied into it (one transaction)."""
        if scan_id not in self._scans:
            return None
        got = follow(db, scan_id, not self._scans[scan_id], keys)
        self._scans[scan_id] = True
        if got is None:
            with db:
                materialize(db, scan_id)
            del self._scans[scan_id]
        return got

    def stop(self, scan_id: int) -> None:
        """The scan writes rows of its own from now on (the store copies what it shared first)."""
        self._scans.pop(scan_id, None)
