from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop.core.models.detector import Detector
from desktop.core.scan import engine as scan_module
from desktop.core.scan.decode import Decoded, load_image
from desktop.core.scan.engine import scan
from desktop.core.scan.events import RowsReady, ScanEvent, ScanFinished, ScanOptions, ScanRow, ScanStarted
from desktop.core.scan.store import ResultStore
from tests.helpers import images


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _rows(events: list[ScanEvent]) -> list[ScanRow]:
    return [r for e in events if isinstance(e, RowsReady) for r in e.rows]


@pytest.fixture
def detector(tiny_detector_path: Path) -> Detector:
    return Detector.load(tiny_detector_path, device="cpu")


def _mixed_folder(root: Path) -> dict[str, int]:
    """Grey images of known brightness plus broken files; returns brightness by file name."""
    values = {"dark.png": 30, "mid.jpg": 128, "bright.webp": 230, "sub/very bright.bmp": 250}
    for name, v in values.items():
        images.write(root / name, images.solid(v, (48, 40)), **({"lossless": True} if name.endswith("webp") else {}))
    (root / "empty.jpg").write_bytes(b"")
    (root / "fake.png").write_text("hello")
    images.write_truncated_jpeg(root / "cut.jpg")
    return values


def test_scan_scores_every_file_and_reports_broken_ones(tmp_path: Path, detector: Detector,
                                                        store: ResultStore) -> None:
    values = _mixed_folder(tmp_path / "pics")
    events = list(scan([tmp_path / "pics"], detector, ScanOptions(workers=2, batch_size=2), store=store))
    assert isinstance(events[0], ScanStarted) and events[0].device == "cpu"
    finished = events[-1]
    assert isinstance(finished, ScanFinished) and not finished.cancelled
    rows = {Path(r.path).relative_to(tmp_path / "pics").as_posix(): r for r in _rows(events)}
    assert set(rows) == set(values) | {"empty.jpg", "fake.png", "cut.jpg"}
    for name, v in values.items():
        assert rows[name].error is None
        # The tiny detector computes sigmoid((brightness - 128) / 32); lossy JPEG moves it a little.
        assert rows[name].score == pytest.approx(_sigmoid((v - 128) / 32), abs=0.01)
        assert rows[name].patch_map is not None and rows[name].patch_map.shape == (4, 4)
    assert rows["dark.png"].verdict == "real" and rows["sub/very bright.bmp"].verdict == "ai"
    assert rows["mid.jpg"].verdict == "uncertain"
    assert rows["empty.jpg"].error == "empty file (0 bytes)" and rows["empty.jpg"].score is None
    assert finished.done == 7 and finished.errors == 3
    assert sum(finished.counts.values()) == 4
    stored = store.rows(finished.scan_id)
    assert [r.path for r in stored] == [r.path for r in _rows(events)]
    by_path = {r.path: r for r in stored}
    for r in _rows(events):
        if r.patch_map is not None:
            np.testing.assert_allclose(by_path[r.path].patch_map, r.patch_map, atol=1e-3)  # float16 blob
    assert store.get_scan(finished.scan_id).status == "finished"  # type: ignore[union-attr]


def test_user_threshold_changes_verdicts_not_scores(tmp_path: Path, detector: Detector, store: ResultStore) -> None:
    images.write(tmp_path / "a.png", images.solid(150))
    default = _rows(list(scan([tmp_path], detector, store=store)))[0]
    strict = _rows(list(scan([tmp_path], detector, ScanOptions(threshold=0.2), store=store)))[0]
    assert default.score == strict.score and default.verdict == "uncertain" and strict.verdict == "likely_ai"


def test_rescan_of_unchanged_files_comes_from_the_cache(tmp_path: Path, detector: Detector, store: ResultStore,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    images.write_tree(tmp_path / "t", 30)
    (tmp_path / "t" / "empty.jpg").write_bytes(b"")
    (tmp_path / "t" / "dead.jpg").symlink_to(tmp_path / "missing.jpg")
    first = _rows(list(scan([tmp_path / "t"], detector, store=store)))
    decoded: list[str] = []

    def counting_load(path: str, contract: object) -> Decoded:
        decoded.append(path)
        return load_image(path, contract)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module, "load_image", counting_load)
    changed = tmp_path / "t" / "d000" / "img00003.jpg"
    images.write(changed, images.solid(240), quality=90)
    os.utime(changed, ns=(1, 1_000_000_000))
    second = _rows(list(scan([tmp_path / "t"], detector, store=store)))
    # Only the changed file and the broken link (errors that may go away are never cached) are read.
    assert sorted(decoded) == sorted([str(changed), str(tmp_path / "t" / "dead.jpg")])
    assert len(second) == len(first) == 32
    by_path = {r.path: r for r in first}
    for r in second:
        if r.path in decoded:
            assert not r.cached
        else:
            assert r.cached and r.score == by_path[r.path].score and r.error == by_path[r.path].error
    third = _rows(list(scan([tmp_path / "t"], detector, ScanOptions(use_cache=False), store=store)))
    assert not any(r.cached for r in third) and len(decoded) == 2 + 32


def test_cancel_finishes_the_batch_and_records_it(tmp_path: Path, detector: Detector, store: ResultStore) -> None:
    images.write_tree(tmp_path, 40)
    seen: list[ScanRow] = []
    events = []
    for event in scan([tmp_path], detector, ScanOptions(batch_size=4, workers=1), store=store,
                      should_stop=lambda: bool(seen)):
        events.append(event)
        if isinstance(event, RowsReady):
            seen.extend(event.rows)
    finished = events[-1]
    assert isinstance(finished, ScanFinished) and finished.cancelled
    assert 1 <= finished.done < 40 and finished.done == len(store.rows(finished.scan_id))
    assert store.get_scan(finished.scan_id).status == "cancelled"  # type: ignore[union-attr]


def test_abandoned_scan_resumes_without_redoing_or_losing_rows(tmp_path: Path, detector: Detector,
                                                               store: ResultStore) -> None:
    paths = [str(p) for p in images.write_tree(tmp_path / "t", 50, per_folder=10)]
    gen = scan([tmp_path / "t"], detector, ScanOptions(batch_size=4, workers=1), store=store)
    before: list[ScanRow] = []
    scan_id = -1
    for event in gen:
        if isinstance(event, ScanStarted):
            scan_id = event.scan_id
        if isinstance(event, RowsReady):
            before.extend(event.rows)
            if len(before) >= 8:
                break
    gen.close()  # like a window closed mid-scan
    assert store.get_scan(scan_id).status == "interrupted"  # type: ignore[union-attr]
    events = list(scan([tmp_path / "t"], detector, ScanOptions(batch_size=4, use_cache=False), store=store,
                       resume_scan_id=scan_id))
    after = _rows(events)
    assert not {r.path for r in before} & {r.path for r in after}
    stored = store.rows(scan_id)
    assert sorted(r.path for r in stored) == sorted(paths)
    finished = events[-1]
    assert isinstance(finished, ScanFinished) and finished.done == 50


def test_file_deleted_during_the_scan_is_an_error_row(tmp_path: Path, detector: Detector, store: ResultStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    files = images.write_tree(tmp_path, 5)
    real_walk = scan_module.iter_image_files

    def walk_then_delete(*args: object, **kwargs: object) -> Iterator[str]:
        for path in real_walk(*args, **kwargs):  # type: ignore[arg-type]
            if path == str(files[2]):
                files[2].unlink()  # found, then gone before it is opened
            yield path

    monkeypatch.setattr(scan_module, "iter_image_files", walk_then_delete)
    rows = {r.path: r for r in _rows(list(scan([tmp_path], detector, store=store)))}
    assert rows[str(files[2])].error == "file not found (deleted or moved during the scan?)"
    assert sum(r.error is None for r in rows.values()) == 4


def test_decoded_images_in_memory_stay_bounded(tmp_path: Path, detector: Detector, store: ResultStore,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    images.write_tree(tmp_path, 120)
    started: list[str] = []

    def tracking_load(path: str, contract: object) -> Decoded:
        started.append(path)
        return load_image(path, contract)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module, "load_image", tracking_load)
    options = ScanOptions(batch_size=8, workers=2)
    reported = 0
    for event in scan([tmp_path], detector, options, store=store):
        if isinstance(event, RowsReady):
            reported += len(event.rows)
            # A consumer that stops pulling here (pause) holds at most this many decoded files: full
            # images only inside the 2 decode threads, model-size crops for the rest.
            assert len(started) - reported <= 2 * 2 * scan_module.MAX_FILES_PER_TASK + 8
    assert reported == 120


def test_patches_model_aggregates_crop_scores(tmp_path: Path, tiny_patches_detector_path: Path,
                                              store: ResultStore) -> None:
    arr = np.zeros((64, 128, 3), np.uint8)
    arr[:, 64:] = 255
    from PIL import Image

    images.write(tmp_path / "half.png", Image.fromarray(arr))
    det = Detector.load(tiny_patches_detector_path, device="cpu")
    row = _rows(list(scan([tmp_path], det, store=store)))[0]
    black, white = _sigmoid(-128 / 32), _sigmoid(127 / 32)
    assert row.score == pytest.approx((black + white) / 2, abs=1e-5)
    assert row.patch_map is not None and row.patch_map.shape == (2, 2)
    np.testing.assert_allclose(row.patch_map, [[black, white], [black, white]], atol=1e-5)


def test_non_ascii_paths_survive_the_store(tmp_path: Path, detector: Detector, store: ResultStore) -> None:
    images.write(tmp_path / "фото" / "日本 ü.png", images.solid(100))
    events = list(scan([tmp_path], detector, store=store))
    finished = events[-1]
    assert isinstance(finished, ScanFinished)
    assert store.rows(finished.scan_id)[0].path == str(tmp_path / "фото" / "日本 ü.png")


def test_inference_failure_is_an_error_row_and_not_cached(tmp_path: Path, detector: Detector, store: ResultStore,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    images.write_tree(tmp_path, 6)

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : out of memory\nstack...")

    monkeypatch.setattr(detector, "score_images", broken)
    failed = _rows(list(scan([tmp_path], detector, store=store)))
    assert {r.error for r in failed} == {"inference failed: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : out of memory"}
    monkeypatch.undo()
    healed = _rows(list(scan([tmp_path], detector, store=store)))
    assert all(r.error is None and r.score is not None and not r.cached for r in healed)


def test_cpu_pool_scoring_matches_batches_on_the_device(tmp_path: Path, detector: Detector,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a CPU the decode threads score their own files on a single-threaded session; on a GPU the
    caller's thread sends batches. Both must give the same rows, broken files included."""
    _mixed_folder(tmp_path / "pics")
    images.write_tree(tmp_path / "pics" / "many", 40)
    calls: list[bool] = []
    real = detector.score_images

    def spy(crops: object, grids: object, *, single_thread: bool = False) -> object:
        calls.append(single_thread)
        return real(crops, grids, single_thread=single_thread)  # type: ignore[arg-type]

    monkeypatch.setattr(detector, "score_images", spy)
    results = {}
    # "cuda" only routes the work (the session stays on the CPU); one CPU worker also sends batches.
    for device, workers, in_pool in (("cpu", 2, True), ("cuda", 2, False), ("cpu", 1, False)):
        monkeypatch.setattr(detector, "device", device)
        calls.clear()
        st = ResultStore(tmp_path / f"{device}{workers}.sqlite3")
        try:
            results[device, workers] = {r.path: (r.score, r.verdict, r.error) for r in _rows(
                list(scan([tmp_path / "pics"], detector, ScanOptions(workers=workers, use_cache=False), store=st)))}
        finally:
            st.close()
        assert calls and set(calls) == {in_pool}
    pooled = results["cpu", 2]
    assert len(pooled) == 47
    for other_rows in (results["cuda", 2], results["cpu", 1]):
        assert other_rows.keys() == pooled.keys()
    for path, (score, verdict, error) in pooled.items():
        other = results["cuda", 2][path]
        assert (verdict, error) == other[1:]
        assert (score is None and other[0] is None) or score == pytest.approx(other[0], abs=1e-5)
