"""onnxruntime sessions and the device they run on: CUDA when it really works, else the CPU.

Whether CUDA works is known for certain only by making a CUDA session (the provider library, the CUDA
and cuDNN libraries, a GPU). Where no NVIDIA driver is installed at all, it cannot work, and that is
known without importing onnxruntime (`cuda_ruled_out`); a scan then needs no session until a file
actually has to be scored.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime as ort

DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# ORT_LOGGING_LEVEL: 3 = error, 4 = fatal. A missing CUDA library is logged as an error by the
# provider bridge; while probing CUDA we only want to hear about it through get_providers().
_QUIET, _PROBE_QUIET = 3, 4
# What an NVIDIA driver leaves on a Linux system: the kernel module's files, or WSL's GPU device.
_LINUX_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (onnxruntime's run to many lines), or its type name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _no_driver() -> str | None:
    """Why CUDA cannot work on this system whatever onnxruntime can do, or None when it might."""
    if sys.platform == "darwin":
        return "CUDA not available: no NVIDIA GPUs on macOS"
    if sys.platform.startswith("linux") and not any(os.path.exists(f) for f in _LINUX_DRIVER_FILES):
        return "CUDA not available: no NVIDIA driver installed (/proc/driver/nvidia not found)"
    if sys.platform == "win32":
        system = Path(os.environ.get("SYSTEMROOT", r"C:\Windows")) / "System32"
        if not (system / "nvcuda.dll").exists():
            return r"CUDA not available: no NVIDIA driver installed (System32\nvcuda.dll not found)"
    return None


def cuda_ruled_out() -> str | None:
    """Why CUDA will not be used in this process, when that is known without a session, else None.

    Known: no NVIDIA driver on the system, or a probe in this process has already failed. The CPU is
    then the device, and a session can wait until a file needs scoring."""
    return _cuda_failure or _no_driver()


@lru_cache(maxsize=1)
def _preload_cuda_dlls() -> str:
    """Let onnxruntime find the `cuda` extra's nvidia wheels. It prints on stdout; keep that off ours."""
    import onnxruntime as ort

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
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = _QUIET
    # Idle onnxruntime threads spin-wait by default, taking the CPU from the decode threads that
    # run between inference calls; on 2 cores that halves scan throughput.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if threads:
        so.intra_op_num_threads = threads
    return so


@lru_cache(maxsize=1)
def _quiet_default_logger() -> None:
    """onnxruntime's process-wide logger at "error", once, before the first session (under the probe
    lock: a probe turns it down further while it runs)."""
    import onnxruntime as ort

    with _PROBE_LOCK:
        ort.set_default_logger_severity(_QUIET)


def cpu_session(path: Path, threads: int | None) -> ort.InferenceSession:
    import onnxruntime as ort

    _quiet_default_logger()
    return ort.InferenceSession(str(path), _session_options(threads), providers=[CPU])


def _missing_cuda_hint(preload_log: str) -> str:
    for line in preload_log.splitlines():
        if line.startswith("Failed to load"):
            return line.split(":")[0].replace("Failed to load ", "missing ")
    return "no usable NVIDIA GPU or CUDA/cuDNN libraries"


def cpu_reason(device: str) -> str | None:
    """Why a session asked for on `device` runs on the CPU, when that is known without making one."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    return "CPU requested" if device == "cpu" else cuda_ruled_out()


def create_session(path: Path, device: str = "auto", threads: int | None = None
                   ) -> tuple[ort.InferenceSession, str, str]:
    """An inference session on the requested device: (session, "cuda"|"cpu", reason)."""
    reason = cpu_reason(device)
    if reason is None:
        with _PROBE_LOCK:  # the logger severity is process-wide: one probe at a time
            cuda = _try_cuda(path, threads)
        if not isinstance(cuda, str):
            return cuda, "cuda", "CUDA (onnxruntime CUDAExecutionProvider)"
        reason = cuda
    return cpu_session(path, threads), "cpu", reason


_PROBE_LOCK = threading.Lock()
_cuda_failure: str | None = None  # set once CUDA failed in this process; later sessions skip the probe


def _try_cuda(path: Path, threads: int | None) -> ort.InferenceSession | str:
    """A session that really runs on CUDA, or the reason there is none.

    A missing provider or missing CUDA libraries are remembered for the process (each probe loads
    the provider library again); an exception from one model's session is not.
    """
    import onnxruntime as ort

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
