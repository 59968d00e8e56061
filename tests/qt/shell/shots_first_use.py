"""Screenshots of what issue 16 changed (docs/screenshots/first-use-*.png), taken from the real window on a
display, like desktop/qt/shell/debug_shots.py. The folder is opened the way `pixelpatrol FOLDER` opens it: the scan
is asked for before the model list has loaded.

    PIXELPATROL_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python -m tests.qt.shell.shots_first_use \
        FOLDER --out docs/screenshots
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent
from PySide6.QtWidgets import QApplication, QWidget


def _wait(app: QApplication, done: Callable[[], bool], timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > end:
            raise TimeoutError("the window did not reach the state for the screenshot")
        app.processEvents()
        time.sleep(0.02)


def _settle(app: QApplication, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def _shot(app: QApplication, widget: QWidget, path: Path) -> None:
    _settle(app)
    widget.grab().save(str(path))
    print(f"wrote {path}", flush=True)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--out", default="docs/screenshots")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    from desktop.qt.shell.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    page = window.scan_page
    results = page.results
    finished: list[object] = []
    page.scan_finished.connect(finished.append)
    page.start_scan([args.folder])  # before the model list has arrived, as `pixelpatrol FOLDER` does
    _wait(app, lambda: len(finished) == 1)

    # 1. the folder scanned on opening; the XMP image selected: evidence as fields; what was skipped
    names = [Path(r.path).name for r, _ in results.shown_rows()]
    results.select_proxy_row(names.index("edited_xmp.png"))
    _wait(app, lambda: "XMP" in page.detail.evidence_view.toPlainText())
    _shot(app, window, out / "first-use-opened-on-folder.png")

    # 2. another model chosen: the rows are marked stale, a rescan with it is offered
    combo = page.toolbar.model_combo
    combo.setCurrentIndex(next(i for i in range(combo.count()) if "PatchGAN" in combo.itemText(i)))
    _wait(app, lambda: page.results_stale)
    _shot(app, window, out / "first-use-model-changed.png")

    # 3. rescanned with it: its thresholds, its heatmap with the colour legend
    page.banner.action_button.click()
    _wait(app, lambda: len(finished) == 2)
    names = [Path(r.path).name for r, _ in results.shown_rows()]
    results.select_proxy_row(names.index("fake_05.jpg"))
    _wait(app, lambda: page.detail.preview.has_heatmap)
    _shot(app, window, out / "first-use-rescanned-heatmap.png")

    # 4. the grid, filtered to the flagged images: counts follow the filter
    results.filter_bar.verdict_combo.setCurrentIndex(1)
    results.set_view("grid")
    results.grid.setCurrentIndex(results.proxy.index(0, 0))
    _settle(app, 1.5)  # grid thumbnails decode in the background
    _shot(app, window, out / "first-use-grid.png")

    # 5. the full-size viewer, zoomed in, heatmap on
    viewer = page.show_full_size(page.detail.row)
    assert viewer is not None
    viewer.resize(760, 640)
    _wait(app, lambda: "px" in viewer.info.text())
    viewer.heatmap_check.setChecked(True)
    viewer.view.fit()
    _shot(app, viewer, out / "first-use-viewer.png")
    viewer.close()

    # 6. Help > About
    dialog = window.show_about()
    _shot(app, dialog, out / "first-use-about.png")
    dialog.close()

    # 7. files dragged over the Scan area
    results.filter_bar.verdict_combo.setCurrentIndex(0)
    results.set_view("table")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(args.folder)])
    QApplication.sendEvent(page.empty_state if page.empty_state.isVisible() else results.table.viewport(),
                           QDragEnterEvent(QPoint(40, 40), Qt.DropAction.CopyAction, mime,
                                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    _shot(app, window, out / "first-use-drop-highlight.png")
    page.drop_overlay.hide()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
