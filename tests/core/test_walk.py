from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.core import walk
from desktop.core.walk import iter_image_files


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_walk_finds_images_recursively_and_skips_hidden_and_other_files(tmp_path: Path) -> None:
    a = _touch(tmp_path / "a.JPG")
    b = _touch(tmp_path / "sub" / "deeper" / "b.webp")
    _touch(tmp_path / "notes.txt")
    hidden = _touch(tmp_path / ".cache" / "c.png")
    dot = _touch(tmp_path / ".d.png")
    assert list(iter_image_files([tmp_path])) == [str(a), str(b)]
    assert set(iter_image_files([tmp_path], include_hidden=True)) == {str(a), str(b), str(hidden), str(dot)}
    assert list(iter_image_files([tmp_path], recursive=False)) == [str(a)]


def test_walk_survives_symlink_loops_and_yields_each_file_once(tmp_path: Path) -> None:
    img = _touch(tmp_path / "x" / "img.png")
    (tmp_path / "x" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = list(iter_image_files([tmp_path, tmp_path / "x", img]))
    assert found == [str(img)]


def test_walk_reports_broken_symlinks_and_explicit_files(tmp_path: Path) -> None:
    (tmp_path / "dead.jpg").symlink_to(tmp_path / "missing.jpg")
    odd = _touch(tmp_path / "explicit.dat")
    assert list(iter_image_files([tmp_path])) == [str(tmp_path / "dead.jpg")]
    assert list(iter_image_files([odd])) == [str(odd)]  # named by the user: analysed whatever its extension


def test_walk_is_lazy_on_a_big_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for d in range(100):
        folder = tmp_path / f"f{d:03d}"
        folder.mkdir()
        for i in range(20):
            (folder / f"{i:02d}.jpg").write_bytes(b"")
    listed: list[str] = []
    real_scandir = os.scandir

    def counting_scandir(path: str) -> object:
        listed.append(path)
        return real_scandir(path)

    monkeypatch.setattr(walk.os, "scandir", counting_scandir)
    first = next(iter(walk.iter_image_files([tmp_path])))
    assert first == str(tmp_path / "f000" / "00.jpg")
    assert len(listed) == 2  # the top folder and the first sub-folder, not the 100 folders
    assert walk.count_image_files([tmp_path]) == 2000
