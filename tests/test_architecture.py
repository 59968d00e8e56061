"""The dependency rules written in pyproject.toml ([tool.importlinter]) hold for the real code."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

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


def test_training_form_offers_exactly_the_trainers_recipes(qtbot: Any) -> None:
    # The app cannot import `training` to ask for its recipes; both read the catalogue in spec/recipes.py.
    from desktop.qt.training.run_form import RunForm
    from spec.recipes import RECIPES as CATALOGUE
    from training.recipes import RECIPES, register

    form = RunForm(ROOT)
    qtbot.addWidget(form)
    offered = [form.recipe.itemData(i) for i in range(form.recipe.count())]
    assert offered == list(CATALOGUE)
    assert set(RECIPES) == set(CATALOGUE)
    assert all(RECIPES[name].summary == CATALOGUE[name].summary for name in RECIPES)
    with pytest.raises(ValueError, match="not in the catalogue"):
        register("no-such-recipe", "training.recipes.dcgan:run")
