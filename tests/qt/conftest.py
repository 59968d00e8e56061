"""Qt test setup: offscreen, one private PIXELPATROL_HOME (and so settings.ini) per test.

Qt warnings fail tests through `qt_log_level_fail = "WARNING"` in pyproject.toml.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PIL import Image

# Messages the offscreen platform itself prints; not about our code.
BENIGN_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)


@pytest.fixture(autouse=True)
def _qt_isolated(pixelpatrol_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("PIXELPATROL_SETTINGS", raising=False)
    yield pixelpatrol_home


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pyproject sets qt_log_level_fail = WARNING; only the offscreen platform's own notice is let through.
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.qt_log_ignore(*BENIGN_QT_MESSAGES))


@pytest.fixture
def bundled_models(pixelpatrol_home: Path, tiny_detector_path: Path) -> Path:
    """The tiny brightness detector (bright images score as AI) as the only bundled model."""
    folder = Path(os.environ["PIXELPATROL_BUNDLED_MODELS"])
    shutil.copy(tiny_detector_path, folder / "tiny-detector.onnx")
    return folder


def write_gray_images(folder: Path, levels: list[int], prefix: str = "img") -> list[Path]:
    """PNG images of one grey level each; the tiny detector scores grey g as sigmoid((g - 128) / 32)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, level in enumerate(levels):
        path = folder / f"{prefix}_{i:05d}_{level:03d}.png"
        Image.fromarray(np.full((32, 32, 3), level, np.uint8)).save(path)
        out.append(path)
    return out


def expected_verdict(level: int) -> str:
    score = 1.0 / (1.0 + np.exp(-(level - 128) / 32.0))
    if score >= 0.95:
        return "ai"
    if score >= 0.7:
        return "likely_ai"
    if score <= 0.05:
        return "real"
    if score <= 0.3:
        return "likely_real"
    return "uncertain"
