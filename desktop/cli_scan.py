"""`pixelpatrol scan`: drive the scan generator, stream rows out, show progress on a terminal."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import IO

from desktop.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, _fail
from desktop.core.contract import VERDICTS
from desktop.core.events import (
    Progress,
    RowsReady,
    ScanEvent,
    ScanFinished,
    ScanOptions,
    ScanStarted,
    TotalCounted,
)
from desktop.core.export import RowWriter, format_for
from desktop.core.models import ModelError
from desktop.core.routing import AnyDetector, load_for_scan, trust_lines
from desktop.core.store import ResultStore
from desktop.core.walk import skipped_files

BAR_WIDTH = 24
REDRAW_S = 0.1


class ProgressBar:
    """One line on a terminal, redrawn at most 10 times a second; nothing at all when not a TTY."""

    def __init__(self, stream: IO[str], enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._last = 0.0
        self._width = 0

    def update(self, p: Progress, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < REDRAW_S):
            return
        self._last = now
        rate = f"{p.rate_per_s:,.0f} img/s"
        if p.total:
            frac = min(1.0, p.done / p.total)
            filled = int(frac * BAR_WIDTH)
            eta = _duration(p.eta_s) if p.eta_s is not None else "?"
            line = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {p.done:,}/{p.total:,} {frac:4.0%} {rate} ETA {eta}"
        else:
            line = f"{p.done:,} images {rate} (counting...)"
        self.stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _find_resumable(store: ResultStore, paths: list[str], digest: str) -> int | None:
    for record in store.interrupted_scans():
        if record.paths == paths and record.model_digest == digest:
            return record.id
    return None


def run_scan(ns: argparse.Namespace) -> int:
    paths = [os.path.abspath(p) for p in ns.paths]
    for raw, path in zip(ns.paths, paths, strict=True):
        if not os.path.lexists(path):
            return _fail(f"path not found: {raw}", EXIT_USAGE)
    try:
        fmt = ns.format or (format_for(ns.out) if ns.out else "csv")
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        detector = load_for_scan(ns.model, device=ns.device)
    except ModelError as exc:
        return _fail(str(exc), EXIT_FAILED)
    options = ScanOptions(recursive=not ns.no_recursive, include_hidden=ns.hidden, batch_size=ns.batch_size,
                          workers=ns.workers, use_cache=not ns.no_cache, threshold=ns.threshold)
    err = sys.stderr
    talk = not ns.quiet
    if ns.device == "cuda" and detector.device != "cuda":
        print(f"{PROG}: warning: --device cuda requested but {detector.device_reason}; running on the CPU",
              file=err)
    store = ResultStore()
    resume_id = _find_resumable(store, paths, detector.digest) if ns.resume else None
    if ns.resume and resume_id is None and talk:
        print(f"{PROG}: no interrupted scan of these paths with this model; starting a new scan", file=err)
    out: IO[str] = open(ns.out, "w", encoding="utf-8", newline="") if ns.out else sys.stdout  # noqa: SIM115
    writer = RowWriter(out, fmt)
    bar = ProgressBar(err, enabled=talk and err.isatty())
    finished: ScanFinished | None = None
    by_model: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    started = time.monotonic()
    cached = 0
    try:
        if resume_id is not None:
            writer.write(store.iter_rows(resume_id))
        for event in _scan_events(paths, detector, options, store, resume_id):
            if isinstance(event, ScanStarted):
                if talk:
                    verb = "resuming" if resume_id is not None else "scan"
                    print(f"{PROG}: {verb} {event.scan_id}: model {detector.title} on {event.device.upper()}"
                          f" ({event.device_reason})", file=err)
            elif isinstance(event, RowsReady):
                writer.write(event.rows)
                cached += sum(1 for r in event.rows if r.cached)
                by_model.update(r.model for r in event.rows if r.model)
                by_reason.update("evidence" for r in event.rows if r.reason and not r.reason.startswith("model"))
            elif isinstance(event, Progress):
                bar.update(event)
            elif isinstance(event, TotalCounted):
                pass
            elif isinstance(event, ScanFinished):
                finished = event
        writer.close()
    except KeyboardInterrupt:
        bar.close()
        print(f"{PROG}: interrupted; rows so far are saved, continue with `{PROG} scan ... --resume`", file=err)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `pixelpatrol scan . | head`: the reader is gone
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        bar.close()
        return EXIT_OK
    finally:
        if out is not sys.stdout:
            out.close()
        store.close()
    bar.close()
    if finished is None:
        return _fail("the scan ended without finishing", EXIT_FAILED)
    if talk:
        elapsed = time.monotonic() - started
        counts = ", ".join(f"{v} {finished.counts[v]}" for v in VERDICTS if finished.counts.get(v))
        print(f"{PROG}: {finished.done:,} images in {elapsed:.1f} s ({cached:,} from cache): {counts or 'no scores'}"
              + (f"; {finished.errors:,} could not be analysed (see the error column)" if finished.errors else "")
              + (f"; written to {ns.out}" if ns.out else ""), file=err)
        if by_model:
            print(f"{PROG}: scored by " + ", ".join(f"{name} ({n:,})" for name, n in by_model.most_common())
                  + (f"; {by_reason['evidence']:,} decided by the file's own provenance evidence (reason column)"
                     if by_reason["evidence"] else ""), file=err)
        for line in trust_lines(detector):
            print(f"{PROG}: trust: {line}", file=err)
        skipped = skipped_files(paths, options.recursive, options.include_hidden)
        if skipped.text():
            print(f"{PROG}: {skipped.text()}" + ("; --hidden includes hidden files" if skipped.hidden else ""),
                  file=err)
    return EXIT_OK


def _scan_events(paths: list[str], detector: AnyDetector, options: ScanOptions, store: ResultStore,
                 resume_id: int | None) -> Iterator[ScanEvent]:
    from desktop.core.scan import scan

    return scan(paths, detector, options, store=store, resume_scan_id=resume_id)
