"""Screenshots of "train your own detector" end to end (docs/screenshots/train-own-*.png): the form filled
with two folders, the live curves, the finished run, and a scan with the new model. Drives the real window
and a real `pixelpatrol-train` (on PATH). Run on a display (Xvfb):

    PATH=$PWD/.venv/bin:$PATH PIXELPATROL_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1400x900x24" \
        .venv/bin/python -m tests.qt.training.shots_train_own --real REAL_DIR --ai AI_DIR --check SCAN_DIR \
        --run RUN_DIR --out docs/screenshots
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("real", "ai", "check", "run", "out"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--epochs", type=int, default=12)
    args = p.parse_args()
    app = QApplication(sys.argv[:1])
    from desktop.qt.shell.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 880)
    window.show()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    page = window.training_page

    def shoot(name: str) -> None:
        window.grab().save(str(out / name))
        print("saved", out / name, flush=True)

    def when(ready: Callable[[], bool], then: Callable[[], None], give_up_s: int = 900) -> None:
        left = [give_up_s * 5]

        def poll() -> None:
            left[0] -= 1
            if ready():
                then()
            elif left[0] <= 0:
                print("gave up waiting", flush=True)
                app.exit(1)
            else:
                QTimer.singleShot(200, poll)

        QTimer.singleShot(200, poll)

    def form() -> None:
        window.tabs.setCurrentWidget(page)
        f = page.form
        f.recipe.setCurrentIndex(f.recipe.findData("cifake-cnn"))
        f.add_data(f"real={args.real}")
        f.add_data(f"fake={args.ai}")
        f.epochs.setValue(args.epochs)
        f.batch_size.setValue(32)
        f.out.setText(args.run)
        page.show_message("Two folders: your known-real photos (real=) and the AI images you caught (fake=).")
        QTimer.singleShot(500, lambda: (shoot("train-own-form.png"), start()))

    def start() -> None:
        assert page.start_run(), page.message.text()
        when(lambda: page.follower is not None and page.follower.history.progress.epoch >= max(3, args.epochs // 2)
             and page.follower.history.status == "running",
             lambda: QTimer.singleShot(600, lambda: (shoot("train-own-live.png"), finished())))

    def finished() -> None:
        when(lambda: page.follower is not None and page.follower.history.status == "completed"
             and page.result.isVisible() and not page.trainer.is_running(),
             lambda: QTimer.singleShot(800, lambda: (shoot("train-own-result.png"), register())))

    def register() -> None:
        page.result.register.click()
        scan = window.scan_page
        when(lambda: "yours" in scan.toolbar.model_combo.currentText(), scan_with_it)

    def scan_with_it() -> None:
        scan = window.scan_page
        window.tabs.setCurrentWidget(scan)
        when(lambda: "…" not in scan.toolbar.device_label.text(), start_scan, 60)

    def start_scan() -> None:
        scan = window.scan_page
        scan.start_scan([args.check])
        when(lambda: not scan.worker.busy and scan.results.model.rowCount() > 0,
             lambda: QTimer.singleShot(1500, lambda: (shoot("train-own-scan.png"), app.exit(0))), 120)

    QTimer.singleShot(1500, form)
    code = app.exec()
    window.close()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
