"""Entry point of the desktop app: `pixelpatrol` (no arguments) or `python -m desktop.qt.shell.app`."""

from __future__ import annotations

import argparse
import os
import sys
import time

START = time.perf_counter()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pixelpatrol gui", description="Open the PixelPatrol desktop app.")
    from desktop import __version__

    parser.add_argument("paths", nargs="*", help="folders or images to scan right away")
    parser.add_argument("--version", "-V", action="version", version=f"pixelpatrol {__version__}")
    parser.add_argument("--smoke", action="store_true", help="open the window, process events, quit (exit 0)")
    parser.add_argument("--screenshot", metavar="PNG", help="debug: save a picture of the window, then quit")
    parser.add_argument(
        "--shot-when",
        choices=("ready", "scanning", "finished"),
        default="ready",
        help="with --screenshot: when to take it",
    )
    parser.add_argument("--model", help="with --screenshot: use this model file")
    parser.add_argument("--size", default="1280x800", help="with --screenshot: window size WxH")
    parser.add_argument("--select", help="with --screenshot: select this file name's row (default: top score)")
    return parser.parse_args(argv)


def _no_display() -> bool:
    """Qt aborts the process when it has no platform to draw on; say why in one line instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    if _no_display():
        print(
            "pixelpatrol: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run it from a desktop session, "
            "or use `pixelpatrol scan FOLDER` on the command line.",
            file=sys.stderr,
        )
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "pixelpatrol"])
    assert isinstance(app, QApplication)
    app.setApplicationName("PixelPatrol")
    app.setOrganizationName("PixelPatrol")
    app.setDesktopFileName("pixelpatrol")

    from desktop.qt.shell.main_window import MainWindow

    window = MainWindow()
    window.show()
    if args.screenshot:
        from desktop.qt.shell.debug_shots import ScreenshotDirector

        director = ScreenshotDirector(
            window, args.screenshot, args.shot_when, args.paths, args.model, args.size, args.select
        )
        director.start()
    elif args.paths:
        QTimer.singleShot(0, lambda: window.scan_page.start_scan(list(args.paths)))
    if args.smoke:
        startup_s = time.perf_counter() - START
        QTimer.singleShot(
            200,
            lambda: (
                print(f"smoke: window shown in {startup_s:.2f} s", flush=True),
                window.close(),
                app.quit(),
            ),
        )
    code = app.exec()
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
