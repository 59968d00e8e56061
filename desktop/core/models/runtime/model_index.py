"""What onnxruntime once read from a model file, kept by (path, size, mtime), so that a scan whose every file
is in the result cache needs neither onnxruntime nor a read of the model's bytes to know which model it
runs and that the model is usable.

One small JSON file in the user's cache folder: for each model file its content digest (sha256) and
the facts the contract checks need (metadata, graph inputs with their element types, outputs). Only
files that onnxruntime loaded are kept; their contracts are checked again from the facts every time,
so a change to the checks needs no new entry. An entry counts only while the file's size and mtime and
the installed onnxruntime are the same; a file modified in the last `RACY_S` seconds is not recorded
(file systems stamp mtimes with a coarse clock, so a second write within the same tick would go
unseen; git calls these entries "racy"). Reading or writing the index never fails a load: a missing,
damaged or unwritable index only means onnxruntime is asked again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NamedTuple

from desktop.core import paths

INDEX_NAME = "model-index.json"
VERSION = 1
RACY_S = 2.0


def file_digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class GraphInput(NamedTuple):
    """A graph input as onnxruntime describes it (`NodeArg`: name, shape, element type)."""

    name: str
    shape: list[int | str | None]
    type: str


@dataclass(frozen=True)
class ModelFacts:
    """What the contract checks read from a loaded model: metadata, inputs and outputs of the graph."""

    metadata: dict[str, str]
    inputs: list[GraphInput]
    outputs: dict[str, list[int | str | None]]

    @property
    def input_shapes(self) -> dict[str, list[int | str | None]]:
        return {i.name: i.shape for i in self.inputs}

    @classmethod
    def from_session(cls, session: Any) -> ModelFacts:
        return cls(dict(session.get_modelmeta().custom_metadata_map),
                   [GraphInput(a.name, list(a.shape), a.type) for a in session.get_inputs()],
                   {a.name: list(a.shape) for a in session.get_outputs()})

    def to_json(self) -> dict[str, Any]:
        return {"metadata": self.metadata, "inputs": [list(i) for i in self.inputs], "outputs": self.outputs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelFacts:
        return cls({str(k): str(v) for k, v in data["metadata"].items()},
                   [GraphInput(str(n), list(s), str(t)) for n, s, t in data["inputs"]],
                   {str(k): list(v) for k, v in data["outputs"].items()})


def _index_path() -> Path:
    return paths.user_cache_dir() / INDEX_NAME


def _runtime() -> list[int] | None:
    """The installed onnxruntime, by its package file's size and mtime (found without importing it); in a
    frozen app, where that file may not exist on its own, the app's executable."""
    try:
        spec = find_spec("onnxruntime")
        st = os.stat(spec.origin) if spec is not None and spec.origin else None
    except (ImportError, ValueError, OSError):
        st = None
    if st is None and getattr(sys, "frozen", False):
        with contextlib.suppress(OSError):
            st = os.stat(sys.executable)
    return None if st is None else [st.st_size, st.st_mtime_ns]


def _file_key(path: Path) -> tuple[str, list[int]] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.abspath(path), [st.st_size, st.st_mtime_ns]


def _read() -> dict[str, Any]:
    try:
        data = json.loads(_index_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and data.get("version") == VERSION and isinstance(data.get("models"), dict)
    return data if ok else {}


def lookup(path: Path) -> tuple[ModelFacts, str] | None:
    """(facts, sha256) of a model file onnxruntime loaded before, unchanged since; else None."""
    key = _file_key(path)
    if key is None:
        return None
    data = _read()
    entry = data.get("models", {}).get(key[0]) if data.get("runtime") == _runtime() else None
    if not isinstance(entry, dict) or entry.get("stat") != key[1]:
        return None
    try:
        return ModelFacts.from_json(entry["facts"]), str(entry["digest"])
    except (KeyError, TypeError, ValueError):
        return None


def record(path: Path, facts: ModelFacts) -> str:
    """Keep what onnxruntime read from `path` (loaded successfully); its sha256, read now."""
    digest = file_digest(path)
    key = _file_key(path)
    runtime = _runtime()
    if key is None or runtime is None or time.time_ns() - key[1][1] < RACY_S * 1e9:
        return digest
    data = _read()
    models = data.get("models", {}) if data.get("runtime") == runtime else {}
    models = {p: e for p, e in models.items() if os.path.exists(p)}  # files deleted since: forgotten
    models[key[0]] = {"stat": key[1], "digest": digest, "facts": facts.to_json()}
    import tempfile

    tmp = None
    try:
        target = _index_path()
        fd, tmp = tempfile.mkstemp(prefix=".model-index-", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": VERSION, "runtime": runtime, "models": models}, fh)
        os.replace(tmp, target)  # whole or not at all, whichever process writes last
        tmp = None
    except OSError:
        pass  # not kept: onnxruntime is asked again next time
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return digest
