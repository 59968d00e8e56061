"""Screenshots of the Training and Gallery areas, driven in the real window (docs/screenshots).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/shots.py gallery OUT.png [FAMILY]
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/shots.py epochs RUN_DIR EPOCH OUT.png
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/shots.py training RUN_DIR OUT.png

gallery:  the bundled FAMILY generator (default dcgan-cifar10) with its discriminator and the CIFAKE
          CNN; 60 images, classes cycling; grabbed once every image has its verdicts.
epochs:   Gallery > "Training samples by epoch" for a GAN run folder, slider at EPOCH (0-based).
training: Training following RUN_DIR's metrics.jsonl (curves, and for a finished classifier run its
          result panel).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QTabWidget, QWidget


def _open(area: Callable[[Any], QWidget]) -> tuple[QApplication, Any, Any]:
    """The app and its main window at screenshot size, showing the area `area(window)`."""
    app = QApplication([sys.argv[0]])
    from desktop.qt.shell.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 880)
    window.show()
    page = area(window)
    window.tabs.setCurrentWidget(page)
    return app, window, page


def _grab(app: QApplication, window: QWidget, out: str, note: Callable[[], str] = lambda: "") -> None:
    window.grab().save(out)
    print(f"saved {out} {note()}".rstrip())
    app.quit()


def gallery(out: str, family: str = "dcgan-cifar10") -> int:
    app, window, page = _open(lambda w: w.gallery_page)
    wanted = ((page.generator, f"{family}-generator"), (page.discriminator, f"{family}-discriminator"),
              (page.detector, "cifake-cnn"))
    ok = {"done": False}

    def choose() -> bool:
        for combo, name in wanted:
            index = next((i for i in range(combo.count()) if name in str(combo.itemData(i))), -1)
            if index < 0:
                print(f"model {name} not found among {[combo.itemText(i) for i in range(combo.count())]}",
                      file=sys.stderr)
                return False
            combo.setCurrentIndex(index)
        page.count.setValue(60)
        return True

    def setup() -> None:
        if page.generator.count() == 0:  # the model list is filled in the background
            QTimer.singleShot(200, setup)
        elif choose():
            page.generate()
        else:
            app.quit()

    def finished(*_: object) -> None:  # verdicts arrive just after the images
        ok["done"] = True
        QTimer.singleShot(1500, lambda: _grab(app, window, out, lambda: f"({page.status.text()})"))

    page.relay.finished.connect(finished)
    QTimer.singleShot(300, setup)
    QTimer.singleShot(60_000, app.quit)
    app.exec()
    return 0 if ok["done"] else 1


def epochs(run_dir: str, epoch: str, out: str) -> int:
    app, window, page = _open(lambda w: w.gallery_page)
    tabs = page.findChild(QTabWidget)
    assert tabs is not None
    tabs.setCurrentWidget(page.epochs)
    print(f"{page.epochs.open_run(run_dir)} sample grids in {run_dir}")
    page.epochs.slider.setValue(int(epoch))
    QTimer.singleShot(1500, lambda: _grab(app, window, out, lambda: f"({page.epochs.caption.text()})"))
    app.exec()
    return 0


def training(run_dir: str, out: str) -> int:
    app, window, page = _open(lambda w: w.training_page)
    QTimer.singleShot(200, lambda: page.follow(run_dir))
    QTimer.singleShot(5000, lambda: _grab(app, window, out))
    app.exec()
    return 0


if __name__ == "__main__":
    commands = {"gallery": gallery, "epochs": epochs, "training": training}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
