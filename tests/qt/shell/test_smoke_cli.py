"""The real entry point: `pixelpatrol --smoke` opens the window; without a display it says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _run(env_updates: dict[str, str], drop: tuple[str, ...], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_updates, PIXELPATROL_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "desktop", "--smoke"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_pixelpatrol_smoke_flag_reaches_the_app_and_exits_0(tmp_path: Path) -> None:
    result = _run({"QT_QPA_PLATFORM": "offscreen"}, (), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "smoke: window shown" in result.stdout


def test_without_a_display_the_app_explains_in_one_line_instead_of_aborting(tmp_path: Path) -> None:
    result = _run({}, ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"), tmp_path)
    if not sys.platform.startswith("linux"):
        return
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and "no display found" in lines[0]
