"""Writing scan rows as CSV, JSON (one array) or JSON lines, streamed as they arrive.

A file name that is not valid UTF-8 (old disks, zip archives, network shares) is written readably in
`path`, its undecodable bytes as `\\xNN`, and losslessly in `path_hex` (the raw bytes in hex, empty for
every other name): `raw_path(row)` gives the bytes back. `AtomicFile` writes an output file under a
temporary name next to it and renames it into place only when told to, so a failed or killed run
leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from desktop.core.scan.events import ScanRow


def readable(text: str) -> str:
    """`text` as valid UTF-8: undecodable bytes (surrogate escapes, as from os.fsdecode) become `\\xNN`."""
    if text.isascii():  # nearly every path and message; no encoding to try
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_escape(c) for c in text)
    return text


def _escape(c: str) -> str:
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # the byte os.fsdecode could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}" if 0xD800 <= code <= 0xDFFF else c


def path_hex(path: str) -> str:
    """The raw bytes of a path that is not valid UTF-8, in hex; "" for every other path."""
    if path.isascii():
        return ""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).hex()
    return ""


def raw_path(row: Mapping[str, Any]) -> bytes:
    """The exact file name of an exported row (a dict read back from CSV or JSON), as bytes."""
    hex_text = row.get("path_hex") or ""
    return bytes.fromhex(hex_text) if hex_text else os.fsencode(str(row["path"]))


def _text(value: str | None) -> str | None:
    return None if value is None else readable(value)


# The output columns, in order; `row_values` gives a row's values in this order (None is written as "" in CSV,
# null in JSON). A new column is one name here and one value there.
COLUMNS = ("path", "score", "verdict", "model", "reason", "evidence", "error", "width", "height", "format", "size",
           "mtime_ns", "cached", "path_hex")


def row_values(r: ScanRow) -> tuple[Any, ...]:
    """A row's output values, in COLUMNS order (one function, not one per column: a rescan writes every row of a
    tree, and this is most of what it does per file)."""
    return (readable(r.path), None if r.score is None else round(float(r.score), 6), r.verdict, r.model,
            _text(r.reason), _text(r.evidence), _text(r.error), r.width, r.height, r.format, r.size, r.mtime_ns,
            r.cached, path_hex(r.path) or None)


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
    return dict(zip(COLUMNS, row_values(row), strict=True))


class RowWriter:
    """Streams rows to a text stream; call `close()` to finish (JSON needs its closing bracket)."""

    def __init__(self, stream: IO[str], fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}")
        self.stream = stream
        self.fmt = fmt
        self.count = 0
        self._csv = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(COLUMNS)
        elif fmt == "json":
            stream.write("[")

    def write(self, rows: Iterable[ScanRow]) -> None:
        # rows a rescan copied inside the store give their values without becoming ScanRows (store_copy.py)
        stored = getattr(rows, "output_values", None)
        values = stored() if stored is not None else [row_values(row) for row in rows]
        if self._csv is not None:  # tuples, not a dict per row (csv writes None as "")
            self._csv.writerows(values)
            self.count += len(values)
            self.stream.flush()
            return
        for value in values:
            data = dict(zip(COLUMNS, value, strict=True))
            if self.fmt == "jsonl":
                self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
            else:
                self.stream.write(("\n" if self.count == 0 else ",\n") + json.dumps(data, ensure_ascii=False))
            self.count += 1
        self.stream.flush()

    def close(self) -> None:
        if self.fmt == "json":
            self.stream.write("\n]\n" if self.count else "]\n")
        self.stream.flush()


class OutputError(OSError):
    """An output file that cannot be written; the message is one line."""


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


class AtomicFile:
    """A text file written under a hidden temporary name in the target's folder.

    `commit()` renames it over the target (after an fsync, so the rename never exposes a file whose
    data is not on disk yet); `discard()` removes it. Until commit the target is untouched, whatever
    happens to this process. Opening checks that the folder exists and is writable, so a scan can
    find out before it starts. Raises OutputError.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.target = Path(os.path.realpath(path))  # a symlinked output is replaced where it points
        folder = self.target.parent
        if self.target.is_dir():
            raise OutputError(f"cannot write {path}: it is a folder")
        if not folder.is_dir():
            raise OutputError(f"cannot write {path}: the folder {folder} does not exist")
        try:
            import tempfile  # only for --out: not imported by a scan to stdout

            fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".part", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {_why(exc)} in {folder}") from None
        self.temp = Path(tmp)
        with contextlib.suppress(OSError):  # mkstemp makes it private: the old file's mode, else the usual
            os.fchmod(fd, self._mode())
        self.stream: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.done = False

    def _mode(self) -> int:
        try:
            return os.stat(self.target).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            return 0o666 & ~umask

    def commit(self) -> None:
        if self.done:
            return
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self.temp, self.target)
        self.done = True

    def discard(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):  # a full disk may refuse the last flush too; the file goes anyway
            self.stream.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


def write_rows(rows: Iterable[ScanRow], path: str | Path, fmt: str | None = None) -> int:
    """Write all rows to a file, atomically (the old file stays if this fails); returns how many."""
    out = AtomicFile(path)
    try:
        writer = RowWriter(out.stream, fmt or format_for(path))
        writer.write(rows)
        writer.close()
        out.commit()
    finally:
        out.discard()
    return writer.count
