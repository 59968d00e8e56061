"""The models a user has: the bundled ones and those in the user's models folder, each checked; the
default detector; a model named on the command line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core import paths
from desktop.core.models.checks import metadata_problem
from desktop.core.models.contract import ModelContract
from desktop.core.models.detector import ModelError, checked_contract
from desktop.core.models.runtime import model_index
from desktop.core.models.runtime.device import cpu_session, first_line
from desktop.core.models.runtime.model_index import ModelFacts


@dataclass(frozen=True)
class ModelEntry:
    """A model file found on disk; `error` says why it cannot be used (then `contract` is None)."""

    path: Path
    source: str  # "bundled" | "user"
    contract: ModelContract | None
    error: str | None

    @property
    def name(self) -> str:
        return self.contract.name if self.contract else self.path.stem


def inspect_model(path: Path, source: str = "user") -> ModelEntry:
    """Read and check a model's contract on the CPU (cheap; no device probing; no onnxruntime at all for a
    file the model index knows)."""
    if (problem := metadata_problem(path)) is not None:
        return ModelEntry(path, source, None, f"{path}: {problem}")
    known = model_index.lookup(path)
    if known is None:
        try:
            facts = ModelFacts.from_session(cpu_session(path, 1))
        except Exception as exc:
            return ModelEntry(path, source, None, f"{path}: not a loadable ONNX model ({first_line(exc)})")
        model_index.record(path, facts)
    else:
        facts = known[0]
    try:
        return ModelEntry(path, source, checked_contract(path, facts), None)
    except ModelError as exc:
        return ModelEntry(path, source, None, str(exc))


def list_models() -> list[ModelEntry]:
    """Bundled models first, then the user's models folder; broken files are listed with their error."""
    entries: list[ModelEntry] = []
    for source, folder in (("bundled", paths.bundled_models_dir()), ("user", paths.user_models_dir())):
        if folder.is_dir():
            entries += [inspect_model(p, source) for p in sorted(folder.glob("*.onnx"))]
    return entries


def default_model(entries: Sequence[ModelEntry] | None = None) -> ModelEntry | None:
    """The detector to use when one model must be named and none was: among usable detectors (bundled ones
    first), the one whose contract declares the highest measured trust AUROC; no model is named in code."""
    entries = list_models() if entries is None else entries
    detectors = [e for e in entries if e.contract is not None and e.contract.kind == "detector"]
    bundled = [e for e in detectors if e.source == "bundled"]
    candidates = bundled or detectors
    if not candidates:
        return None

    def measured(e: ModelEntry) -> float:
        auroc = e.contract.trust.auroc if e.contract is not None else None
        return -1.0 if auroc is None else auroc

    return max(candidates, key=measured)  # the first listed among equals


def resolve_model(name_or_path: str | Path | None) -> Path:
    """A model file from a path, a contract name or a file stem; None means the default model."""
    if name_or_path is None:
        entry = default_model()
        if entry is None:
            raise ModelError(
                "no detector model installed: pass --model FILE.onnx (or put one in "
                f"{paths.user_models_dir()})"
            )
        return entry.path
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    if candidate.is_file():
        return candidate
    if candidate.suffix.lower() == ".onnx" or os.sep in text or (os.altsep and os.altsep in text):
        raise ModelError(f"{candidate}: model file not found")
    entries = list_models()
    for entry in entries:
        if entry.contract is not None and entry.contract.name == text:
            return entry.path
    for entry in entries:
        if entry.path.stem == text:
            return entry.path
    known = ", ".join(sorted({e.name for e in entries if e.contract})) or "none installed"
    raise ModelError(f"no model named '{text}' (available: {known})")
