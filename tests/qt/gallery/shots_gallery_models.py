"""Screenshots of the Training, Gallery and Models tabs (docs/screenshots), like desktop/qt/shell/debug_shots.py:
drive the real window to a state, grab it to a PNG, quit. Run on a display (Xvfb):

    PIXELPATROL_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python -m tests.qt.gallery.shots_gallery_models \
        --follow /work/runs/dcgan --finished /work/runs/cifake-cnn-v1 --gan-run /work/runs/faces \
        --generator G.onnx --discriminator D.onnx --detector DET.onnx --broken X.onnx --out docs/screenshots
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("follow", "finished", "gan_run", "generator", "discriminator", "detector", "broken", "out",
                 "generator_note"):
        p.add_argument("--" + name.replace("_", "-"), default="")
    args = p.parse_args()
    from desktop.core.paths import user_models_dir

    for model in (args.generator, args.discriminator, args.detector, args.broken):
        if model:
            shutil.copy(model, user_models_dir() / Path(model).name)
    app = QApplication(sys.argv[:1])
    from desktop.qt.shell.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 880)
    window.show()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[int, object]] = []

    def shoot(name: str) -> None:
        window.grab().save(str(out / name))
        print("saved", out / name, flush=True)

    def training_live() -> None:
        window.tabs.setCurrentWidget(window.training_page)
        window.training_page.follow(args.follow)
        window.training_page.show_message(f"Following a live run: {args.follow}")

    def training_finished() -> None:
        window.training_page.follow(args.finished)
        window.training_page.show_message(f"Following a finished run: {args.finished}")

    def gallery() -> None:
        page = window.gallery_page
        window.tabs.setCurrentWidget(page)
        page.count.setValue(200)
        if args.generator_note:
            page.relay.finished.connect(
                lambda _n: page.status.setText(page.status.text() + "<br><b>" + args.generator_note + "</b>"))
        page.generate()

    def epochs() -> None:
        page = window.gallery_page
        page.tabs.setCurrentWidget(page.epochs)
        page.epochs.open_run(args.gan_run)

    def models() -> None:
        window.tabs.setCurrentWidget(window.models_page)

    plan = [
        (2500, training_live), (6000, lambda: shoot("training-live.png")),
        (500, training_finished), (3000, lambda: shoot("training-finished.png")),
        (500, gallery), (5000, lambda: None), (500, lambda: shoot("gallery.png")),
        (500, epochs), (1500, lambda: shoot("gallery-epochs.png")),
        (500, models), (2000, lambda: shoot("models.png")),
        (200, lambda: (window.close(), app.quit())),
    ]
    delay = 0
    for wait, fn in plan:
        delay += wait
        QTimer.singleShot(delay, fn)
    steps.clear()
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
