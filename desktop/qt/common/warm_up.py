"""Import slow optional modules (pyqtgraph: ~1 s) in a background thread after the window is shown.

Importing them on the GUI thread the first time a histogram is drawn froze the window for a second
mid-scan (benchmarks/bench_ui.py). Widgets ask `ready(name)` and draw later if it is not there yet,
so the GUI thread never waits on the import lock.
"""

from __future__ import annotations

import importlib
import threading

_done: dict[str, threading.Event] = {}
_lock = threading.Lock()


def start(*names: str) -> None:
    with _lock:
        todo = [n for n in names if n not in _done]
        for name in todo:
            _done[name] = threading.Event()
    if todo:
        threading.Thread(target=_run, args=(todo,), name="pixelpatrol-warm-up", daemon=True).start()


def _run(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass
        finally:
            _done[name].set()


def ready(name: str) -> bool:
    """True once `name` can be imported without blocking (warmed up, or never asked for: import now)."""
    event = _done.get(name)
    return event is None or event.is_set()
