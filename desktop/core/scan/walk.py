"""Finding image files: streamed, recursive by default, hidden entries skipped, symlink loops safe.

A file without an extension is opened and its first bytes read: one whose content is an image is
scanned like any other (downloads and exports often lose their extension). What the walk passes over
is counted by reason in `Skipped` (hidden, not an image, unreadable, subfolders not entered), so the
app and the command line can say why a folder of 300 files gave 299 rows.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from spec.images import SCAN_EXTENSIONS

IMAGE_EXTENSIONS = SCAN_EXTENSIONS
_FILE_ATTRIBUTE_HIDDEN = 0x2  # Windows


_EXTENSIONS_NO_DOT = frozenset(e[1:] for e in IMAGE_EXTENSIONS)


def is_image_name(name: str) -> bool:
    head, dot, ext = name.rpartition(".")
    return bool(dot and head.strip(".")) and ext.lower() in _EXTENSIONS_NO_DOT


def has_extension(name: str) -> bool:
    head, dot, ext = name.rpartition(".")
    return bool(dot and head.strip(".") and ext)


# The signatures of the formats in IMAGE_EXTENSIONS (ISO-BMFF brands for HEIF/AVIF).
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_FTYP_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
SNIFF_BYTES = 16


def looks_like_image(head: bytes) -> bool:
    """True when `head` (a file's first bytes) starts like a JPEG, PNG, GIF, TIFF, BMP, WebP, HEIF or AVIF."""
    if head.startswith(_MAGIC):
        return True
    if head[:2] == b"BM" and len(head) >= 10 and head[6:10] == b"\x00\x00\x00\x00":  # BMP: reserved zeros
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in _FTYP_BRANDS


def sniff_image(path: str) -> bool | None:
    """Whether the file's content is an image (by its first bytes); None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return looks_like_image(fh.read(SNIFF_BYTES))
    except OSError:
        return None


MAX_EXAMPLES = 5


@dataclass
class Skipped:
    """What a walk passed over, by reason, with a few example paths of each."""

    hidden: int = 0  # hidden files and folders (a hidden folder counts once; it is not entered)
    not_image: int = 0  # other files: by extension, or by content when the name has none
    unreadable: int = 0  # folders that cannot be listed, extension-less files that cannot be read
    subfolders: int = 0  # folders not entered because the walk was not recursive
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, path: str) -> None:
        setattr(self, reason, getattr(self, reason) + 1)
        shown = self.examples.setdefault(reason, [])
        if len(shown) < MAX_EXAMPLES:
            shown.append(path)

    def merged(self, other: Skipped) -> Skipped:
        out = Skipped(self.hidden + other.hidden, self.not_image + other.not_image,
                      self.unreadable + other.unreadable, self.subfolders + other.subfolders)
        for reason in {*self.examples, *other.examples}:
            out.examples[reason] = (self.examples.get(reason, []) + other.examples.get(reason, []))[:MAX_EXAMPLES]
        return out

    @property
    def files(self) -> int:
        return self.hidden + self.not_image + self.unreadable

    def parts(self) -> list[str]:
        parts = []
        if self.not_image:
            parts.append(f"{self.not_image:,} not an image")
        if self.hidden:
            parts.append(f"{self.hidden:,} hidden")
        if self.unreadable:
            parts.append(f"{self.unreadable:,} unreadable")
        if self.subfolders:
            parts.append(f"{self.subfolders:,} subfolder{'s' if self.subfolders != 1 else ''} not entered")
        return parts

    def text(self) -> str:
        """One line, "" when nothing was skipped: 'skipped: 2 not an image, 1 hidden'."""
        parts = self.parts()
        return "skipped: " + ", ".join(parts) if parts else ""

    def details(self) -> str:
        """A few example paths per reason (the app's tooltip)."""
        names = {"not_image": "Not an image", "hidden": "Hidden", "unreadable": "Unreadable",
                 "subfolders": "Subfolders not entered (Include subfolders is off)"}
        lines = []
        for reason, title in names.items():
            shown = self.examples.get(reason)
            if shown:
                more = getattr(self, reason) - len(shown)
                lines.append(f"{title}: " + ", ".join(os.path.basename(p) or p for p in shown)
                             + (f" and {more:,} more" if more > 0 else ""))
        return "\n".join(lines)


_NAME = attrgetter("name")  # a folder's entries in name order (in C: a rescan walks every name of the tree)


def _is_hidden(entry: os.DirEntry[str]) -> bool:
    if entry.name.startswith("."):
        return True
    if os.name != "nt":
        return False
    try:
        attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & _FILE_ATTRIBUTE_HIDDEN)


def iter_image_files(
    paths: Iterable[str | Path],
    recursive: bool = True,
    include_hidden: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    skipped: Skipped | None = None,
) -> Iterator[str]:
    """Yield absolute paths of image files, lazily, each once.

    A file named on the command line is yielded whatever its extension (the user asked for it);
    inside folders image extensions count, and files without an extension whose content is an
    image. Broken symlinks with an image extension are yielded too, so they are reported rather
    than silently skipped. A folder is listed (sorted) before its subfolders are entered, so results
    start flowing at once even in huge trees. `skipped`, when given, counts what was passed over.
    """
    note = skipped.add if skipped is not None else (lambda _reason, _path: None)
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for raw in paths:
        top = os.path.abspath(os.fspath(raw))
        if not os.path.isdir(top):
            if top not in seen_files:
                seen_files.add(top)
                yield top
            continue
        stack = [top]
        while stack:
            if should_stop():
                return
            folder = stack.pop()
            try:
                st = os.stat(folder)
            except OSError as exc:
                # a folder deeper than PATH_MAX cannot be opened by its path: one error row, not silence
                if exc.errno == errno.ENAMETOOLONG and folder not in seen_files:
                    seen_files.add(folder)
                    yield folder
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:  # symlink loop or the same folder given twice
                continue
            seen_dirs.add(key)
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=_NAME)
            except OSError:
                note("unreadable", folder)  # nothing we can list
                continue
            subdirs: list[str] = []
            for entry in entries:
                if not include_hidden and _is_hidden(entry):
                    note("hidden", entry.path)
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=True)
                except OSError:
                    is_dir = False
                if is_dir:
                    if recursive:
                        subdirs.append(entry.path)
                    else:
                        note("subfolders", entry.path)
                    continue
                if not is_image_name(entry.name):
                    if has_extension(entry.name):
                        note("not_image", entry.path)
                        continue
                    try:  # never open a pipe or a device: reading one can block for ever
                        regular = entry.is_file(follow_symlinks=True)
                    except OSError:
                        regular = False
                    sniffed = sniff_image(entry.path) if regular else (None if entry.is_symlink() else False)
                    if not sniffed:  # no extension: the content decides
                        note("not_image" if sniffed is False else "unreadable", entry.path)
                        continue
                try:  # from the directory listing itself on most systems: no extra syscall
                    wanted = entry.is_file(follow_symlinks=False) or entry.is_symlink()
                except OSError:
                    continue  # vanished between listing and now
                if wanted and entry.path not in seen_files:
                    seen_files.add(entry.path)
                    yield entry.path
            stack.extend(reversed(subdirs))  # visit subfolders in name order


def skipped_files(
    paths: Iterable[str | Path],
    recursive: bool = True,
    include_hidden: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> Skipped:
    """Walk `paths` as a scan does and count what it passes over (for the summary after a scan)."""
    skipped = Skipped()
    for _ in iter_image_files(paths, recursive, include_hidden, should_stop, skipped):
        pass
    return skipped


def count_image_files(
    paths: Iterable[str | Path],
    recursive: bool = True,
    include_hidden: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    return sum(1 for _ in iter_image_files(paths, recursive, include_hidden, should_stop))


class BackgroundCount:
    """Counts the files of a walk in a background thread, started only once a scan has run for `delay_s`:
    a scan over by then needs no total, and a second walk would only compete with the first for the GIL."""

    def __init__(self, paths: Iterable[str | Path], recursive: bool, include_hidden: bool, stop: threading.Event,
                 delay_s: float) -> None:
        self.total: int | None = None
        self._args = (paths, recursive, include_hidden, stop)
        self._delay_s = delay_s
        self._thread: threading.Thread | None = None

    def maybe_start(self, elapsed_s: float) -> None:
        if self._thread is None and elapsed_s >= self._delay_s:
            self._thread = threading.Thread(target=self._run, daemon=True, name="pixelpatrol-count")
            self._thread.start()

    def _run(self) -> None:
        paths, recursive, include_hidden, stop = self._args
        n = count_image_files(paths, recursive, include_hidden, should_stop=stop.is_set)
        if not stop.is_set():
            self.total = n
