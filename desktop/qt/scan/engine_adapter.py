"""The few engine calls the app makes besides scanning, in the shape the widgets want.

Thin on purpose: file operations, export and the history store are the engine's; this module only
re-labels rows with the user's verdicts before export and bundles results for the UI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.qt.common import verdict_style


@dataclass(frozen=True)
class TransferOutcome:
    log_path: Path | None
    done: int
    failed: list[str]
    moved: dict[str, str]  # old path -> new path, for files that were moved


def moved_paths(log_path: Path, undone: bool = False) -> dict[str, str]:
    """From an action log: where each moved file went (or, after undo, came back from)."""
    import json

    try:
        log = json.loads(log_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if log.get("action") != "move":
        return {}
    pairs = {}
    for item in log.get("items", []):
        if item.get("status") != "ok":
            continue
        if undone and item.get("undo") == "ok":
            pairs[str(item["target"])] = str(item["source"])
        elif not undone:
            pairs[str(item["source"])] = str(item["target"])
    return pairs


def _failures(log_path: Path, key: str) -> list[str]:
    import json

    try:
        items = json.loads(log_path.read_text(encoding="utf-8")).get("items", [])
    except (OSError, ValueError):
        return []
    if key == "status":
        return [f"{i.get('source')}: {i.get('error')}" for i in items if i.get("status") == "error"]
    return [
        f"{i.get('target')}: {i.get('undo')}" for i in items if str(i.get("undo", "")).startswith("error")
    ]


def transfer_files(paths: Sequence[str], target: str, move: bool) -> TransferOutcome:
    from desktop.core.scan.actions import transfer_files as engine_transfer

    result = engine_transfer(list(paths), target, "move" if move else "copy")
    moved = moved_paths(result.log_path) if move else {}
    return TransferOutcome(result.log_path, result.done, _failures(result.log_path, "status"), moved)


def undo_transfer(log_path: Path) -> tuple[int, list[str], dict[str, str]]:
    """(files put back, failures, new path -> restored path)."""
    from desktop.core.scan.actions import undo

    result = undo(log_path)
    return result.done, _failures(log_path, "undo"), moved_paths(log_path, undone=True)


def export_rows(rows: Sequence[Any], verdicts: Sequence[str], path: Path) -> Path:
    """Write rows with the verdicts shown on screen (the user's threshold), via the engine's writer."""
    from desktop.core.scan.export import write_rows

    relabelled = [
        row
        if row.error or row.score is None or verdict == verdict_style.ERROR
        else dataclasses.replace(row, verdict=verdict)
        for row, verdict in zip(rows, verdicts, strict=True)
    ]
    write_rows(relabelled, path)
    return path


def list_scans() -> list[Any]:
    from desktop.core.scan.store import ResultStore

    store = ResultStore()
    try:
        return store.list_scans()
    finally:
        store.close()


def load_scan(scan_id: int) -> tuple[Any, list[Any]]:
    """(ScanRecord | None, rows) of one stored scan."""
    from desktop.core.scan.store import ResultStore

    store = ResultStore()
    try:
        return store.get_scan(scan_id), store.rows(scan_id)
    finally:
        store.close()


def delete_scan(scan_id: int) -> None:
    from desktop.core.scan.store import ResultStore

    store = ResultStore()
    try:
        store.delete_scan(scan_id)
    finally:
        store.close()
