"""Screenshot of Gallery > "Training samples by epoch" for a GAN run folder (docs/screenshots).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/shot_epochs.py RUN_DIR EPOCH OUT.png
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QTabWidget


def main(run_dir: str, epoch: int, out: str) -> int:
    app = QApplication([sys.argv[0]])
    from desktop.qt.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 880)
    window.show()
    page = window.gallery_page
    window.tabs.setCurrentWidget(page)
    tabs = page.findChild(QTabWidget)
    assert tabs is not None
    tabs.setCurrentWidget(page.epochs)
    found = page.epochs.open_run(run_dir)
    print(f"{found} sample grids in {run_dir}")
    page.epochs.slider.setValue(epoch)

    def grab() -> None:
        window.grab().save(out)
        print(f"saved {out}: {page.epochs.caption.text()}")
        app.quit()

    QTimer.singleShot(1500, grab)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
