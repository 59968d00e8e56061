"""The scan: a plain generator of events (docs/engine-api.md), driven by the CLI and by Qt alike.

Pipeline: the folder walk runs lazily in the caller's thread; files whose (path, size, mtime_ns)
is cached for this model become rows without being opened; the others go to a thread pool in
tasks of one or more files, kept in a bounded window of futures. Pillow and onnxruntime both
release the GIL, so the pool's threads really run in parallel.

Where inference runs depends on the device:
- CPU with two or more workers: each task decodes its files and scores them itself, on a
  single-threaded session, so every core decodes and infers its own files. (Small convolutions
  split across cores inside one call wait on each other, and on a few cores the decode threads and
  onnxruntime's own threads would fight over them; this arrangement has neither problem.)
- GPU, or a single worker: the tasks only decode; the caller's thread sends full batches of crops
  to the device (or to the CPU session, which then uses all cores).
Every batch of rows is committed to the store before it is yielded.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from desktop.core.models.contract import ModelContract, Thresholds, remap_thresholds
from desktop.core.models.detector import Detector, first_line
from desktop.core.models.routing import AnyDetector
from desktop.core.scan.events import (
    Progress,
    RowsReady,
    ScanEvent,
    ScanFinished,
    ScanOptions,
    ScanRow,
    ScanStarted,
    TotalCounted,
)
from desktop.core.scan.store import ResultStore
from desktop.core.scan.store_copy import Decide, StoredRows
from desktop.core.scan.verdicts import RULE_VERSION, Finding, assess, decide
from desktop.core.scan.walk import BackgroundCount, Skipped, iter_image_files

if TYPE_CHECKING:  # decoding (Pillow, numpy) and the pool come with the first file to decode, not in a cached rescan
    from concurrent.futures import Future, ThreadPoolExecutor

    import numpy as np
    from PIL import Image

    from desktop.core.scan.decode import Chooser, Decoded

LOOKUP_CHUNK = 500  # files stat'ed and copied from the cache per transaction (store_copy.py)
# Small files decode in well under a millisecond, less than handing one task to a thread costs,
# so files are decoded (and on the CPU scored, in one call) in groups sized to take about TASK_SECONDS;
# a large photo is a task alone. 0.04 s rather than 0.01: 2,000 CIFAR JPEGs, default scan, 2 cores:
# 285-292 images/s against 252-256 (fewer, larger onnxruntime calls and hand-offs between threads).
TASK_SECONDS = 0.04
MAX_FILES_PER_TASK = 32
COUNT_DELAY_S = 0.25  # a scan over sooner (a small or fully cached tree) never counts its files
MAX_ROW_DELAY_S = 0.2  # report decoded rows at least this often, even in part batches
ROWS_PER_COMMIT = 128


Scored = tuple[ScanRow, bool]  # a finished row and whether the cache may keep it
_Done = tuple[list["Decoded"], list[Scored] | None, float]  # a pool task's result: see _decode_many


def _finding(path: Path, img: Image.Image, info: dict[Any, Any], fh: IO[bytes]) -> Finding | None:
    """The file's evidence (metadata only), read from the file decode has open."""
    from desktop.core.scan.evidence import evidence_of_open_file

    return assess(evidence_of_open_file(path, img, info, fh))


def load_image(path: str, contract: ModelContract | Chooser) -> Decoded:
    """`decode.load_image` with the file's evidence, from one open file; imported with the first file to
    decode (a cached rescan needs no image library)."""
    from desktop.core.scan.decode import load_image as load

    return load(path, contract, _finding)


def decode_file(path: str, detector: AnyDetector) -> Decoded:
    """One file read, decoded and fed for `detector`, with its evidence: what every engine scores."""
    return load_image(path, detector.contract_for)


def member_thresholds(detector: AnyDetector, user_threshold: float | None) -> dict[str, Thresholds]:
    """Each member's bands moved to the user's threshold, by member name."""
    return {m.name: remap_thresholds(m.thresholds, user_threshold) for m in detector.members}


def row_verdict(thresholds: dict[str, Thresholds], score: float, member: Detector, width: int | None,
                height: int | None, finding: Finding | None) -> tuple[str, str]:
    in_domain = width is None or height is None or member.in_domain(width, height)
    return decide(score, thresholds[member.name], member.contract.trust, in_domain, finding)


def rows_from_decoded(detector: AnyDetector, thresholds: dict[str, Thresholds], decoded: list[Decoded],
                      single_thread: bool = False) -> list[ScanRow]:
    """The rows for decoded files: each group scored by the member it was fed for, the verdict from that
    member's bands, trust and domain and the file's evidence (shared by the local and Ray engines)."""
    groups: dict[str, list[Decoded]] = {}  # by the model each file was fed for
    for d in decoded:
        if d.crops is not None:
            groups.setdefault(d.model or "", []).append(d)
    outputs: dict[str, tuple[float, np.ndarray | None]] = {}
    failure: str | None = None
    for name, ok in groups.items():
        try:
            results = detector.member(name).score_images(
                [d.crops for d in ok if d.crops is not None], [d.grid for d in ok], single_thread=single_thread)
            outputs.update({d.path: r for d, r in zip(ok, results, strict=True)})
        except Exception as exc:  # an ONNX runtime failure on one batch must not end the scan
            failure = f"inference failed: {first_line(exc)}"
    rows = []
    for d in decoded:
        if d.path in outputs and not 0.0 <= outputs[d.path][0] <= 1.0:  # NaN fails this too
            rows.append(ScanRow(d.path, None, None, d.width, d.height, d.format, d.size, d.mtime_ns,
                                f"the model returned no valid score ({outputs[d.path][0]:.4g}: not a "
                                "probability in [0, 1])"))
        elif d.path in outputs:
            score, patch_map = outputs[d.path]
            member = detector.member(d.model)
            verdict, reason = row_verdict(thresholds, score, member, d.width, d.height, d.finding)
            rows.append(ScanRow(d.path, score, verdict, d.width, d.height, d.format, d.size,
                                d.mtime_ns, None, patch_map, model=member.name,
                                evidence=(d.finding.summary or None) if d.finding else None, reason=reason))
        else:
            rows.append(ScanRow(d.path, None, None, d.width, d.height, d.format, d.size, d.mtime_ns,
                                d.error or failure or "not analysed"))
    return rows


def _new_pool(workers: int) -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pixelpatrol-decode")


def _first_done(window: set[Future[_Done]]) -> set[Future[_Done]]:
    from concurrent.futures import FIRST_COMPLETED, wait

    return wait(window, return_when=FIRST_COMPLETED)[0]


def _decode_many(paths: list[str], detector: AnyDetector, score: Callable[[list[Decoded]], list[Scored]] | None
                 ) -> _Done:
    """Decode a task's files (and read their evidence), and score them too when `score` is given (CPU
    inference in the pool)."""
    start = time.perf_counter()
    decoded = [decode_file(p, detector) for p in paths]
    if score is None:
        return decoded, None, time.perf_counter() - start
    return [], score(decoded), time.perf_counter() - start


class _TaskSizer:
    """Files per decode task, from a running average of the decode time per file."""

    def __init__(self) -> None:
        self.per_file_s: float | None = None

    def observe(self, files: int, seconds: float) -> None:
        sample = seconds / max(files, 1)
        self.per_file_s = sample if self.per_file_s is None else 0.8 * self.per_file_s + 0.2 * sample

    def size(self) -> int:
        if self.per_file_s is None:
            return 1
        return max(1, min(MAX_FILES_PER_TASK, int(TASK_SECONDS / max(self.per_file_s, 1e-6))))


def _stat_key(path: str) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return path, st.st_size, st.st_mtime_ns


class _Scanner:
    def __init__(self, detector: AnyDetector, options: ScanOptions, store: ResultStore, scan_id: int) -> None:
        self.detector = detector
        self.options = options
        self.store = store
        self.scan_id = scan_id
        # once, not per row: each model's bands moved to the user's threshold
        self.thresholds = member_thresholds(detector, options.threshold)
        # rows are cached under the digest of the model that scored them; rows without a model (files
        # that could not be decoded) under the digest of the model most files go to
        self.cache_map = {name: digest for digest, name in detector.cache_digests.items()}
        self.cache_map[""] = detector.members[0].digest if isinstance(detector, Detector) else detector.primary.digest
        self.findings: dict[str, str] = {}  # path -> evidence JSON, for the cache (set in pool threads)
        self.parsed_findings: dict[str | None, Finding | None] = {}
        self.rule = Decide(self.cached_rule, self.cached_evidence,  # what the store asks of cached rows
                           lambda model, width, height: detector.member_for(width, height).name == model)
        self.digests = list(detector.cache_digests.items())  # (digest, model), in the order a file is looked up
        self.counts: Counter[str] = Counter()
        self.errors = 0
        self.done = 0

    def cached_rule(self, model: str, width: int | None, height: int | None,
                    finding_json: str | None) -> Callable[[float], tuple[str, str]]:
        """score -> (verdict, reason) of a cached row of this model, size and evidence, by the same rule as a
        decoded row (the store asks once per distinct model, size and finding, then calls it per row)."""
        member = self.detector.member(model)
        in_domain = width is None or height is None or member.in_domain(width, height)
        thresholds, trust, finding = self.thresholds[member.name], member.contract.trust, self.finding_of(finding_json)
        return lambda score: decide(score, thresholds, trust, in_domain, finding)

    def cached_evidence(self, finding_json: str | None) -> str | None:
        finding = self.finding_of(finding_json)
        return (finding.summary or None) if finding else None

    def finding_of(self, finding_json: str | None) -> Finding | None:
        if finding_json not in self.parsed_findings:  # most files of a tree have the same (empty) one
            self.parsed_findings[finding_json] = Finding.from_json(finding_json)
        return self.parsed_findings[finding_json]

    def score(self, decoded: list[Decoded], single_thread: bool = False) -> list[Scored]:
        """Rows for decoded files, each with whether the cache may keep it: scores and errors in the
        file itself; not errors that may go away (a vanished file, permissions) nor failures of the
        model on a file that decoded fine. Safe to call from several threads at once."""
        rows = self.rows_from_decoded(decoded, single_thread)
        return [(r, r.score is not None or (d.crops is None and not d.transient))
                for r, d in zip(rows, decoded, strict=True)]

    def rows_from_decoded(self, decoded: list[Decoded], single_thread: bool = False) -> list[ScanRow]:
        rows = rows_from_decoded(self.detector, self.thresholds, decoded, single_thread)
        for r, d in zip(rows, decoded, strict=True):
            if r.score is not None and d.finding is not None:
                self.findings[d.path] = d.finding.to_json()
        return rows

    def commit(self, rows: list[ScanRow], cacheable: list[ScanRow]) -> RowsReady:
        findings = {r.path: self.findings.pop(r.path) for r in rows if r.path in self.findings}
        self.store.add_rows(self.scan_id, rows, self.cache_map if self.options.use_cache else None, cacheable,
                            findings)
        for r in rows:
            if r.error is not None:
                self.errors += 1
            elif r.verdict is not None:
                self.counts[r.verdict] += 1
        self.done += len(rows)
        return RowsReady(rows)

    def commit_stored(self, rows: StoredRows) -> RowsReady:
        """Rows the store copied from the cache (already committed), counted."""
        self.errors += rows.summary.errors
        self.counts.update(rows.summary.verdicts)
        self.done += len(rows)
        return RowsReady(rows)


def scan(
    paths: Sequence[str | Path],
    detector: AnyDetector,
    options: ScanOptions | None = None,
    *,
    store: ResultStore | None = None,
    resume_scan_id: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    skipped: Skipped | None = None,
) -> Iterator[ScanEvent]:
    """Scan files and folders with `detector`, yielding events; see docs/engine-api.md. `skipped`, when
    given, counts what the walk passes over (complete once the scan has finished)."""
    options = options or ScanOptions()
    store = store if store is not None else ResultStore()
    abs_paths = [os.path.abspath(os.fspath(p)) for p in paths]
    workers = options.workers or os.cpu_count() or 2
    batch_size = options.batch_size or detector.batch_size
    window_limit = workers * 2

    already: set[str] = set()
    if resume_scan_id is not None:
        already = store.reopen_scan(resume_scan_id, detector.device)
        scan_id = resume_scan_id
    else:
        scan_id = store.begin_scan(abs_paths, detector.name, str(detector.path), detector.digest, detector.device,
                                   asdict(options), RULE_VERSION)
    yield ScanStarted(scan_id, detector.name, detector.digest, detector.device, detector.device_reason)

    state = _Scanner(detector, options, store, scan_id)
    state.done = len(already)
    stop_counting = threading.Event()
    totals = BackgroundCount(abs_paths, options.recursive, options.include_hidden, stop_counting, COUNT_DELAY_S)
    total_sent = False
    started = time.monotonic()
    last_rows_at = started - MAX_ROW_DELAY_S / 2  # the first rows may come sooner
    done_at_start = state.done
    pool: ThreadPoolExecutor | None = None  # made for the first file to decode
    window: set[Future[_Done]] = set()
    sizer = _TaskSizer()
    to_decode: deque[str] = deque()
    ready: list[Decoded] = []  # decoded, waiting for a batch on the device (GPU)
    scored: list[Scored] = []  # finished in the pool (CPU), waiting to be committed
    # With one worker (the app on 2 cores leaves the other to the window) a single-threaded session
    # would leave a core idle: the caller's thread then runs the multi-threaded session, as on a GPU.
    score_in_pool = detector.device == "cpu" and workers > 1
    # Rows scored in the pool are committed in transactions of at least ROWS_PER_COMMIT: the batch size is the
    # device's, 8 for a routed scan, and a transaction, an event and an output flush per 8 rows is the
    # caller's thread's time (2,000 CIFAR JPEGs: 250 events, now 34; same images/s within the noise)
    commit_size = max(batch_size, ROWS_PER_COMMIT) if score_in_pool else batch_size

    def score_task(decoded: list[Decoded]) -> list[Scored]:
        return state.score(decoded, single_thread=True)

    files = (p for p in iter_image_files(abs_paths, options.recursive, options.include_hidden, should_stop,
                                         skipped) if p not in already)
    walk_done = False
    status = "interrupted"  # what the store says if the consumer abandons the generator

    def progress() -> Progress:
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = (state.done - done_at_start) / elapsed
        total = totals.total if totals.total is not None or status != "finished" else state.done
        eta = (total - state.done) / rate if total is not None and rate > 0 else None
        return Progress(state.done, total, rate, max(eta, 0.0) if eta is not None else None)

    try:
        while True:
            if should_stop():
                status = "cancelled"
                break
            totals.maybe_start(time.monotonic() - started)
            if not total_sent and totals.total is not None:
                total_sent = True
                yield TotalCounted(totals.total)
            # 1. Keep the decode window full; walk (and answer from the cache) only as needed.
            while len(window) < window_limit and (to_decode or not walk_done):
                if to_decode:
                    task = [to_decode.popleft() for _ in range(min(sizer.size(), len(to_decode)))]
                    pool = pool or _new_pool(workers)
                    window.add(pool.submit(_decode_many, task, detector, score_task if score_in_pool else None))
                    continue
                totals.maybe_start(time.monotonic() - started)
                chunk = list(islice(files, LOOKUP_CHUNK))
                if not chunk:
                    walk_done = True
                    break
                stored, missing = None, None
                if options.use_cache:  # unchanged files: copied from the cache inside the store
                    keys = [k for k in map(_stat_key, chunk) if k is not None]
                    stored, missing = store.copy_cached(scan_id, keys, state.digests, state.rule)
                    if len(keys) < len(chunk):  # a file that cannot be stat'ed is decoded, to say why
                        missing |= set(chunk) - {k[0] for k in keys}
                to_decode.extend(chunk if missing is None else (p for p in chunk if p in missing))
                if stored is not None:
                    yield state.commit_stored(stored)
                    yield progress()
                if should_stop():
                    break
            if should_stop():
                status = "cancelled"
                break
            if not window and not ready and not scored:
                status = "finished"
                break
            # 2. Take what the pool has finished; wait for one only when there is nothing to do yet.
            finished = {f for f in window if f.done()}
            if not finished and window and len(ready) + len(scored) < commit_size:
                finished = _first_done(window)
            for f in finished:
                window.discard(f)
                decoded, done_rows, seconds = f.result()
                sizer.observe(len(decoded) + len(done_rows or ()), seconds)
                ready.extend(decoded)
                scored.extend(done_rows or ())
            # 3. Commit (after inferring, on a GPU) a full batch, what is left when nothing else is in
            # flight, or whatever is ready once rows have not been reported for a moment (big photos).
            stale = time.monotonic() - last_rows_at > MAX_ROW_DELAY_S
            waiting = len(ready) + len(scored)
            if waiting >= commit_size or (waiting and (not window or stale)):
                if scored:
                    batch_rows, scored = scored[:commit_size], scored[commit_size:]
                else:
                    batch, ready = ready[:batch_size], ready[batch_size:]
                    batch_rows = state.score(batch)
                rows = [r for r, _ in batch_rows]
                cacheable = [r for r, keep in batch_rows if keep]
                yield state.commit(rows, cacheable)
                last_rows_at = time.monotonic()
                yield progress()
    finally:
        stop_counting.set()
        for f in window:
            f.cancel()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        store.finish_scan(scan_id, status)
    if not total_sent and (totals.total is not None or status == "finished"):
        yield TotalCounted(totals.total if totals.total is not None else state.done)
    yield progress()
    yield ScanFinished(scan_id, state.done, state.errors, status == "cancelled", dict(state.counts))
