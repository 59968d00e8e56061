"""The device line and commit every card and ONNX metadata carry."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from training.ship.provenance import device_description, git_commit


def test_device_description_names_the_device_and_tensorflow() -> None:
    import tensorflow as tf

    line = device_description()
    assert re.match(
        r"(GPU \(\d+x .+\)|CPU only \(.+, \d+ cores shared with other jobs\)), TensorFlow ", line
    ), line
    assert line.endswith(tf.__version__)


def test_git_commit_is_this_checkouts_head_or_unknown() -> None:
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        assert git_commit() == "unknown"
        return
    commit = git_commit().removesuffix("+dirty")
    assert len(commit) == 12 and head.stdout.startswith(commit)


def test_git_commit_marks_uncommitted_changes_to_tracked_files(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    try:
        git("init", "-q")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not usable here")
    (tmp_path / "recipe.py").write_text("width = 16\n")
    git("add", "recipe.py")
    git("commit", "-q", "-m", "first")
    clean = git_commit(tmp_path)
    assert len(clean) == 12 and "+" not in clean
    (tmp_path / "notes.txt").write_text("untracked files do not count\n")
    assert git_commit(tmp_path) == clean
    (tmp_path / "recipe.py").write_text("width = 24\n")
    assert git_commit(tmp_path) == clean + "+dirty"
    assert git_commit(tmp_path / "missing") == "unknown"
