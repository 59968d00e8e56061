"""A rescan of a tree exactly as an earlier rescan left it shares that scan's rows (desktop/core/scan/store_shared.py):
same rows, counts and output as a scan that copies them, nothing written per file, and every reader (history,
counts, resume, delete) sees the rows; any difference in the tree falls back to copying."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.models.catalog import inspect_model
from desktop.core.models.routing import Router
from desktop.core.scan import engine, verdicts
from desktop.core.scan.events import RowsReady, ScanEvent, ScanOptions, ScanRow, ScanStarted
from desktop.core.scan.store import ResultStore
from desktop.core.scan.store_copy import StoredRows
from tests.core.test_rescan_in_store import _by_path, _png, _scan, _tree, routed_models


@pytest.fixture
def router(tmp_path: Path) -> Router:
    return Router.load([inspect_model(p, "bundled") for p in routed_models(tmp_path / "models")], device="cpu")


def _own_rows(store: ResultStore) -> dict[int, int]:
    db = sqlite3.connect(store.path)
    try:
        return dict(db.execute("SELECT scan_id, COUNT(*) FROM results GROUP BY scan_id").fetchall())
    finally:
        db.close()


def _rows_of(store: ResultStore, scan_id: int) -> int | None:
    db = sqlite3.connect(store.path)
    try:
        return db.execute("SELECT rows_of FROM scans WHERE id = ?", (scan_id,)).fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "LOOKUP_CHUNK", 5)  # a small tree in several walked chunks


def test_a_repeated_rescan_shares_the_rows_and_readers_see_them(tmp_path: Path, router: Router,
                                                                 store: ResultStore, chunks: None) -> None:
    tree = _tree(tmp_path / "tree")
    first, first_done, _ = _scan([tree], router, store)
    copied, copied_done, _ = _scan([tree], router, store)  # the first scan decoded: its rows are not shared
    shared, shared_done, batches = _scan([tree], router, store)
    assert _own_rows(store) == {first_done.scan_id: 29, copied_done.scan_id: 29}  # nothing written for the third
    assert _rows_of(store, shared_done.scan_id) == copied_done.scan_id
    assert len(batches) == 6 and all(isinstance(b.rows, StoredRows) for b in batches)
    assert [r.path for r in shared] == [r.path for r in copied]  # walk order
    assert shared == copied and all(r.cached for r in shared)
    assert _by_path(shared) == _by_path(first)
    assert (shared_done.done, shared_done.errors, shared_done.counts) == (29, copied_done.errors, copied_done.counts)
    assert store.rows(shared_done.scan_id) == store.rows(copied_done.scan_id)
    record = store.get_scan(shared_done.scan_id)
    assert record is not None and (record.status, record.done, record.errors) == ("finished", 29, first_done.errors)
    assert [r.done for r in store.list_scans()] == [29, 29, 29]
    # a fourth shares the same rows (never a chain)
    fourth, fourth_done, _ = _scan([tree], router, store)
    assert _rows_of(store, fourth_done.scan_id) == copied_done.scan_id and fourth == copied


def _four_scans(tree: Path, router: Router, store: ResultStore) -> tuple[list[ScanRow], int, int, int]:
    """A first scan, a rescan that copies (the holder), and two that share its rows: (its rows, the three ids)."""
    _scan([tree], router, store)
    copied, done, _ = _scan([tree], router, store)
    third = _scan([tree], router, store)[1].scan_id
    fourth = _scan([tree], router, store)[1].scan_id
    assert _rows_of(store, third) == _rows_of(store, fourth) == done.scan_id
    return copied, done.scan_id, third, fourth


def test_deleting_the_scan_that_holds_shared_rows_leaves_them_to_the_others(tmp_path: Path, router: Router,
                                                                            store: ResultStore) -> None:
    copied, holder, third, fourth = _four_scans(_tree(tmp_path / "tree"), router, store)
    store.delete_scan(holder)
    assert store.get_scan(holder) is None
    assert store.rows(third) == store.rows(fourth) == copied
    assert _rows_of(store, third) is None and _rows_of(store, fourth) == third
    store.delete_scan(third)
    assert store.rows(fourth) == copied and _rows_of(store, fourth) is None
    record = store.get_scan(fourth)
    assert record is not None and record.done == 29


def test_a_shared_scan_that_is_reopened_gets_rows_of_its_own(tmp_path: Path, router: Router,
                                                             store: ResultStore) -> None:
    copied, holder, third, fourth = _four_scans(_tree(tmp_path / "tree"), router, store)
    assert store.reopen_scan(third, "cpu") == {r.path for r in copied}
    assert _rows_of(store, third) is None and store.rows(third) == copied
    assert _own_rows(store)[third] == 29
    # the holder reopened: the scans that shared its rows keep them as they were
    store.reopen_scan(holder, "cpu")
    assert store.rows(fourth) == store.rows(holder) == copied
    assert _rows_of(store, fourth) is None and _rows_of(store, holder) is None  # the fourth took them
    assert _own_rows(store)[fourth] == _own_rows(store)[holder] == 29


@pytest.mark.parametrize("change", ["changed", "added", "removed", "renamed"])
def test_a_tree_that_changed_is_copied_not_shared(tmp_path: Path, router: Router, store: ResultStore,
                                                  chunks: None, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree(tmp_path / "tree")
    _scan([tree], router, store)
    _scan([tree], router, store)
    target = tree / "d2" / "thumb05.png"  # in the middle of the walk
    if change == "changed":
        _png(target, (32, 24), 3)
        os.utime(target, ns=(1, 1_000_000_000))
    elif change == "added":
        _png(tree / "zz-last.png", (32, 24), 3)  # after every other file
    elif change == "removed":
        target.unlink()
    else:
        target.rename(tree / "d2" / "thumb05b.png")
    twin = ResultStore(tmp_path / "twin.sqlite3")  # the store as it is now, for a scan that never shares
    with sqlite3.connect(store.path) as src, sqlite3.connect(twin.path) as dst:
        src.backup(dst)
    rows, done, _ = _scan([tree], router, store)
    assert _rows_of(store, done.scan_id) is None
    assert _own_rows(store)[done.scan_id] == done.done == len(rows)
    assert store.rows(done.scan_id) == rows
    decoded, _, _ = _scan([tree], router, store, ScanOptions(use_cache=False))
    assert _by_path(rows) == _by_path(decoded)
    monkeypatch.setattr(engine, "RULE_VERSION", None)  # copies every cached row, decodes the rest
    copied, _, _ = _scan([tree], router, twin)
    twin.close()
    assert rows == copied  # in the same order


def test_a_scan_with_fewer_files_at_the_end_or_cancelled_keeps_what_it_shared(tmp_path: Path, router: Router,
                                                                              store: ResultStore,
                                                                              chunks: None) -> None:
    tree = _tree(tmp_path / "tree")
    _scan([tree], router, store)
    copied, _, _ = _scan([tree], router, store)
    last = Path(copied[-1].path)
    last.unlink()  # every chunk still matches, but the holder has one row more
    rows, done, _ = _scan([tree], router, store)
    assert _rows_of(store, done.scan_id) is None and store.rows(done.scan_id) == copied[:-1] == rows
    # cancelled after two chunks while sharing: the rows it reported are its own
    asked = iter(range(10_000))
    events = list(engine.scan([tree], router, store=store, should_stop=lambda: next(asked) > 4))
    started = events[0]
    assert isinstance(started, ScanStarted)
    scan_id = started.scan_id
    reported = [r for e in events if isinstance(e, RowsReady) for r in e.rows]
    assert store.get_scan(scan_id).status == "cancelled"  # type: ignore[union-attr]
    assert 10 <= len(reported) < 28 and store.rows(scan_id) == reported and _rows_of(store, scan_id) is None
    assert _by_path(reported).items() <= _by_path(copied).items()


def test_other_options_paths_or_no_rule_never_share(tmp_path: Path, router: Router, store: ResultStore,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree(tmp_path / "tree")
    _scan([tree], router, store)
    _scan([tree], router, store)
    other = _scan([tree], router, store, ScanOptions(threshold=0.3))[1].scan_id
    assert _rows_of(store, other) is None
    again = _scan([tree], router, store, ScanOptions(threshold=0.3))[1].scan_id
    assert _rows_of(store, again) == other  # its own kind: shared
    subset = _scan([tree / "d1"], router, store)[1].scan_id
    assert _rows_of(store, subset) is None
    monkeypatch.setattr(engine, "RULE_VERSION", None)  # an older app's scans: no rule recorded
    ruleless = _scan([tree], router, store)[1].scan_id
    assert _rows_of(store, ruleless) is None and _own_rows(store)[ruleless] == 29


def _rule_answers() -> str:
    """Every answer of the verdict rule on a grid of scores, bands, trust, domain and findings, and of what a copied
    row's verdict also rests on: the domain test of a size and the finding kept in the cache (as JSON)."""
    from desktop.core.models.contract import Domain, Thresholds, Trust

    answers: list[object] = []
    for domain in (Domain((1, 64)), Domain((65, None)), Domain((None, None))):
        answers += [domain.contains(w, h) for w, h in ((1, 1), (64, 30), (30, 65), (65, 65), (4000, 3000))]
    bands = [Thresholds(0.5, 0.1, 0.3, 0.7, 0.9), Thresholds(0.4, 0.05, 0.2, 0.6, 0.95)]
    findings = [None, verdicts.Finding(), verdicts.Finding(camera=True, summary="EXIF camera: X"),
                verdicts.Finding("ai", "C2PA: declares trainedAlgorithmicMedia (X)", "C2PA: X")]
    for score in (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0):
        for t in bands:
            for trust in (Trust(), Trust(0.8, "x", "likely")):
                for in_domain in (True, False):
                    for finding in findings:
                        for user in (None, 0.3, 0.8):
                            answers.append(verdicts.decide(score, t, trust, in_domain, finding, user))
    for finding in findings[1:]:  # what a cached row's evidence and rule read back
        again = verdicts.Finding.from_json(finding.to_json())
        answers += [again, again and again.summary]
    return hashlib.sha256(repr(answers).encode()).hexdigest()[:16]


def test_the_rule_version_names_the_rules_answers() -> None:
    # Scans share rows only under the same RULE_VERSION. If this fails, the rule's answers changed: bump
    # verdicts.RULE_VERSION (rows decided by the old rule must not be shared) and put the new fingerprint here.
    assert (verdicts.RULE_VERSION, _rule_answers()) == ("1", "3931360097dbdd56")


def _sharing_midway(tree: Path, router: Router, store: ResultStore, chunks: int
                    ) -> tuple[list[ScanRow], int, Iterator[ScanEvent], int, list[ScanRow]]:
    """A first scan, a rescan (the holder), and a third scan stopped after `chunks` shared chunks: the holder's rows
    and id, the third scan's events (to go on with), its id and the rows it reported so far."""
    _scan([tree], router, store)
    copied, holder, _ = _scan([tree], router, store)
    events = engine.scan([tree], router, store=store)
    started = next(events)
    assert isinstance(started, ScanStarted)
    reported: list[ScanRow] = []
    for e in events:
        if isinstance(e, RowsReady):
            reported += e.rows
            chunks -= 1
            if not chunks:
                break
    return copied, holder.scan_id, events, started.scan_id, reported


def test_a_scan_killed_while_sharing_keeps_every_row_it_reported(tmp_path: Path, router: Router, store: ResultStore,
                                                                  chunks: None) -> None:
    _, holder, events, scan_id, reported = _sharing_midway(_tree(tmp_path / "tree"), router, store, 2)
    # as another process sees the store now (this one could be killed here): the rows it reported
    other = ResultStore(store.path)
    try:
        assert other.rows(scan_id) == reported and len(reported) == 10
        assert _rows_of(store, scan_id) == holder
    finally:
        other.close()
    events.close()  # the consumer gave up: the scan is interrupted and keeps copies of those rows
    assert store.get_scan(scan_id).status == "interrupted"  # type: ignore[union-attr]
    assert store.rows(scan_id) == reported and _rows_of(store, scan_id) is None
    assert _own_rows(store)[scan_id] == 10


def test_the_holder_deleted_by_another_process_midway_loses_no_row(tmp_path: Path, router: Router,
                                                                    store: ResultStore, chunks: None) -> None:
    copied, holder, events, scan_id, first = _sharing_midway(_tree(tmp_path / "tree"), router, store, 2)
    other = ResultStore(store.path)
    try:
        other.delete_scan(holder)  # the History's delete, in another process
    finally:
        other.close()
    rest = [r for e in events if isinstance(e, RowsReady) for r in e.rows]
    done = store.get_scan(scan_id)
    assert done is not None and (done.status, done.done) == ("finished", 29)
    assert store.rows(scan_id) == first + rest and _by_path(first + rest) == _by_path(copied)
    assert _rows_of(store, scan_id) is None and _own_rows(store)[scan_id] == 29


def test_a_failed_finish_can_be_retried_without_losing_the_shared_rows(tmp_path: Path, router: Router,
                                                                       store: ResultStore,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.core.scan import store_shared
    from desktop.core.scan.store_errors import StoreError

    copied, _, events, scan_id, reported = _sharing_midway(_tree(tmp_path / "tree"), router, store, 1)
    real = store_shared.finish

    def full_disk(db: sqlite3.Connection, scan_id: int, status: str) -> None:
        real(db, scan_id, status)  # the copy is made, then the transaction fails
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_shared, "finish", full_disk)
    with pytest.raises(StoreError):
        events.close()
    monkeypatch.setattr(store_shared, "finish", real)
    store.finish_scan(scan_id, "interrupted")  # what a later close or --resume does
    assert store.rows(scan_id) == reported == copied[:len(reported)]
    assert _own_rows(store)[scan_id] == len(reported) and _rows_of(store, scan_id) is None


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def test_a_database_from_before_gains_the_new_columns_and_reads_as_before(tmp_path: Path) -> None:
    from desktop.core.scan.store_rows import ADDED_COLUMNS, SCHEMA

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)  # then without any column added after the first release, as that release made it
    for table, column, _ in ADDED_COLUMNS:
        if column in _columns(old, table):
            old.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    old.execute("INSERT INTO scans (started_at, status, paths, model_name, model_path, model_digest, device, options)"
                " VALUES (1, 'finished', ?, 'm', 'm.onnx', 'd', 'cpu', '{}')", ('["/x"]',))
    old.execute("INSERT INTO results (scan_id, path, score, verdict, cached) VALUES (1, '/x/a.png', 0.9, 'ai', 0)")
    old.commit()
    old.close()
    store = ResultStore(path)
    try:
        db = sqlite3.connect(path)
        try:
            for table, column, _ in ADDED_COLUMNS:
                assert column in _columns(db, table)
        finally:
            db.close()
        record = store.get_scan(1)
        assert record is not None and record.done == 1
        assert [(r.path, r.verdict) for r in store.rows(1)] == [("/x/a.png", "ai")]
    finally:
        store.close()
