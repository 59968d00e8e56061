"""A detector (or discriminator) model: its file checked, its contract, its onnxruntime session on the chosen
device, and scoring crops with it. Finding models on disk: ``catalog.py``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.models.checks import input_dtype_problem, metadata_problem
from desktop.core.models.contract import (
    ContractError,
    InputSpec,
    ModelContract,
    Thresholds,
    check_against_graph,
    parse_contract,
)
from desktop.core.models.runtime import model_index
from desktop.core.models.runtime.device import cpu_reason, cpu_session
from desktop.core.models.runtime.device import create_session as create_session
from desktop.core.models.runtime.device import first_line as first_line
from desktop.core.models.runtime.model_index import ModelFacts
from desktop.core.models.runtime.model_index import file_digest as file_digest

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime as ort

# Bands for models whose contract has none (discriminators): symmetric around 0.5.
DEFAULT_THRESHOLDS = Thresholds(decision=0.5, real=0.05, likely_real=0.3, likely_ai=0.7, ai=0.95)


def scale_pixels(batch: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 NHWC -> the graph's dtype and value range (e.g. float32 [0, 255] or [-1, 1])."""
    import numpy as np

    lo, hi = spec.value_range
    if spec.dtype == "uint8":
        return np.ascontiguousarray(batch, dtype=np.uint8)
    x = batch.astype(np.float32)
    if (lo, hi) != (0.0, 255.0):
        x *= np.float32((hi - lo) / 255.0)
        x += np.float32(lo)
    return x


class ModelError(Exception):
    """A model file that cannot be used; the message is one line naming the file and the problem."""


def _facts(p: Path, device: str, threads: int | None
           ) -> tuple[ModelFacts, str, ort.InferenceSession | None, str, str]:
    """(facts, sha256, session or None, device, reason) of a model file to run on `device`.

    Without a session when the index knows the file and the device is known to be the CPU: the session
    is then made when the first image is scored (`Detector.session`)."""
    reason = cpu_reason(device)  # ValueError for an unknown device
    known = model_index.lookup(p) if reason is not None else None
    if known is not None and reason is not None:
        return known[0], known[1], None, "cpu", reason
    try:
        session, used, reason = create_session(p, device, threads)
    except Exception as exc:  # onnxruntime raises its own types; one line for the user
        raise ModelError(f"{p}: not a loadable ONNX model ({first_line(exc)})") from None
    facts = ModelFacts.from_session(session)
    return facts, model_index.record(p, facts), session, used, reason


def checked_contract(p: Path, facts: ModelFacts) -> ModelContract:
    """The model's contract, checked against its graph; ModelError (one line) when it does not hold."""
    try:
        contract = parse_contract(facts.metadata)
        check_against_graph(contract, facts.input_shapes, facts.outputs)
    except ContractError as exc:
        raise ModelError(f"{p}: {exc}") from None
    if (problem := input_dtype_problem(contract, facts.inputs)) is not None:
        raise ModelError(f"{p}: {problem}")
    return contract


def default_batch_size(device: str, height: int, width: int) -> int:
    """Enough images per call to amortise the call overhead, without large tensors for big inputs."""
    budget = (1 << 17 if device == "cpu" else 1 << 20) // max(1, height * width)  # pixels per batch
    size = 1
    while size * 2 <= min(budget, 128 if device == "cpu" else 512):
        size *= 2
    return max(4, size)


def _aggregate(scores: np.ndarray, how: str) -> float:
    import numpy as np

    if how == "max":
        return float(scores.max())
    if how == "top25":
        k = max(1, int(np.ceil(scores.size * 0.25)))
        return float(np.sort(scores)[-k:].mean())
    return float(scores.mean())


@dataclass
class Detector:
    """A detector (or discriminator) model: its contract, and the onnxruntime sessions that run it.

    The session is made on first use when the model runs on the CPU (`session`): a scan whose every
    file is in the result cache never makes one, nor imports onnxruntime."""

    path: Path
    contract: ModelContract
    digest: str
    device: str
    device_reason: str
    batch_size: int
    threads: int | None = None  # of the session (None: onnxruntime's default, every core)
    _session: ort.InferenceSession | None = field(default=None, repr=False, compare=False)
    # A second CPU session whose runs use only the calling thread: the scan's decode threads each run
    # it on their own files (data parallel), which on a CPU beats one call split across all cores.
    _single: ort.InferenceSession | None = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", threads: int | None = None) -> Detector:
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"{p}: model file not found")
        if (problem := metadata_problem(p)) is not None:  # before onnxruntime reads it all
            raise ModelError(f"{p}: {problem}")
        facts, digest, session, used, reason = _facts(p, device, threads)
        contract = checked_contract(p, facts)
        if contract.kind not in ("detector", "discriminator") or contract.input is None:
            raise ModelError(f"{p}: a {contract.kind} model cannot score images (need a detector)")
        spec = contract.input
        return cls(p, contract, digest, used, reason, default_batch_size(used, spec.height, spec.width),
                   threads, session)

    @property
    def session(self) -> ort.InferenceSession:
        """The session that runs the model on its device (made on first use on the CPU)."""
        with self._lock:
            if self._session is None:
                self._session = cpu_session(self.path, self.threads)
            return self._session

    @property
    def has_session(self) -> bool:
        """Whether onnxruntime has loaded the model in this process yet."""
        return self._session is not None or self._single is not None

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def thresholds(self) -> Thresholds:
        return self.contract.thresholds or DEFAULT_THRESHOLDS

    # The face shared with routing.Router: the engine asks these, whatever scores the rows.
    @property
    def title(self) -> str:
        return self.contract.title

    def contract_for(self, width: int, height: int) -> ModelContract:
        return self.contract

    def member_for(self, width: int, height: int) -> Detector:
        return self

    def in_domain(self, width: int, height: int) -> bool:
        """Inside the images the model declares it is made for (no declaration: everything)."""
        return self.contract.domain is None or self.contract.domain.contains(width, height)

    def member(self, name: str | None) -> Detector:
        return self

    @property
    def members(self) -> list[Detector]:
        return [self]

    @property
    def cache_digests(self) -> dict[str, str]:
        return {self.digest: self.name}

    def single_thread_session(self) -> ort.InferenceSession:
        """The CPU session for calls from several threads at once (created on first use)."""
        with self._lock:
            if self._single is None:
                self._single = cpu_session(self.path, 1)
            return self._single

    def predict(self, batch: np.ndarray, *, single_thread: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """P(AI) [N] and patch maps [N, rows, cols] (or None) for a uint8 NHWC batch of model-size crops.

        `single_thread`: run on the calling thread only (CPU), for callers that run several at once.
        """
        import numpy as np

        spec = self.contract.input
        assert spec is not None
        feed = {spec.name: scale_pixels(batch, spec)}
        names = [self.contract.outputs["score"].name]
        if self.contract.has_patch_map:
            names.append(self.contract.outputs["patch_map"].name)
        session = self.single_thread_session() if single_thread else self.session
        results = session.run(names, feed)
        scores = np.asarray(results[0], dtype=np.float32).reshape(len(batch), -1)[:, -1]
        maps = None
        if len(results) > 1:
            raw = np.asarray(results[1], dtype=np.float32)
            maps = raw.reshape(raw.shape[0], raw.shape[1], raw.shape[2]) if raw.ndim == 4 else raw
        if self.contract.kind == "discriminator":  # its score is P(real); the engine reports P(AI)
            scores = 1.0 - scores
            maps = None if maps is None else 1.0 - maps
        return scores, maps

    def score_images(self, crops: Sequence[np.ndarray], grids: Sequence[tuple[int, int]], *,
                     single_thread: bool = False) -> list[tuple[float, np.ndarray | None]]:
        """One (score, patch map) per image from its crops ([P, H, W, 3] uint8, P = rows * cols).

        A resized image is one crop and its patch map is the model's; an image fed as patches gets
        the aggregated crop score and a map made of the crop scores on their grid.
        """
        import numpy as np

        counts = [len(c) for c in crops]
        flat = np.concatenate(list(crops)) if crops else np.zeros((0, 1, 1, 3), np.uint8)
        all_scores: list[np.ndarray] = []
        all_maps: list[np.ndarray] = []
        for start in range(0, len(flat), self.batch_size):
            s, m = self.predict(flat[start : start + self.batch_size], single_thread=single_thread)
            all_scores.append(s)
            if m is not None:
                all_maps.append(m)
        scores = np.concatenate(all_scores) if all_scores else np.zeros(0, np.float32)
        maps = np.concatenate(all_maps) if all_maps else None
        out: list[tuple[float, np.ndarray | None]] = []
        offset = 0
        for n, grid in zip(counts, grids, strict=True):
            part = scores[offset : offset + n]
            if self.contract.feed.mode == "patches":
                out.append((_aggregate(part, self.contract.feed.aggregate), part.reshape(grid).astype(np.float32)))
            elif self.contract.feed.mode == "multiscale":  # native crops on the grid, then the whole view
                native = grid[0] * grid[1]
                # a map of one crop says nothing about where: none then (the detail pane says so)
                patch_map = part[:native].reshape(grid).astype(np.float32) if native > 1 else None
                out.append((_aggregate(part, self.contract.feed.aggregate), patch_map))
            else:
                out.append((float(part[0]), maps[offset] if maps is not None else None))
            offset += n
        return out
