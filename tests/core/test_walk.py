from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.core.scan import walk as walk
from desktop.core.scan.walk import iter_image_files


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


def test_walk_scans_extensionless_files_whose_content_is_an_image_and_counts_what_it_skips(tmp_path: Path) -> None:
    from tests.helpers import images

    jpeg = images.write(tmp_path / "download", images.solid(90), format="JPEG")
    png = images.write(tmp_path / "IMG_0001", images.solid(90), format="PNG")
    webp = images.write(tmp_path / "sub" / "export", images.solid(90), format="WEBP")
    (tmp_path / "README").write_text("not an image")
    (tmp_path / "notes.txt").write_text("not an image either")
    images.write(tmp_path / "renamed.txt", images.solid(90), format="PNG")  # an extension says otherwise: skipped
    images.write(tmp_path / ".hidden.png", images.solid(90))
    _touch(tmp_path / ".cache" / "c.png")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")  # never opened: reading a pipe would block
    else:
        (tmp_path / "pipe").write_text("stands in for a pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")

    found = list(iter_image_files([tmp_path]))
    assert found == [str(png), str(jpeg), str(webp)]  # name order: upper case first

    skipped = walk.skipped_files([tmp_path])
    assert (skipped.not_image, skipped.hidden, skipped.unreadable, skipped.subfolders) == (4, 2, 1, 0)
    assert skipped.text() == "skipped: 4 not an image, 2 hidden, 1 unreadable"
    assert "README" in skipped.details() and ".cache" in skipped.details()
    top_only = walk.skipped_files([tmp_path], recursive=False)
    assert top_only.subfolders == 1 and "1 subfolder not entered" in top_only.text()
    assert walk.skipped_files([jpeg]).text() == ""  # a file named by the user is never skipped


@pytest.mark.parametrize("head, image", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", True),
    (b"\x89PNG\r\n\x1a\n\x00\x00", True),
    (b"GIF89a\x01\x00", True),
    (b"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00", True),
    (b"BMW is a car maker", False),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
    (b"\x00\x00\x00\x1cftypavif\x00\x00", True),
    (b"\x00\x00\x00\x1cftypisom\x00\x00", False),  # an MP4 video
    (b"II*\x00\x08\x00", True),
    (b"%PDF-1.7", False),
    (b"", False),
])
def test_looks_like_image_by_signature(head: bytes, image: bool) -> None:
    assert walk.looks_like_image(head) is image
