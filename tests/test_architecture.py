"""The dependency rules written in pyproject.toml ([tool.importlinter]) hold for the real code."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout  # the summary line "N kept, 0 broken" proves contracts were checked
    assert " 0 broken" in result.stdout


def test_scanning_core_imports_with_qt_and_tensorflow_blocked() -> None:
    # Simulates a machine where only the scanning dependencies exist: any attempt to import Qt or
    # TensorFlow from the core raises ImportError.
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        for name in ("PySide6", "shiboken6", "pyqtgraph", "tensorflow", "keras", "tf2onnx"):
            sys.modules[name] = None
        import desktop.core
        for info in pkgutil.iter_modules(desktop.core.__path__):
            importlib.import_module("desktop.core." + info.name)
        print("imported", len(list(pkgutil.iter_modules(desktop.core.__path__))))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported ")


def test_training_form_offers_exactly_the_trainers_recipes() -> None:
    # The app cannot import `training` to ask for its recipes, so the form keeps its own list; this
    # catches the two drifting apart.
    from desktop.qt.training.run_form import RECIPES as offered
    from training.recipes import RECIPES

    assert set(offered) == set(RECIPES)
