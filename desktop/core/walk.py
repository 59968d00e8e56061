"""Finding image files: streamed, recursive by default, hidden entries skipped, symlink loops safe."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib", ".tif", ".tiff",
    ".avif", ".heic", ".heif",
})
_FILE_ATTRIBUTE_HIDDEN = 0x2  # Windows


_EXTENSIONS_NO_DOT = frozenset(e[1:] for e in IMAGE_EXTENSIONS)


def is_image_name(name: str) -> bool:
    head, dot, ext = name.rpartition(".")
    return bool(dot and head.strip(".")) and ext.lower() in _EXTENSIONS_NO_DOT


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
) -> Iterator[str]:
    """Yield absolute paths of image files, lazily, each once.

    A file named on the command line is yielded whatever its extension (the user asked for it);
    inside folders only image extensions count. Broken symlinks with an image extension are
    yielded too, so they are reported rather than silently skipped. A folder is listed (sorted)
    before its subfolders are entered, so results start flowing at once even in huge trees.
    """
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
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:  # symlink loop or the same folder given twice
                continue
            seen_dirs.add(key)
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue  # unreadable folder: nothing we can list
            subdirs: list[str] = []
            for entry in entries:
                if not include_hidden and _is_hidden(entry):
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=True)
                except OSError:
                    is_dir = False
                if is_dir:
                    if recursive:
                        subdirs.append(entry.path)
                    continue
                if not is_image_name(entry.name):
                    continue
                try:  # from the directory listing itself on most systems: no extra syscall
                    wanted = entry.is_file(follow_symlinks=False) or entry.is_symlink()
                except OSError:
                    continue  # vanished between listing and now
                if wanted and entry.path not in seen_files:
                    seen_files.add(entry.path)
                    yield entry.path
            stack.extend(reversed(subdirs))  # visit subfolders in name order


def count_image_files(
    paths: Iterable[str | Path],
    recursive: bool = True,
    include_hidden: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    return sum(1 for _ in iter_image_files(paths, recursive, include_hidden, should_stop))
