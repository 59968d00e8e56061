"""The architecture holds for the real code: the dependency rules in pyproject.toml ([tool.importlinter]),
the shared catalogue in spec/, no import cycle, no module over 400 lines, no package folder under
desktop/ or training/ over 15 modules."""

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


PROJECT_PACKAGES = ("desktop", "training", "spec")
MAX_MODULE_LINES = 400  # nanoGPT's scale (docs/STYLE: "small rooms"); issue 14
# Modules that were already longer when the limit was set (issue 14). They are to be split, not grown
# further; take a name out as soon as its module is under the limit, and never add one.
OVERSIZED_MODULES: set[str] = set()


def test_no_module_is_longer_than_400_lines() -> None:
    lengths = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for package in PROJECT_PACKAGES
        for path in (ROOT / package).rglob("*.py")
    }
    too_long = {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES}
    grown = [f"{path} ({too_long[path]})" for path in sorted(set(too_long) - OVERSIZED_MODULES)]
    assert not grown, f"over {MAX_MODULE_LINES} lines, split them: {', '.join(grown)}"
    shrunk = sorted(OVERSIZED_MODULES - set(too_long))
    assert not shrunk, f"within {MAX_MODULE_LINES} lines now, take them out of OVERSIZED_MODULES: {shrunk}"

MAX_PACKAGE_MODULES = 15  # a folder holding more has roles that want subpackages of their own (issue 14)
# Package folders that held more when the limit was set (issue 14): to be split into subpackages, not grown
# further; take a folder out as soon as it is within the limit, and never add one.
CROWDED_PACKAGES: set[str] = set()


def test_no_package_folder_under_desktop_or_training_holds_more_than_15_modules() -> None:
    counts = {
        folder.relative_to(ROOT).as_posix(): sum(1 for path in folder.glob("*.py") if path.name != "__init__.py")
        for top in (ROOT / "desktop", ROOT / "training")
        for folder in [top, *(init.parent for init in top.rglob("*/__init__.py"))]
    }
    assert counts["training"] <= MAX_PACKAGE_MODULES and "training/detector" in counts  # both trees are counted
    crowded = {folder: n for folder, n in counts.items() if n > MAX_PACKAGE_MODULES}
    grown = [f"{folder} ({crowded[folder]})" for folder in sorted(set(crowded) - CROWDED_PACKAGES)]
    assert not grown, f"over {MAX_PACKAGE_MODULES} modules, split them into subpackages: {', '.join(grown)}"
    thinned = sorted(CROWDED_PACKAGES - set(crowded))
    assert not thinned, f"within {MAX_PACKAGE_MODULES} modules now, take them out of CROWDED_PACKAGES: {thinned}"


def test_no_import_cycle_among_the_projects_modules() -> None:
    # Every import counts, those inside functions too; imports under `if TYPE_CHECKING:` do not (they
    # are annotations, never executed).
    import grimp

    graph = grimp.build_graph(*PROJECT_PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycle = (module, *back)
                start = cycle.index(min(cycle[:-1]))  # one spelling per cycle, whichever module it starts at
                cycles.add(" -> ".join(cycle[start:-1] + cycle[: start + 1]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))
