"""Loading ONNX models with their contract, choosing the device, and finding models on disk."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from desktop.core import paths
from desktop.core.contract import (
    ContractError,
    ModelContract,
    Thresholds,
    check_against_graph,
    parse_contract,
)
from desktop.core.decode import scale_pixels
from desktop.core.model_checks import input_dtype_problem, metadata_problem

DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# ORT_LOGGING_LEVEL: 3 = error, 4 = fatal. A missing CUDA library is logged as an error by the
# provider bridge; while probing CUDA we only want to hear about it through get_providers().
_QUIET, _PROBE_QUIET = 3, 4
# Bands for models whose contract has none (discriminators): symmetric around 0.5.
DEFAULT_THRESHOLDS = Thresholds(decision=0.5, real=0.05, likely_real=0.3, likely_ai=0.7, ai=0.95)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (onnxruntime's run to many lines), or its type name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ModelError(Exception):
    """A model file that cannot be used; the message is one line naming the file and the problem."""


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=1)
def _preload_cuda_dlls() -> str:
    """Let onnxruntime find the `cuda` extra's nvidia wheels. It prints on stdout; keep that off ours."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return ""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        try:
            preload()
        except Exception as exc:  # only a hint for the reason text
            return str(exc)
    return sink.getvalue()


def _session_options(threads: int | None) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.log_severity_level = _QUIET
    # Idle onnxruntime threads spin-wait by default, taking the CPU from the decode threads that
    # run between inference calls; on 2 cores that halves scan throughput.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if threads:
        so.intra_op_num_threads = threads
    return so


def _cpu_session(path: Path, threads: int | None) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), _session_options(threads), providers=[CPU])


def _missing_cuda_hint(preload_log: str) -> str:
    for line in preload_log.splitlines():
        if line.startswith("Failed to load"):
            return line.split(":")[0].replace("Failed to load ", "missing ")
    return "no usable NVIDIA GPU or CUDA/cuDNN libraries"


def create_session(path: Path, device: str = "auto", threads: int | None = None
                   ) -> tuple[ort.InferenceSession, str, str]:
    """An inference session on the requested device: (session, "cuda"|"cpu", reason)."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    reason = "CPU requested"
    if device in ("auto", "cuda"):
        with _PROBE_LOCK:  # the logger severity is process-wide: one probe at a time
            cuda = _try_cuda(path, threads)
        if isinstance(cuda, str):
            reason = cuda
        else:
            return cuda, "cuda", "CUDA (onnxruntime CUDAExecutionProvider)"
    return _cpu_session(path, threads), "cpu", reason


_PROBE_LOCK = threading.Lock()
_cuda_failure: str | None = None  # set once CUDA failed in this process; later sessions skip the probe


def _try_cuda(path: Path, threads: int | None) -> ort.InferenceSession | str:
    """A session that really runs on CUDA, or the reason there is none.

    A missing provider or missing CUDA libraries are remembered for the process (each probe loads
    the provider library again); an exception from one model's session is not.
    """
    global _cuda_failure
    ort.set_default_logger_severity(_QUIET)
    if _cuda_failure is not None:
        return _cuda_failure
    if CUDA not in ort.get_available_providers():
        _cuda_failure = "CUDA not available: this onnxruntime build has no CUDA provider"
        return _cuda_failure
    preload_log = _preload_cuda_dlls()
    options = _session_options(threads)
    options.log_severity_level = _PROBE_QUIET
    ort.set_default_logger_severity(_PROBE_QUIET)
    try:
        session = ort.InferenceSession(str(path), options, providers=[CUDA, CPU])
    except Exception as exc:  # CUDA init failures vary; the caller falls back to CPU
        return f"CUDA not available: {first_line(exc)}"
    finally:
        ort.set_default_logger_severity(_QUIET)
    if CUDA in session.get_providers():
        return session
    _cuda_failure = f"CUDA not available: {_missing_cuda_hint(preload_log)}"
    return _cuda_failure


def default_batch_size(device: str, height: int, width: int) -> int:
    """Enough images per call to amortise the call overhead, without large tensors for big inputs."""
    budget = (1 << 17 if device == "cpu" else 1 << 20) // max(1, height * width)  # pixels per batch
    size = 1
    while size * 2 <= min(budget, 128 if device == "cpu" else 512):
        size *= 2
    return max(4, size)


def _graph_shapes(args: Sequence[Any]) -> dict[str, list[int | str | None]]:
    return {a.name: list(a.shape) for a in args}


def _aggregate(scores: np.ndarray, how: str) -> float:
    if how == "max":
        return float(scores.max())
    if how == "top25":
        k = max(1, int(np.ceil(scores.size * 0.25)))
        return float(np.sort(scores)[-k:].mean())
    return float(scores.mean())


@dataclass
class Detector:
    """An onnxruntime session and its contract, for detectors (and discriminators)."""

    path: Path
    contract: ModelContract
    digest: str
    device: str
    device_reason: str
    session: ort.InferenceSession = field(repr=False)
    batch_size: int
    # A second CPU session whose runs use only the calling thread: the scan's decode threads each run
    # it on their own files (data parallel), which on a CPU beats one call split across all cores.
    _single: ort.InferenceSession | None = field(default=None, init=False, repr=False, compare=False)
    _single_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", threads: int | None = None) -> Detector:
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"{p}: model file not found")
        if (problem := metadata_problem(p)) is not None:  # before onnxruntime reads it all
            raise ModelError(f"{p}: {problem}")
        try:
            session, used, reason = create_session(p, device, threads)
        except ValueError:
            raise
        except Exception as exc:  # onnxruntime raises its own types; one line for the user
            raise ModelError(f"{p}: not a loadable ONNX model ({first_line(exc)})") from None
        try:
            contract = parse_contract(session.get_modelmeta().custom_metadata_map)
            check_against_graph(contract, _graph_shapes(session.get_inputs()), _graph_shapes(session.get_outputs()))
        except ContractError as exc:
            raise ModelError(f"{p}: {exc}") from None
        if (problem := input_dtype_problem(contract, session.get_inputs())) is not None:
            raise ModelError(f"{p}: {problem}")
        if contract.kind not in ("detector", "discriminator") or contract.input is None:
            raise ModelError(f"{p}: a {contract.kind} model cannot score images (need a detector)")
        spec = contract.input
        return cls(p, contract, file_digest(p), used, reason, session,
                   default_batch_size(used, spec.height, spec.width))

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
        with self._single_lock:
            if self._single is None:
                self._single = _cpu_session(self.path, 1)
            return self._single

    def predict(self, batch: np.ndarray, *, single_thread: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """P(AI) [N] and patch maps [N, rows, cols] (or None) for a uint8 NHWC batch of model-size crops.

        `single_thread`: run on the calling thread only (CPU), for callers that run several at once.
        """
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
    """Read and check a model's contract on the CPU (cheap; no device probing)."""
    if (problem := metadata_problem(path)) is not None:
        return ModelEntry(path, source, None, f"{path}: {problem}")
    try:
        session = _cpu_session(path, 1)
    except Exception as exc:
        return ModelEntry(path, source, None, f"{path}: not a loadable ONNX model ({first_line(exc)})")
    try:
        contract = parse_contract(session.get_modelmeta().custom_metadata_map)
        check_against_graph(contract, _graph_shapes(session.get_inputs()), _graph_shapes(session.get_outputs()))
    except ContractError as exc:
        return ModelEntry(path, source, None, f"{path}: {exc}")
    if (problem := input_dtype_problem(contract, session.get_inputs())) is not None:
        return ModelEntry(path, source, None, f"{path}: {problem}")
    return ModelEntry(path, source, contract, None)


def list_models() -> list[ModelEntry]:
    """Bundled models first, then the user's models folder; broken files are listed with their error."""
    entries: list[ModelEntry] = []
    for source, folder in (("bundled", paths.bundled_models_dir()), ("user", paths.user_models_dir())):
        if folder.is_dir():
            entries += [inspect_model(p, source) for p in sorted(folder.glob("*.onnx"))]
    return entries


def default_model(entries: Sequence[ModelEntry] | None = None) -> ModelEntry | None:
    """The bundled `cifake-cnn` detector if present, else the first usable detector."""
    entries = list_models() if entries is None else entries
    detectors = [e for e in entries if e.contract is not None and e.contract.kind == "detector"]
    for e in detectors:
        if e.source == "bundled" and e.name == "cifake-cnn":
            return e
    bundled = [e for e in detectors if e.source == "bundled"]
    candidates = bundled or detectors
    return candidates[0] if candidates else None


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
