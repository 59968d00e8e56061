"""Screenshot of the Gallery with the shipped generator, discriminator and detector (docs/screenshots).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/shot_gallery.py docs/screenshots/part2-gallery.png
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/shot_gallery.py docs/screenshots/part2-gallery-faces.png faces

Opens the real window with the bundled models, switches to Gallery, generates COUNT images (classes
cycling), waits until each has its discriminator and detector verdicts, grabs the window and quits.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main(out: str, family: str = "dcgan-cifar10", count: int = 60) -> int:
    app = QApplication([sys.argv[0]])
    from desktop.qt.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 880)
    window.show()
    page = window.gallery_page
    window.tabs.setCurrentWidget(page)
    def setup() -> None:
        if page.generator.count() == 0:  # the model list is filled in the background
            QTimer.singleShot(200, setup)
            return
        if choose():
            page.generate()
        else:
            app.quit()

    def choose() -> bool:
        for combo, name in ((page.generator, f"{family}-generator"), (page.discriminator, f"{family}-discriminator"),
                        (page.detector, "cifake-cnn")):
            index = next((i for i in range(combo.count()) if name in str(combo.itemData(i))), -1)
            if index < 0:
                print(f"model {name} not found among {[combo.itemText(i) for i in range(combo.count())]}",
                      file=sys.stderr)
                return False
            combo.setCurrentIndex(index)
        page.count.setValue(count)
        return True

    done = {"ok": False}

    def finished(*_: object) -> None:
        # judgements arrive after the images; give the relay a moment, then grab
        QTimer.singleShot(1500, grab)

    def grab() -> None:
        window.grab().save(out)
        print(f"saved {out}; status: {page.status.text()}")
        done["ok"] = True
        app.quit()

    page.relay.finished.connect(finished)
    QTimer.singleShot(300, setup)
    QTimer.singleShot(60_000, app.quit)
    app.exec()
    return 0 if done["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
