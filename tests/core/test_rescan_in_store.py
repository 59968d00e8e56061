"""A cached rescan copies rows inside SQLite (desktop/core/scan/store_copy.py): the rows, verdicts, reasons,
evidence, output files and summary counts must be exactly those a scan that builds every row in Python gives."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from desktop.cli import main
from desktop.core.models.catalog import inspect_model
from desktop.core.models.routing import Router
from desktop.core.scan.engine import scan
from desktop.core.scan.events import RowsReady, ScanFinished, ScanOptions, ScanRow
from desktop.core.scan.store import ResultStore
from desktop.core.scan.store_copy import Decide, StoredRows
from tests.helpers import tiny_models

THUMBS = {"long_side": [1, 64], "description": "thumbnails"}
EVERYTHING = {"long_side": [None, None], "description": "everything else"}


@pytest.fixture
def models(tmp_path: Path) -> list[Path]:
    return routed_models(tmp_path / "models")


def routed_models(folder: Path) -> list[Path]:
    """Two tiny models routed by size: thumbnails, and photos (capped at 'likely')."""
    thumbs = tiny_models.detector_contract("thumbs", 32, grid=4, domain=THUMBS)
    photos = tiny_models.detector_contract("photos", 32, grid=4, feed_mode="multiscale", domain=EVERYTHING,
                                           trust={"auroc": 0.8, "measured_on": "test photos", "max_band": "likely"})
    return [tiny_models.build_model_with_contract(folder / "thumbs.onnx", thumbs),
            tiny_models.build_model_with_contract(folder / "photos.onnx", photos)]


@pytest.fixture
def router(models: list[Path]) -> Router:
    return Router.load([inspect_model(p, "bundled") for p in models], device="cpu")


def _png(path: Path | bytes, size: tuple[int, int], value: int, grey: bool = False, **text: str) -> None:
    info = PngImagePlugin.PngInfo()
    for k, v in text.items():
        info.add_text(k, v)
    color = (value, value, value) if grey else (value, (value * 7) % 256, 255 - value)
    with open(path, "wb") as fh:
        Image.new("RGB", size, color).save(fh, "PNG", pnginfo=info)


def _tree(root: Path) -> Path:
    """Thumbnails and photos (two models), a capped bright photo, a file whose PNG parameters decide, a broken
    file (a cached error), a name with a comma and quotes, and a name that is not UTF-8."""
    for i in range(12):
        sub = root / f"d{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        _png(sub / f"thumb{i:02d}.png", (32, 24 + i), 20 * i)
        _png(sub / f"photo{i:02d}.png", (120 + i, 90), 255 - 9 * i)
    _png(root / "bright.png", (300, 200), 255, grey=True)  # the photos model says AI: capped at 'likely'
    _png(root / "sd.png", (200, 150), 30, parameters="a cat, Steps: 20, Sampler: Euler a")
    _png(root / 'odd, "name".png', (32, 32), 200)
    _png(os.path.join(os.fsencode(root), b"caf\xe9.png"), (40, 40), 99)
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def _scan(paths: list[Path], detector: Router, store: ResultStore, options: ScanOptions | None = None
          ) -> tuple[list[ScanRow], ScanFinished, list[RowsReady]]:
    events = list(scan(paths, detector, options, store=store))
    batches = [e for e in events if isinstance(e, RowsReady)]
    finished = [e for e in events if isinstance(e, ScanFinished)]
    return [r for b in batches for r in b.rows], finished[0], batches


def _by_path(rows: list[ScanRow]) -> dict[str, ScanRow]:
    return {r.path: replace(r, cached=False) for r in rows}


def test_a_cached_rescan_gives_every_row_exactly_as_a_scan_that_decodes(tmp_path: Path, router: Router,
                                                                        store: ResultStore) -> None:
    tree = _tree(tmp_path / "tree")
    first, first_done, _ = _scan([tree], router, store)
    again, again_done, batches = _scan([tree], router, store)
    assert len(first) == len(again) == 29
    assert all(isinstance(b.rows, StoredRows) for b in batches)  # nothing was decoded or built per row
    assert all(r.cached for r in again)
    assert _by_path(again) == _by_path(first)
    for r in again:  # patch maps are not compared by ScanRow equality
        twin = _by_path(first)[r.path]
        assert (r.patch_map is None) == (twin.patch_map is None)
        if r.patch_map is not None and twin.patch_map is not None:
            assert abs(r.patch_map - twin.patch_map).max() < 1e-3  # kept as float16
    assert (again_done.done, again_done.errors, again_done.counts) == (first_done.done, first_done.errors,
                                                                         first_done.counts)
    kinds = {(r.model, r.reason.split(";")[0] if r.reason else None) for r in again}
    assert {("thumbs", "model"), ("photos", "model"), ("photos", "PNG parameters: Stable Diffusion web UI"),
            (None, None)} <= kinds
    assert any("capped" in (r.reason or "") for r in again)
    assert any(r.evidence for r in again)
    # the store keeps the copied rows as it keeps any other
    assert _by_path(store.rows(again_done.scan_id)) == _by_path(first)


def test_a_user_threshold_applies_to_copied_rows(tmp_path: Path, router: Router, store: ResultStore) -> None:
    tree = _tree(tmp_path / "tree")
    _scan([tree], router, store)
    options = ScanOptions(threshold=0.3)
    copied, _, _ = _scan([tree], router, store, options)
    decoded, _, _ = _scan([tree], router, store, replace(options, use_cache=False))
    assert _by_path(copied) == _by_path(decoded)
    assert any(r.verdict != d.verdict for r, d in zip(sorted(copied, key=lambda r: r.path),
                                                      sorted(_scan([tree], router, store)[0], key=lambda r: r.path),
                                                      strict=True))


def test_new_and_changed_files_are_decoded_and_the_rest_copied(tmp_path: Path, router: Router,
                                                               store: ResultStore) -> None:
    tree = _tree(tmp_path / "tree")
    _scan([tree], router, store)
    _png(tree / "d1" / "new.png", (30, 30), 77)
    _png(tree / "d2" / "photo05.png", (120, 90), 1)  # changed
    os.utime(tree / "d2" / "photo05.png", ns=(1, 1_000_000_000))
    rows, done, _ = _scan([tree], router, store)
    assert len(rows) == len({r.path for r in rows}) == 30 == done.done
    fresh = {os.path.basename(r.path) for r in rows if not r.cached}
    assert fresh == {"new.png", "photo05.png"}  # the broken file is an error in the file itself: cached
    fresh_again, _, _ = _scan([tree], router, store, ScanOptions(use_cache=False))
    assert _by_path(rows) == _by_path(fresh_again)


def test_the_cli_writes_the_same_csv_jsonl_and_summary_from_copied_rows(
        tmp_path: Path, models: list[Path], pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELPATROL_BUNDLED_MODELS", str(models[0].parent))
    tree = _tree(tmp_path / "tree")

    def run(*extra: str) -> tuple[str, list[str]]:
        assert main(["scan", str(tree), *extra]) == 0
        out, err = capsys.readouterr()
        return out, [line for line in err.splitlines() if " images in " not in line and "scan " not in line]

    first_csv, first_err = run()
    again_csv, again_err = run()
    assert run() == (again_csv, again_err)  # a third shares the second's rows: byte for byte, same summary
    db = sqlite3.connect(pixelpatrol_home / "data" / "pixelpatrol.sqlite3")
    try:
        assert db.execute("SELECT rows_of FROM scans ORDER BY id").fetchall() == [(None,), (None,), (2,)]
    finally:
        db.close()
    assert any("provenance evidence" in line for line in again_err)
    strip = [{k: v for k, v in r.items() if k != "cached"} for r in csv.DictReader(io.StringIO(first_csv))]
    again = list(csv.DictReader(io.StringIO(again_csv)))
    assert {r["cached"] for r in again} == {"True"}
    key = lambda r: r["path"]  # noqa: E731
    assert sorted(strip, key=key) == sorted(({k: v for k, v in r.items() if k != "cached"} for r in again), key=key)
    assert any(r["path_hex"] for r in again) and any("," in r["path"] for r in again)
    assert again_err == first_err
    jsonl, _ = run("--format", "jsonl")
    lines = [json.loads(line) for line in jsonl.splitlines()]
    assert sorted(({k: str(v) if v is not None else "" for k, v in r.items() if k != "cached"} for r in lines),
                  key=key) == sorted(strip, key=key)


def test_decide_answers_a_column_asked_before_the_verdict_and_counts_each_row_once() -> None:
    asked: list[tuple[object, ...]] = []

    def prepare(model: str, width: int | None, height: int | None, finding: str | None):  # type: ignore[no-untyped-def]
        asked.append((model, width, height, finding))
        return lambda score: ("ai", "model") if score > 0.5 else ("real", "model; capped")

    rule = Decide(prepare, lambda finding: finding and f"evidence {finding}")
    assert rule.reason("m", 0.2, 1, 1, "x") == "model; capped"  # before its verdict: decided here
    assert rule.verdict("m", 0.2, 1, 1, "x") == "real"
    assert rule.evidence("m", 0.2, 1, 1, "x") == "evidence x"
    assert rule.verdict("m", 0.9, 1, 1, "x") == "ai"
    assert rule.verdict("n", 0.9, 2, 2, None) == "ai"
    assert rule.evidence("n", 0.9, 2, 2, None) is None
    summary = rule.summary(copied=4)  # one of the four had no score: a cached error
    assert summary.errors == 1 and summary.verdicts == {"real": 1, "ai": 2}
    assert summary.by_model == {"m": 2, "n": 1} and summary.by_evidence == 0


def test_a_routed_rescan_takes_no_cached_answer_of_a_model_the_image_is_not_routed_to(
        tmp_path: Path, router: Router, store: ResultStore) -> None:
    from desktop.core.models.detector import Detector

    tree = _tree(tmp_path / "tree")
    photos = Detector.load(router.member("photos").path, device="cpu")
    _scan([tree], photos, store)  # `--model photos`: every image cached under the photos model, thumbnails too
    rows, _, _ = _scan([tree], router, store)
    fresh, _, _ = _scan([tree], router, store, ScanOptions(use_cache=False))
    assert _by_path(rows) == _by_path(fresh)
    assert {r.model for r in rows if r.width is not None and r.width <= 64} == {"thumbs"}
    assert any(r.cached for r in rows if r.model == "photos")  # the photos' own answers still come from the cache
