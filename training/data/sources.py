"""Where images come from: folders, zips and the CIFAR-10 python pickles, as a flat list of entries.

An :class:`Entry` is one file (or one pickled image) with its path inside the source and a way to
get its bytes; the dataset builders in :mod:`training.data.loading` decide what the path means (a class
folder, a REAL/FAKE folder, a class index in the file name).
"""

from __future__ import annotations

import pickle
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spec.images import TRAINING_EXTENSIONS as IMAGE_EXTS

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAKE_CLASS = re.compile(r"\((\d+)\)\s*\.[A-Za-z]+$")


class DataError(ValueError):
    """A data source that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Entry:
    source: str  # the path given by the user
    name: str  # path inside the source, "/"-separated
    read: Callable[[], bytes] | None = None  # raw file bytes (None for pre-decoded pixels)
    pixels: np.ndarray | None = None  # already-decoded uint8 HWC (CIFAR-10 pickles)
    label: str | None = None  # label given by the source itself (pickles)

    @property
    def parts(self) -> list[str]:
        return [p for p in self.name.split("/") if p]


def check_path(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data path does not exist: {p}")
    return p


def iter_entries(path: str | Path) -> list[Entry]:
    """All image entries of a folder, a zip, a CIFAR-10 tarball or a folder of ``data_batch_*``."""
    p = check_path(path)
    if p.is_dir():
        if sorted(p.glob("data_batch_*")):
            return list(_cifar_pickle_dir(p))
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTS)
        entries = [Entry(str(p), f.relative_to(p).as_posix(), f.read_bytes) for f in files]
    elif zipfile.is_zipfile(p):
        entries = list(_zip_entries(p))
    elif tarfile.is_tarfile(p):
        entries = list(_cifar_tarball(p))
    else:
        raise DataError(f"not a folder, zip or CIFAR-10 tarball: {p}")
    if not entries:
        raise DataError(f"no images found in {p} (looked for {', '.join(IMAGE_EXTS)})")
    return entries


def _zip_entries(p: Path) -> Iterator[Entry]:
    try:
        zf = zipfile.ZipFile(p)
        names = sorted(n for n in zf.namelist() if n.lower().endswith(IMAGE_EXTS) and "__MACOSX" not in n)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read zip {p}: {exc}") from exc
    for n in names:
        yield Entry(str(p), n, _member_reader(zf, n))


def _member_reader(zf: zipfile.ZipFile, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        return zf.read(name)

    return read


def _unpickle(data: bytes, where: str) -> dict[bytes, object]:
    try:
        obj = pickle.loads(data, encoding="bytes")
    except Exception as exc:  # pickle raises many types on truncated input
        raise DataError(
            f"{where} is not a readable CIFAR-10 batch ({exc}); is the download truncated?"
        ) from exc
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        raise DataError(f"{where} is not a CIFAR-10 batch (no data/labels)")
    return obj


def _batch_entries(source: str, batch_name: str, obj: dict[bytes, object]) -> Iterator[Entry]:
    data = np.asarray(obj[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = list(obj[b"labels"])  # type: ignore[call-overload]
    for i, (img, lab) in enumerate(zip(data, labels, strict=True)):
        split = "test" if "test" in batch_name else "train"
        yield Entry(source, f"{split}/{batch_name}/{i:05d}", pixels=img, label=CIFAR10_CLASSES[int(lab)])


def _cifar_pickle_dir(p: Path) -> Iterator[Entry]:
    for f in sorted(p.glob("data_batch_*")) + sorted(p.glob("test_batch")):
        yield from _batch_entries(str(p), f.name, _unpickle(f.read_bytes(), str(f)))


def _cifar_tarball(p: Path) -> Iterator[Entry]:
    try:
        with tarfile.open(p) as tf:
            members = sorted(
                (m for m in tf.getmembers() if re.search(r"(data_batch_\d|test_batch)$", m.name)),
                key=lambda m: m.name,
            )
            if not members:
                raise DataError(f"{p} holds no CIFAR-10 data_batch_* files")
            for m in members:
                fh = tf.extractfile(m)
                if fh is None:
                    continue
                yield from _batch_entries(str(p), Path(m.name).name, _unpickle(fh.read(), f"{p}:{m.name}"))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"cannot read tarball {p}: {exc} (truncated download?)") from exc


def split_of(entry: Entry) -> str | None:
    """'train' or 'test' when a path component says so, else None."""
    for part in entry.parts[:-1]:
        low = part.lower()
        if low in ("train", "training"):
            return "train"
        if low in ("test", "testing"):
            return "test"
    return None


def keep_split(entries: list[Entry], split: str) -> list[Entry]:
    """Entries of the wanted split; entries that name no split count as training data."""
    return [e for e in entries if (split_of(e) or "train") == split]


def cifake_class(name: str) -> int:
    """CIFAKE file names: ``IDX.jpg`` is CIFAR-10 class 0, ``IDX (k).jpg`` is class k-1; -1 if unknown."""
    m = _CIFAKE_CLASS.search(name)
    if m is None:
        return 0 if re.search(r"/?\d+\.[A-Za-z]+$", name) else -1
    k = int(m.group(1))
    return k - 1 if 1 <= k <= 10 else -1
