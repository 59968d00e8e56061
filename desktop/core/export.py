"""Writing scan rows as CSV, JSON (one array) or JSON lines, streamed as they arrive."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from desktop.core.events import ScanRow

COLUMNS = ("path", "score", "verdict", "model", "reason", "evidence", "error", "width", "height", "format", "size",
           "mtime_ns", "cached")
FORMATS = ("csv", "json", "jsonl")


def format_for(path: str | Path) -> str:
    """The output format named by a file's extension."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "ndjson":
        return "jsonl"
    if suffix not in FORMATS:
        raise ValueError(f"unknown output format '.{suffix}' (use .csv, .json or .jsonl)")
    return suffix


def row_dict(row: ScanRow) -> dict[str, Any]:
    return {
        "path": row.path,
        "score": None if row.score is None else round(float(row.score), 6),
        "verdict": row.verdict,
        "model": row.model,
        "reason": row.reason,
        "evidence": row.evidence,
        "error": row.error,
        "width": row.width,
        "height": row.height,
        "format": row.format,
        "size": row.size,
        "mtime_ns": row.mtime_ns,
        "cached": row.cached,
    }


class RowWriter:
    """Streams rows to a text stream; call `close()` to finish (JSON needs its closing bracket)."""

    def __init__(self, stream: IO[str], fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}")
        self.stream = stream
        self.fmt = fmt
        self.count = 0
        self._csv = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writeheader()
        elif fmt == "json":
            stream.write("[")

    def write(self, rows: Iterable[ScanRow]) -> None:
        for row in rows:
            data = row_dict(row)
            if self._csv is not None:
                self._csv.writerow({k: "" if v is None else v for k, v in data.items()})
            elif self.fmt == "jsonl":
                self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
            else:
                self.stream.write(("\n" if self.count == 0 else ",\n") + json.dumps(data, ensure_ascii=False))
            self.count += 1
        self.stream.flush()

    def close(self) -> None:
        if self.fmt == "json":
            self.stream.write("\n]\n" if self.count else "]\n")
        self.stream.flush()


def write_rows(rows: Iterable[ScanRow], path: str | Path, fmt: str | None = None) -> int:
    """Write all rows to a file; returns how many."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = RowWriter(fh, fmt or format_for(path))
        writer.write(rows)
        writer.close()
        return writer.count
