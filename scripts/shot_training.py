"""Screenshot of the Training area following a run folder (docs/screenshots).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/shot_training.py RUN_DIR OUT.png [--overlay RUN_DIR2]

Opens the real window, switches to Training, follows RUN_DIR (its metrics.jsonl, as it is or as it
grows), waits a few seconds for the curves and, for a finished classifier run, its result panel,
grabs the window and quits.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main(argv: list[str]) -> int:
    run_dir, out = argv[0], argv[1]
    overlay = argv[argv.index("--overlay") + 1] if "--overlay" in argv else None
    app = QApplication([sys.argv[0]])
    from desktop.qt.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 880)
    window.show()
    page = window.training_page
    window.tabs.setCurrentWidget(page)
    QTimer.singleShot(200, lambda: page.follow(run_dir))
    if overlay:
        QTimer.singleShot(1500, lambda: page.overlay(overlay))

    def grab() -> None:
        window.grab().save(out)
        print(f"saved {out}")
        app.quit()

    QTimer.singleShot(5000, grab)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
