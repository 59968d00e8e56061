"""The device line and commit every card and ONNX metadata carry."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from training.provenance import device_description, git_commit


def test_device_description_names_the_device_and_tensorflow() -> None:
    import tensorflow as tf

    line = device_description()
    assert re.match(r"(GPU \(\d+x .+\)|CPU only \(.+, \d+ cores shared with other jobs\)), TensorFlow ", line), line
    assert line.endswith(tf.__version__)


def test_git_commit_is_this_checkouts_head_or_unknown() -> None:
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        assert git_commit() == "unknown"
        return
    commit = git_commit()
    assert len(commit) == 12 and head.stdout.startswith(commit)
