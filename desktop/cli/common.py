"""What every `pixelpatrol` subcommand shares: the program name, the exit codes, the one-line error
and the summary count of a scan (both engines print it). Imports nothing of the other CLI modules,
so `desktop.cli` -> `desktop.cli.scan` -> `desktop.cli.ray` only ever import downwards.

Exit codes: 0 the command completed (a scan with unreadable files still completes: they are rows
with an error); 1 a model could not be used or the scan failed; 2 usage errors (bad option,
missing path, unknown output format); 3 something cannot be written (the --out folder is missing
or read-only, the data folder is read-only, the disk is full: rows already saved are kept, finish
with --resume); 4 the result database is busy (another process held its lock too long: run again
later); 130 interrupted with Ctrl-C (the scan can be resumed). README "Exit codes" lists them too.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import IO

from desktop.core.models.contract import VERDICTS
from desktop.core.scan.events import ScanRow
from desktop.core.scan.export import AtomicFile, OutputError
from desktop.core.scan.walk import Skipped

PROG = "pixelpatrol"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CANNOT_WRITE, EXIT_BUSY = 3, 4


def fail(message: str, code: int) -> int:
    """Print `pixelpatrol: error: MESSAGE` on stderr (one line, never a traceback) and return `code`."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def run_with_output(ns: argparse.Namespace, output_format: Callable[[argparse.Namespace], str],
                    run: Callable[[argparse.Namespace, list[str], str, AtomicFile | None], int]) -> int:
    """What both scan engines do before and after scanning: every path must exist, the output format must
    be known and the output file writable (checked before anything slow starts), and a run that fails
    leaves the previous output file as it was."""
    paths = [os.path.abspath(p) for p in ns.paths]
    for raw, path in zip(ns.paths, paths, strict=True):
        if not os.path.lexists(path):
            return fail(f"path not found: {raw}", EXIT_USAGE)
    try:
        fmt = output_format(ns)
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    try:
        out_file = AtomicFile(ns.out) if ns.out else None
    except OutputError as exc:
        return fail(str(exc), EXIT_CANNOT_WRITE)
    try:
        return run(ns, paths, fmt, out_file)
    finally:
        if out_file is not None:
            out_file.discard()  # nothing when committed; a failed run leaves the old file as it was


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


class Tally:
    """What the summary counts: every row written, those of a resumed scan's earlier run included."""

    def __init__(self) -> None:
        self.rows = 0
        self.errors = 0
        self.cached = 0
        self.verdicts: Counter[str] = Counter()
        self.by_model: Counter[str] = Counter()
        self.by_evidence = 0

    def add(self, rows: Iterable[ScanRow]) -> None:
        summary = getattr(rows, "summary", None)  # rows a rescan copied inside the store come counted
        if summary is not None:
            n = len(rows)  # type: ignore[arg-type]
            self.rows += n
            self.cached += n
            self.errors += summary.errors
            self.verdicts.update(summary.verdicts)
            self.by_model.update(summary.by_model)
            self.by_evidence += summary.by_evidence
            return
        for r in rows:
            self.rows += 1
            self.cached += r.cached
            if r.error is not None:
                self.errors += 1
            elif r.verdict is not None:
                self.verdicts[r.verdict] += 1
            if r.model:
                self.by_model[r.model] += 1
            if r.reason and not r.reason.startswith("model"):
                self.by_evidence += 1

    def print_summary(self, err: IO[str], head: str, out: str | None, trust: Iterable[str], skipped: Skipped) -> None:
        """What both engines print when a scan ends: ``head`` (rows and time) with the verdict counts, the errors
        and the output file; the models that scored the rows; each model's trust; what the walk passed over."""
        counts = ", ".join(f"{v} {self.verdicts[v]}" for v in VERDICTS if self.verdicts.get(v))
        print(f"{PROG}: {head}: {counts or 'no scores'}"
              + (f"; {self.errors:,} could not be analysed (see the error column)" if self.errors else "")
              + (f"; written to {out}" if out else ""), file=err)
        if self.by_model:
            print(f"{PROG}: scored by " + ", ".join(f"{name} ({n:,})" for name, n in sorted(self.by_model.items(), key=_most_first))
                  + (f"; {self.by_evidence:,} decided by the file's own provenance evidence (reason column)"
                     if self.by_evidence else ""), file=err)
        for line in trust:
            print(f"{PROG}: trust: {line}", file=err)
        if skipped.text():
            print(f"{PROG}: {skipped.text()}" + ("; --hidden includes hidden files" if skipped.hidden else ""),
                  file=err)
