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


def git_commit() -> str:
    """The checkout's short commit, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
