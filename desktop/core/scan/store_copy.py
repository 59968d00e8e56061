"""A cached rescan inside SQLite: the walked files' keys go into a temporary table, the cache entries that match
them are copied into the new scan's results by one `INSERT … SELECT` (per model, when routing), and the rows
come back only to a consumer that asks (`StoredRows`): as `ScanRow`s (the app), or straight as output values
(the CLI's CSV/JSON).

The verdict of a copied row is still `verdicts.decide`, the one rule every path uses: SQLite calls it back per
row as a function (`Decide`), so nothing of the rule is restated in SQL.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, overload

from desktop.core.scan.events import ScanRow
from desktop.core.scan.export import readable
from desktop.core.scan.store_rows import db_path, py_path, unpack_patch_map

_WALKED = ("CREATE TEMP TABLE IF NOT EXISTS walked (i INTEGER PRIMARY KEY, path NOT NULL, size INTEGER,"
           " mtime_ns INTEGER, done INTEGER NOT NULL DEFAULT 0)")
_SCORED = "CASE WHEN c.score IS NULL THEN NULL ELSE {} END"  # a cached decode error has no model, verdict or reason
_ARGS = "?2, c.score, c.width, c.height, c.finding"
# the walked files not yet copied that the cache has under one digest (?3, the model ?2), in walk order
_COPY = ("INSERT INTO results (scan_id, path, score, verdict, reason, evidence, model, width, height, format, size,"
         " mtime_ns, error, patch_map, patch_rows, patch_cols, cached) SELECT ?1, w.path, c.score,"
         f" {_SCORED.format(f'pp_verdict({_ARGS})')}, {_SCORED.format(f'pp_reason({_ARGS})')},"
         f" {_SCORED.format(f'pp_evidence({_ARGS})')}, {_SCORED.format('?2')}, c.width, c.height, c.format, w.size,"
         " w.mtime_ns, c.error, c.patch_map, c.patch_rows, c.patch_cols, 1 FROM walked w"
         " JOIN cache c ON c.model_digest=?3 AND c.path=w.path AND c.size=w.size AND c.mtime_ns=w.mtime_ns"
         # an image this scan routes to another model is not answered by this one's entry (a scan with --model
         # may have cached it); a decode error (no size) answers for every model
         " WHERE w.done = 0 AND (c.width IS NULL OR pp_routes(?2, c.width, c.height)) ORDER BY w.i")
_RANGE = "FROM results WHERE scan_id=? AND id BETWEEN ? AND ? ORDER BY id"
ROW_COLUMNS = ("path, score, verdict, width, height, format, size, mtime_ns, error, patch_map, patch_rows,"
               " patch_cols, cached, model, evidence, reason")
# what the output needs, in export.COLUMNS order (cached is always true here; path_hex comes from path)
OUT_COLUMNS = "path, score, verdict, model, reason, evidence, error, width, height, format, size, mtime_ns"
_MARK = "UPDATE walked SET done = 1 WHERE path IN (SELECT path FROM results WHERE scan_id=? AND id BETWEEN ? AND ?)"



class CopySummary(NamedTuple):
    """What the copied rows count, as the engine and the CLI's summary count rows."""

    errors: int
    verdicts: dict[str, int]
    by_model: dict[str, int]
    by_evidence: int  # decided by the file's own provenance evidence (reason not the model's)


Verdict = Callable[[float], tuple[str, str]]  # score -> (verdict, reason), for one model, size and finding


class Decide:
    """The verdict rule as SQLite functions of (model, score, width, height, finding_json): `pp_verdict`,
    `pp_reason`, `pp_evidence`. `prepare(model, width, height, finding_json)` gives the rule for the score
    (`verdicts.decide` with that model's bands, trust and domain and that finding) and `evidence(finding_json)`
    the finding's text; both are asked once per distinct key (a tree has few sizes and findings). The rule runs
    once per row (reason and evidence reuse the verdict's answer), and counts what it decides. `pp_routes`:
    whether the scan sends an image of a size to a model (`routes`, asked once per model and size)."""

    def __init__(self, prepare: Callable[[str, int | None, int | None, str | None], Verdict],
                 evidence: Callable[[str | None], str | None],
                 routes: Callable[[str, int, int], bool] = lambda model, width, height: True) -> None:
        self._prepare = prepare
        self._evidence = evidence
        self._routes = routes
        self._routed: dict[tuple[str, int, int], bool] = {}
        self._prepared: dict[tuple[Any, ...], tuple[Verdict, str | None]] = {}
        self._last: tuple[Any, ...] = ()
        self._answer: tuple[str, str, str | None] = ("", "", None)
        self.reset()

    def reset(self) -> None:
        self.tally: dict[tuple[str, str, bool], int] = {}  # (model, verdict, decided by evidence) -> rows

    def _decide(self, args: tuple[Any, ...]) -> tuple[str, str, str | None]:
        """(verdict, reason, evidence) of one row's (model, score, width, height, finding), kept as the last answer."""
        model, score, width, height, finding = args
        key = (model, width, height, finding)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = (self._prepare(model, width, height, finding), self._evidence(finding))
        self._last, self._answer = args, (*prepared[0](score), prepared[1])
        return self._answer

    def verdict(self, *args: Any) -> str:
        verdict, reason, _ = self._decide(args)
        counted = (args[0], verdict, not reason.startswith("model"))  # every row passes here once
        self.tally[counted] = self.tally.get(counted, 0) + 1
        return verdict

    def _same(self, args: tuple[Any, ...]) -> tuple[str, str, str | None]:
        # SQLite asked for another column first: decide it here (uncounted)
        return self._answer if args == self._last else self._decide(args)

    def reason(self, *args: Any) -> str:
        return self._same(args)[1]

    def evidence(self, *args: Any) -> str | None:
        return self._same(args)[2]

    def summary(self, copied: int) -> CopySummary:
        """What the `copied` rows since `reset` count (those not scored are cached decode errors)."""
        verdicts: Counter[str] = Counter()
        by_model: Counter[str] = Counter()
        for (model, verdict, _), n in self.tally.items():
            verdicts[verdict] += n
            by_model[model] += n
        return CopySummary(copied - sum(by_model.values()), dict(verdicts), dict(by_model),
                           sum(n for (_, _, decided), n in self.tally.items() if decided))

    def routes(self, model: str, width: int, height: int) -> bool:
        """Whether this scan sends an image of this size to `model` (asked once per model and size)."""
        key = (model, width, height)
        if key not in self._routed:
            self._routed[key] = self._routes(model, width, height)
        return self._routed[key]

    def register(self, db: sqlite3.Connection) -> None:
        db.create_function("pp_routes", 3, self.routes)
        db.create_function("pp_verdict", 5, self.verdict)
        db.create_function("pp_reason", 5, self.reason)
        db.create_function("pp_evidence", 5, self.evidence)


def copy_cached(db: sqlite3.Connection, scan_id: int, keys: Sequence[tuple[str, int, int]],
                digests: Sequence[tuple[str, str]], rule: Decide) -> tuple[int, int, set[str], CopySummary]:
    """Copy the cached results of `keys` (path, size, mtime_ns; in walk order) into scan `scan_id`, trying each
    (digest, model name) in order (a file is answered by the first that has it; rows come in walk order per
    model). One transaction. Returns the first and last result id written (0, -1 when none), the paths that
    were not cached and what the copied rows count."""
    db.execute(_WALKED)
    rule.register(db)
    rule.reset()
    first, last, copied = 0, -1, 0
    with db:
        db.execute("DELETE FROM walked")
        db.executemany("INSERT INTO walked (i, path, size, mtime_ns) VALUES (?, ?, ?, ?)",
                       [(i, p if p.isascii() else db_path(p), s, m) for i, (p, s, m) in enumerate(keys)])
        for n, (digest, model) in enumerate(digests):
            cur = db.execute(_COPY, (scan_id, model, digest))
            if cur.rowcount > 0:
                last = int(cur.lastrowid or 0)
                first = first or last - cur.rowcount + 1
                copied += cur.rowcount
            if copied >= len(keys):
                break
            if cur.rowcount > 0 and n + 1 < len(digests):
                db.execute(_MARK, (scan_id, last - cur.rowcount + 1, last))
        missing: set[str] = set()
        if copied < len(keys):
            if copied:
                db.execute(_MARK, (scan_id, first, last))
            missing = {py_path(p) for (p,) in db.execute("SELECT path FROM walked WHERE done = 0")}
    return first, last, missing, rule.summary(copied)


class StoredRows(Sequence[ScanRow]):
    """Rows already in the store (result ids `first`..`last` of one scan), read back only when asked: iterated
    or indexed they are `ScanRow`s (read once, then kept); `output_values()` gives the export columns without
    making them. `summary` counts them. Reads through `read`, which gives the calling thread's connection;
    `fetched`: the rows' ROW_COLUMNS when the store has already read them (then nothing is read again)."""

    def __init__(self, read: Callable[[], sqlite3.Connection], scan_id: int, first: int, last: int,
                 summary: CopySummary, fetched: list[tuple[Any, ...]] | None = None) -> None:
        self._read = read
        self.scan_id, self.first, self.last = scan_id, first, last
        self.summary = summary
        self._fetched = fetched
        self._rows: list[ScanRow] | None = None

    def __len__(self) -> int:
        return self.last - self.first + 1

    @overload
    def __getitem__(self, index: int) -> ScanRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[ScanRow]: ...
    def __getitem__(self, index: int | slice) -> ScanRow | list[ScanRow]:
        return self.materialize()[index]

    def __iter__(self) -> Iterator[ScanRow]:
        return iter(self.materialize())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StoredRows(scan {self.scan_id}, results {self.first}..{self.last})"

    def materialize(self) -> list[ScanRow]:
        if self._rows is None:
            cur: Iterable[tuple[Any, ...]] | None = self._fetched
            if cur is None:
                cur = self._read().execute(f"SELECT {ROW_COLUMNS} {_RANGE}", (self.scan_id, self.first, self.last))
            self._rows = [ScanRow(py_path(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                                  unpack_patch_map(r[9], r[10], r[11]), bool(r[12]), r[13], r[14], r[15]) for r in cur]
        return self._rows

    def output_values(self) -> list[tuple[Any, ...]]:
        """`export.row_values` of each row, from the store directly (a rescan's CSV is most of its work)."""
        cur: Iterable[tuple[Any, ...]]
        if self._fetched is not None:  # ROW_COLUMNS, as OUT_COLUMNS
            cur = [(r[0], r[1], r[2], r[13], r[15], r[14], r[8], r[3], r[4], r[5], r[6], r[7]) for r in self._fetched]
        else:
            cur = self._read().execute(f"SELECT {OUT_COLUMNS} {_RANGE}", (self.scan_id, self.first, self.last))
        return [(p, None if s is None else round(s, 6), v, m, r, e, err, w, h, f, size, mtime, True, None)
                if p.__class__ is str and p.isascii() else _slow_values(p, s, v, m, r, e, err, w, h, f, size, mtime)
                for p, s, v, m, r, e, err, w, h, f, size, mtime in cur]


def _slow_values(p: str | bytes, s: float | None, *rest: Any) -> tuple[Any, ...]:
    """A row whose path is not ASCII (or not UTF-8: stored as bytes): written as `export.row_values` writes it."""
    from desktop.core.scan.export import path_hex

    path = py_path(p)
    return (readable(path), None if s is None else round(s, 6), *rest, True, path_hex(path) or None)
