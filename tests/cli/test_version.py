"""`pixelpatrol --version` answers with the package's version, which is pyproject's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from desktop import __version__
from desktop.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_version_is_pyprojects() -> None:
    if sys.version_info >= (3, 11):
        import tomllib

        project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        assert project["version"] == __version__


@pytest.mark.parametrize("argv", [["--version"], ["-V"], ["gui", "--version"]])
def test_version_flag_prints_the_version_and_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # the app's own parser (gui --version) exits like argparse does
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == f"pixelpatrol {__version__}"
