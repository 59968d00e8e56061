"""`pixelpatrol scan`: drive the scan generator, stream rows out, show progress on a terminal."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO

from desktop.cli.common import (
    EXIT_BUSY,
    EXIT_CANNOT_WRITE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Tally,
    fail,
    run_with_output,
)
from desktop.core.models.detector import ModelError
from desktop.core.models.routing import AnyDetector, describe, load_for_scan, trust_lines
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
from desktop.core.scan.export import AtomicFile, RowWriter, format_for
from desktop.core.scan.store import ResultStore
from desktop.core.scan.store_errors import StoreError
from desktop.core.scan.walk import Skipped

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


@contextlib.contextmanager
def _whole_rows() -> Iterator[None]:
    """Ctrl-C waits until the rows being written are whole, so an interrupted output ends on a full row."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _write_failed(exc: OSError, out: str | None, rows: int) -> int:
    """One line for an output that could not be written (a full disk, a vanished folder)."""
    where = out or "the standard output"
    kept = f"{rows:,} rows are saved in the result database: " if rows else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return fail(f"no space left on the disk while writing {where}; {kept}free some space, then run the "
                    "same command with --resume (the previous output file, if any, is unchanged)", EXIT_CANNOT_WRITE)
    return fail(f"cannot write {where}: {exc.strerror or exc}; {kept}run the same command with --resume "
                "once it is fixed", EXIT_CANNOT_WRITE)


def _store_failed(exc: StoreError) -> int:
    codes = {"busy": EXIT_BUSY, "full": EXIT_CANNOT_WRITE, "unwritable": EXIT_CANNOT_WRITE}
    return fail(str(exc), codes.get(exc.kind, EXIT_FAILED))


def run_scan(ns: argparse.Namespace) -> int:
    if getattr(ns, "engine", "local") == "ray":
        from desktop.cli.ray import run_ray_scan

        return run_ray_scan(ns)
    if getattr(ns, "ray_address", None):
        return fail("--ray-address needs --engine ray", EXIT_USAGE)
    return run_with_output(ns, lambda ns: str(ns.format or (format_for(ns.out) if ns.out else "csv")), _run)


def _run(ns: argparse.Namespace, paths: list[str], fmt: str, out_file: AtomicFile | None) -> int:
    try:
        detector = load_for_scan(ns.model, device=ns.device)
    except ModelError as exc:
        return fail(str(exc), EXIT_FAILED)
    except OSError as exc:  # the models folder cannot be created or read
        return fail(f"cannot read the models: {exc.strerror or exc} ({exc.filename})", EXIT_CANNOT_WRITE)
    options = ScanOptions(recursive=not ns.no_recursive, include_hidden=ns.hidden, batch_size=ns.batch_size,
                          workers=ns.workers, use_cache=not ns.no_cache, threshold=ns.threshold)
    err = sys.stderr
    talk = not ns.quiet
    if ns.device == "cuda" and detector.device != "cuda":
        print(f"{PROG}: warning: --device cuda requested but {detector.device_reason}; running on the CPU",
              file=err)
    try:
        store = ResultStore()
        resume_id = _find_resumable(store, paths, detector.digest) if ns.resume else None
    except StoreError as exc:
        return _store_failed(exc)
    told = _tell_notice(store, None)
    if ns.resume and resume_id is None and talk:
        print(f"{PROG}: no interrupted scan of these paths with this model; starting a new scan", file=err)
    out: IO[str] = out_file.stream if out_file is not None else sys.stdout
    writer = RowWriter(out, fmt)
    tally = Tally()
    bar = ProgressBar(err, enabled=talk and err.isatty())
    finished: ScanFinished | None = None
    started = time.monotonic()
    events: Iterator[ScanEvent] | None = None
    try:
        if resume_id is not None:
            for rows in _batches(store.iter_rows(resume_id)):
                with _whole_rows():
                    writer.write(rows)
                tally.add(rows)
        skipped = Skipped()  # counted by the scan's own walk
        events = _scan_events(paths, detector, options, store, resume_id, skipped)
        for event in events:
            if isinstance(event, ScanStarted):
                if talk:
                    verb = "resuming" if resume_id is not None else "scan"
                    print(f"{PROG}: {verb} {event.scan_id}: model {describe(detector)} on {event.device.upper()}"
                          f" ({event.device_reason})", file=err)
            elif isinstance(event, RowsReady):
                with _whole_rows():
                    writer.write(event.rows)
                tally.add(event.rows)
                told = _tell_notice(store, told)
            elif isinstance(event, Progress):
                bar.update(event)
            elif isinstance(event, TotalCounted):
                pass
            elif isinstance(event, ScanFinished):
                finished = event
        writer.close()
        if out_file is not None:
            out_file.commit()
    except KeyboardInterrupt:
        bar.close()
        _close(events)
        try:  # a clean interrupt keeps what was written: a complete file of the rows so far
            writer.close()
            if out_file is not None:
                out_file.commit()
        except OSError:
            pass
        print(f"{PROG}: interrupted; rows so far are saved"
              + (f" (and written to {ns.out})" if out_file is not None and out_file.done else "")
              + f", continue with `{PROG} scan ... --resume`", file=err)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `pixelpatrol scan . | head`: the reader is gone
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        bar.close()
        return EXIT_OK
    except StoreError as exc:
        bar.close()
        return _store_failed(exc)
    except OSError as exc:  # writing the output: a full disk, a folder gone
        bar.close()
        if out_file is not None:
            out_file.discard()  # frees the space it took; the old file stays
        _close(events)
        return _write_failed(exc, ns.out, _saved_rows(store))
    finally:
        _close(events)
        store.close()
    bar.close()
    _tell_notice(store, told)
    if finished is None:
        return fail("the scan ended without finishing", EXIT_FAILED)
    if talk:
        elapsed = time.monotonic() - started
        tally.print_summary(err, f"{tally.rows:,} images in {elapsed:.1f} s ({tally.cached:,} from cache)", ns.out,
                            trust_lines(detector), skipped)
    return EXIT_OK


def _batches(rows: Iterable[ScanRow], size: int = 512) -> Iterator[list[ScanRow]]:
    batch: list[ScanRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _close(events: Iterator[ScanEvent] | None) -> None:
    """End the scan generator now (it records the scan as interrupted, so --resume finds it)."""
    close = getattr(events, "close", None)
    if close is None:
        return
    with contextlib.suppress(StoreError, OSError):  # a full disk may refuse that last update; still resumable
        close()


def _saved_rows(store: ResultStore) -> int:
    try:
        scans = store.list_scans()
    except StoreError:
        return 0
    return scans[0].done if scans else 0


def _tell_notice(store: ResultStore, told: str | None) -> str | None:
    """Say once that a damaged database was moved aside (at open, or when a statement found it)."""
    if store.notice and store.notice != told:
        print(f"{PROG}: warning: {store.notice}", file=sys.stderr)
        return store.notice
    return told


def _scan_events(paths: list[str], detector: AnyDetector, options: ScanOptions, store: ResultStore,
                 resume_id: int | None, skipped: Skipped) -> Iterator[ScanEvent]:
    from desktop.core.scan.engine import scan

    return scan(paths, detector, options, store=store, resume_scan_id=resume_id, skipped=skipped)
