"""Fixtures of the core tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.scan.store import ResultStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ResultStore]:
    """A result store of its own in the test's folder."""
    s = ResultStore(tmp_path / "results.sqlite3")
    yield s
    s.close()
