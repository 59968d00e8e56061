"""Responsiveness of the desktop app: event-loop stalls while scanning, and sorting 100,000 rows.

    .venv/bin/python benchmarks/bench_ui.py              # the numbers in docs/benchmarks.md
    .venv/bin/python benchmarks/bench_ui.py --images 2000 --rows 20000   # quick

Runs the real MainWindow on the offscreen platform (no display needed) in a private PIXELPATROL_HOME.
1. Stall: a 5 ms QTimer on the GUI thread records the gap between its ticks while the window scans a
   folder of small CIFAR-10 JPEGs (taken from /work/shared/data, or generated if absent); the longest
   gap beyond 5 ms is the longest freeze a user could feel. Reference in the same run: the same timer
   on the idle window for 2 s. Also the app's scan rate against the bare engine generator on the same
   files with a fresh cache (what the UI costs in throughput), and the CPU time the GUI thread itself
   used during the scan (load-independent: how much work the window does per image).
2. Sort: 100,000 synthetic rows in ResultsModel behind the filter proxy and a visible table; time for a
   header-click sort by score and by name. Reference: Qt's own QSortFilterProxyModel sort of the same
   rows through a sort role (the usual approach, which calls into Python per comparison).
The model is the bundled `cifake-cnn` when present, else a CIFAKE-sized tiny CNN from tests/helpers
(same compute cost, meaningless scores). The machine may be shared: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
CIFAR_ZIP = Path("/work/shared/data/cifar10_train_jpeg.zip")
TICK_MS = 5


def make_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if CIFAR_ZIP.is_file():
        with zipfile.ZipFile(CIFAR_ZIP) as z:
            names = sorted(n for n in z.namelist() if n.endswith(".jpg"))[:count]
            for i, name in enumerate(names):
                sub = folder / f"d{i // 1000:02d}"
                sub.mkdir(exist_ok=True)
                (sub / f"{i:05d}.jpg").write_bytes(z.read(name))
        if len(names) >= count:
            return
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG", quality=75)
        sub = folder / f"g{i // 1000:02d}"
        sub.mkdir(exist_ok=True)
        (sub / f"{i:05d}.jpg").write_bytes(buf.getvalue())


def pick_model(tmp: Path) -> Path:
    bundled = REPO / "onnx_models" / "cifake-cnn.onnx"
    if bundled.is_file():
        return bundled
    from tests.helpers.tiny_models import build_cnn_detector

    return build_cnn_detector(tmp / "tiny-cnn.onnx")


class StallMeter:
    """Gaps between ticks of a short GUI-thread timer; a gap of g ms means the loop was busy g - 5 ms."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> dict[str, float]:
        self._timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        return {
            "max_ms": round(gaps[-1], 1),
            "p99_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1),
            "ticks": len(gaps),
        }


def wait_until(app: Any, cond: Any, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.001)


def bench_stall(folder: Path, model: Path, count: int) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from desktop.qt.shell.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    page = window.scan_page
    wait_until(app, lambda: page.toolbar.current_model() != "", 60)
    combo = page.toolbar.model_combo
    combo.setCurrentIndex(combo.findData(str(model)))
    wait_until(app, lambda: page._contract_thresholds is not None, 60)

    meter = StallMeter()
    meter.start()
    wait_until(app, lambda: len(meter.gaps) >= 400, 30)  # ~2 s idle, the reference
    idle = meter.stop()

    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    page.scan_finished.connect(lambda _e: loop.quit())
    QTimer.singleShot(1_800_000, loop.quit)
    meter.start()
    t0, cpu0 = time.perf_counter(), time.thread_time()
    page.start_scan([str(folder)])
    loop.exec()  # a plain event loop, as in the app: no polling of our own on the GUI thread
    seconds, gui_cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    scanning = meter.stop()
    rows = page.results.model.rowCount()
    window.close()
    assert rows == count, (rows, count)
    return {
        "idle": idle,
        "scanning": scanning,
        "app_seconds": round(seconds, 2),
        "gui_thread_cpu_s": round(gui_cpu, 2),
        "gui_thread_busy_fraction": round(gui_cpu / seconds, 3),
        "app_images_per_s": round(count / seconds, 1),
    }


def bench_engine_only(folder: Path, model: Path, count: int) -> dict[str, Any]:
    from desktop.core.models.detector import Detector
    from desktop.core.scan.engine import scan
    from desktop.core.scan.events import ScanFinished, ScanOptions
    from desktop.core.scan.store import ResultStore

    store = ResultStore(Path(os.environ["PIXELPATROL_HOME"]) / "engine-only.sqlite3")
    detector = Detector.load(model)
    t0 = time.perf_counter()
    finished = None
    for event in scan([folder], detector, ScanOptions(use_cache=False), store=store):
        if isinstance(event, ScanFinished):
            finished = event
    seconds = time.perf_counter() - t0
    assert finished is not None and finished.done == count
    return {"engine_seconds": round(seconds, 2), "engine_images_per_s": round(count / seconds, 1)}


def bench_sort(n: int) -> dict[str, Any]:
    import random

    from PySide6.QtCore import QSortFilterProxyModel, Qt
    from PySide6.QtWidgets import QApplication, QTableView

    from desktop.core.scan.events import ScanRow
    from desktop.qt.scan.results.results_model import SCORE_ROLE, Column, ResultsModel
    from desktop.qt.scan.results.results_panel import ResultsTableView
    from desktop.qt.scan.results.results_proxy import ResultsFilterProxy

    app = QApplication.instance() or QApplication([])
    rng = random.Random(0)
    rows = [
        ScanRow(
            f"/photos/{rng.randrange(500):03d}/IMG_{i:06d}.jpg",
            rng.random(),
            "uncertain",
            32,
            32,
            "JPEG",
            rng.randrange(500, 5000),
            0,
            None,
        )
        for i in range(n)
    ]
    model = ResultsModel()
    proxy = ResultsFilterProxy(model)
    view = ResultsTableView()
    view.setModel(proxy)
    view.resize(1000, 700)
    view.show()
    t0 = time.perf_counter()
    for start in range(0, n, 2000):  # as the scan delivers them
        model.append_rows(rows[start : start + 2000])
    app.processEvents()
    append_s = time.perf_counter() - t0

    def timed(column: int, order: Qt.SortOrder) -> float:
        t = time.perf_counter()
        view.sortByColumn(column, order)
        app.processEvents()  # include the repaint of the visible rows
        return time.perf_counter() - t

    by_score = timed(Column.SCORE, Qt.SortOrder.DescendingOrder)
    by_name = timed(Column.NAME, Qt.SortOrder.AscendingOrder)
    view.close()

    # Reference: Qt sorting in the proxy through a sort role (per-comparison data() calls into Python).
    ref_model = ResultsModel()
    ref_model.append_rows(rows)
    ref_proxy = QSortFilterProxyModel()
    ref_proxy.setSourceModel(ref_model)
    ref_proxy.setSortRole(SCORE_ROLE)
    t = time.perf_counter()
    ref_proxy.sort(Column.SCORE, Qt.SortOrder.DescendingOrder)
    ref_s = time.perf_counter() - t
    top = ref_proxy.index(0, 0).data(SCORE_ROLE)
    assert abs(top - max(r.score for r in rows)) < 1e-12
    del QTableView
    return {
        "rows": n,
        "append_in_chunks_s": round(append_s, 3),
        "sort_by_score_s": round(by_score, 3),
        "sort_by_name_s": round(by_name, 3),
        "reference_qt_proxy_sort_by_score_s": round(ref_s, 3),
        "speedup_vs_reference": round(ref_s / by_score, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pp-bench-ui-"))
    os.environ["PIXELPATROL_HOME"] = str(tmp / "home")
    os.environ["PIXELPATROL_BUNDLED_MODELS"] = str(tmp / "models")
    try:
        model = pick_model(tmp)
        (tmp / "models").mkdir()
        shutil.copy(model, tmp / "models" / model.name)
        model = tmp / "models" / model.name
        folder = tmp / "images"
        make_images(folder, args.images)
        result: dict[str, Any] = {"model": model.name, "images": args.images, "cpus": os.cpu_count()}
        result["stall"] = bench_stall(folder, model, args.images)
        result["engine_only"] = bench_engine_only(folder, model, args.images)
        result["ui_throughput_ratio"] = round(
            result["stall"]["app_images_per_s"] / result["engine_only"]["engine_images_per_s"], 2
        )
        result["sort"] = bench_sort(args.rows)
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
