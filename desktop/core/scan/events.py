"""Rows, options and the events the `scan` generator yields (docs/engine-api.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is not imported for rows that carry no patch map (a cached rescan)
    import numpy as np


@dataclass(frozen=True)
class ScanRow:
    """One analysed (or failed) input file."""

    path: str
    score: float | None  # P(AI-generated) 0..1, None when error
    verdict: str | None  # one of contract.VERDICTS, None when error
    width: int | None
    height: int | None
    format: str | None
    size: int | None
    mtime_ns: int | None
    error: str | None  # why the file could not be analysed
    patch_map: np.ndarray | None = field(default=None, compare=False, repr=False)  # float32 rows x cols
    cached: bool = False
    model: str | None = None  # the name of the model that scored the row (routing picks it per image)
    evidence: str | None = None  # short text: what the file's metadata says (C2PA, PNG parameters, EXIF)
    reason: str | None = None  # why this verdict: "model", "C2PA: declares …", "model; capped at 'likely': …"


@dataclass(frozen=True)
class ScanOptions:
    recursive: bool = True
    include_hidden: bool = False
    batch_size: int | None = None  # None: sized for the device
    workers: int | None = None  # decode (and, on the CPU, inference) threads; None: os.cpu_count()
    use_cache: bool = True
    threshold: float | None = None  # user decision threshold

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {self.threshold}")


@dataclass(frozen=True)
class ScanStarted:
    scan_id: int
    model_name: str
    model_digest: str
    device: str
    device_reason: str


@dataclass(frozen=True)
class TotalCounted:
    total: int


@dataclass(frozen=True)
class RowsReady:
    rows: Sequence[ScanRow]  # a list, or rows a rescan copied inside the store (store_copy.StoredRows)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    rate_per_s: float
    eta_s: float | None


@dataclass(frozen=True)
class ScanFinished:
    scan_id: int
    done: int
    errors: int
    cancelled: bool
    counts: dict[str, int]


ScanEvent = ScanStarted | TotalCounted | RowsReady | Progress | ScanFinished
