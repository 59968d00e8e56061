"""Shared by every test folder. Fixtures live in tests/helpers/fixtures.py."""

from __future__ import annotations

import os

import pytest

from tests.helpers.fixtures import *  # noqa: F403  (re-export the shared fixtures)


@pytest.fixture(autouse=True)
def _isolate_pixelpatrol_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user profile."""
    if "PIXELPATROL_HOME" not in os.environ or not os.environ["PIXELPATROL_HOME"].startswith(
        str(tmp_path_factory.getbasetemp())
    ):
        monkeypatch.setenv("PIXELPATROL_HOME", str(tmp_path_factory.mktemp("home")))
