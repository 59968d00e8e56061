"""Copying or moving flagged files into a folder, with a JSON log that `undo` replays backwards.

Nothing here asks the user anything; the caller (CLI or app) confirms first. Nothing is ever
overwritten: a name that is taken becomes `name (1).ext`, reserved atomically with O_EXCL.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core import paths as user_paths

ACTIONS = ("copy", "move")


@dataclass(frozen=True)
class ActionResult:
    log_path: Path
    done: int
    failed: int


def _reserve(dest: Path, name: str) -> Path:
    """Create an empty file with a free name in `dest` and return it (never an existing name)."""
    stem, suffix = os.path.splitext(name)
    for i in range(100_000):
        candidate = dest / (name if i == 0 else f"{stem} ({i}){suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise OSError(f"no free name for {name} in {dest}")


def _transfer(source: Path, target: Path, move: bool) -> None:
    """Fill the reserved `target` from `source` (copy keeps timestamps)."""
    if move:
        try:
            os.replace(source, target)  # same filesystem: atomic; replaces only our empty placeholder
            return
        except OSError:
            pass  # another filesystem: copy, then remove the source
    with open(source, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    shutil.copystat(source, target)
    if move:
        os.unlink(source)


def _write_log(log_path: Path, log: dict[str, object]) -> None:
    tmp = log_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(log, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, log_path)


def transfer_files(sources: Sequence[str | Path], destination: str | Path, action: str = "copy",
                   log_dir: str | Path | None = None) -> ActionResult:
    """Copy or move files into `destination`; returns where the log is. Failures are logged, not raised."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    dest = Path(destination)
    dest.mkdir(parents=True, exist_ok=True)
    logs = Path(log_dir) if log_dir is not None else user_paths.user_data_dir() / "actions"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_path = _reserve(logs, f"{stamp}-{action}.json")
    items: list[dict[str, object]] = []
    log: dict[str, object] = {"version": 1, "action": action, "destination": str(dest.resolve()),
                              "created": time.time(), "items": items, "undone": False}
    for raw in sources:
        source = Path(raw).resolve()
        item: dict[str, object] = {"source": str(source)}
        target: Path | None = None
        try:
            if not source.is_file():
                raise FileNotFoundError(f"not a file: {source}")
            target = _reserve(dest, source.name)
            _transfer(source, target, action == "move")
            st = target.stat()
            item.update(target=str(target), status="ok", size=st.st_size, mtime_ns=st.st_mtime_ns)
        except OSError as exc:
            if target is not None and target.exists() and target.stat().st_size == 0:
                target.unlink()  # our own placeholder
            item.update(status="error", error=str(exc))
        items.append(item)
        _write_log(log_path, log)  # after every file, so a crash leaves an accurate log
    _write_log(log_path, log)
    ok = sum(1 for i in items if i["status"] == "ok")
    return ActionResult(log_path, ok, len(items) - ok)


def undo(log_path: str | Path) -> ActionResult:
    """Put things back: moved files return to where they were, copies are deleted.

    A copy that was changed since (size or mtime differ) is kept; a moved file whose old place is
    taken again is left where it is. Both are reported in the log, never overwritten.
    """
    path = Path(log_path)
    log = json.loads(path.read_text(encoding="utf-8"))
    if log.get("undone"):
        raise ValueError(f"{path}: already undone")
    done = failed = 0
    for item in log["items"]:
        if item.get("status") != "ok":
            continue
        target, source = Path(item["target"]), Path(item["source"])
        try:
            st = target.stat()
            if log["action"] == "copy":
                if (st.st_size, st.st_mtime_ns) != (item["size"], item["mtime_ns"]):
                    raise OSError(f"copy was modified since, kept: {target}")
                target.unlink()
            else:
                source.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)  # refuses if taken
                os.close(fd)
                _transfer(target, source, move=True)
            item["undo"] = "ok"
            done += 1
        except OSError as exc:
            item["undo"] = f"error: {exc}"
            failed += 1
    log["undone"] = True
    _write_log(path, log)
    return ActionResult(path, done, failed)
