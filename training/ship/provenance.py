"""Where and from what a model was made: the device line and the commit written into cards and metadata."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def device_description() -> str:
    """``GPU (1x …), TensorFlow X`` or ``CPU only (model name, N cores shared with other jobs), TensorFlow X``."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return f"GPU ({len(gpus)}x {gpus[0].name}), TensorFlow {tf.__version__}"
    cpu = platform.processor() or platform.machine() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU only ({cpu}, {os.cpu_count()} cores shared with other jobs), TensorFlow {tf.__version__}"


def git_commit(where: Path | None = None) -> str:
    """The checkout's short commit, ``+dirty`` when tracked files differ from it (the model was then made
    from code that commit does not hold), or ``unknown`` outside a git checkout."""
    cwd = where or Path(__file__).parent

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        if not commit:
            return "unknown"
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
