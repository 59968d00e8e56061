"""The image extensions in spec/images.py, as the scan, the trainer and the app's run form use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec.images import SCAN_EXTENSIONS, TRAINING_EXTENSIONS


def test_the_app_can_scan_every_kind_of_file_the_trainer_reads() -> None:
    assert set(TRAINING_EXTENSIONS) <= SCAN_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in SCAN_EXTENSIONS)


def test_walk_picks_up_each_scan_extension_in_any_case() -> None:
    from desktop.core.scan.walk import is_image_name

    for ext in SCAN_EXTENSIONS:
        assert is_image_name("photo" + ext) and is_image_name("photo" + ext.upper())
    assert not is_image_name("notes.txt")


@pytest.mark.parametrize("ext", [".gif", ".tif", ".tiff"])
def test_run_form_accepts_a_data_folder_exactly_when_the_trainer_can_read_it(tmp_path: Path, ext: str) -> None:
    # The form used to keep a shorter list than the trainer: a folder of TIFFs was refused before the run.
    from desktop.qt.training.run_form import check_data
    from training.data.sources import DataError, iter_entries

    readable, unreadable = tmp_path / "readable", tmp_path / "unreadable"
    readable.mkdir()
    unreadable.mkdir()
    (readable / f"a{ext}").write_bytes(b"x")
    (unreadable / "a.heic").write_bytes(b"x")  # the app scans HEIC; the trainer does not read it

    assert check_data(f"real={readable}") is None
    assert [e.name for e in iter_entries(readable)] == [f"a{ext}"]
    assert check_data(str(unreadable)) == f"{unreadable}: no images found in this folder"
    with pytest.raises(DataError):
        iter_entries(unreadable)
