"""One live model registry: what Training registers or the Models tab imports/removes is seen at once
by the Scan menu, the Models tab and the Gallery; sessions follow the file's content, not its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from desktop.core.paths import user_models_dir
from desktop.qt.models.models_manage import ModelsManagePage
from tests.helpers import tiny_models
from tests.qt.helpers import open_window


def _combo_paths(combo: Any) -> list[str]:
    return [str(combo.itemData(i)) for i in range(combo.count())]


def _ort_scores(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {"image": x.astype(np.float32)})[0]).reshape(-1)


def test_two_trained_models_register_under_two_names_and_scan_menu_models_tab_and_gallery_list_them_at_once(
    qtbot: Any, tmp_path: Path, bundled_models: Path
) -> None:
    window = open_window(qtbot)
    # two runs of the same recipe, and a name the shipped model already has
    first = tiny_models.build_cnn_detector(tmp_path / "run-a" / "cnn.onnx", name="tiny-detector", seed=1)
    second = tiny_models.build_cnn_detector(tmp_path / "run-b" / "cnn.onnx", name="tiny-detector", seed=2)
    training, scan = window.training_page, window.scan_page
    with qtbot.waitSignal(window.models.models_listed, timeout=10_000):
        assert training.register_model(first)
    copy_a = user_models_dir() / "tiny-detector-2.onnx"
    assert "'tiny-detector-2'" in training.message.text() and "already exists" in training.message.text()
    qtbot.waitUntil(lambda: scan.toolbar.current_model() == str(copy_a), timeout=10_000)  # and selected
    with qtbot.waitSignal(window.models.models_listed, timeout=10_000):
        assert training.register_model(second)
    copy_b = user_models_dir() / "tiny-detector-3.onnx"
    qtbot.waitUntil(lambda: scan.toolbar.current_model() == str(copy_b), timeout=10_000)

    combo = scan.toolbar.model_combo
    assert {str(copy_a), str(copy_b)} <= set(_combo_paths(combo))
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert len(set(labels)) == len(labels)  # no two identical entries
    assert sum("tiny-detector" in label for label in labels) == 3
    assert sum("yours" in label for label in labels) == 2
    qtbot.waitUntil(lambda: window.models_page.tree.topLevelItemCount() == 3, timeout=10_000)
    names = {window.models_page.tree.topLevelItem(i).text(1): window.models_page.tree.topLevelItem(i).text(3)
             for i in range(3)}
    assert names == {"tiny-detector": "bundled", "tiny-detector-2": "user", "tiny-detector-3": "user"}
    assert {str(copy_a), str(copy_b)} <= set(_combo_paths(window.gallery_page.detector))


def test_remove_and_reimport_of_a_changed_file_at_the_same_path_scores_with_the_new_weights(
    qtbot: Any, tmp_path: Path
) -> None:
    page = ModelsManagePage()
    qtbot.addWidget(page)
    old = tiny_models.build_cnn_detector(tmp_path / "old" / "mine.onnx", name="mine", seed=1)
    new = tiny_models.build_cnn_detector(tmp_path / "new" / "mine.onnx", name="mine", seed=2)
    x = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    with qtbot.waitSignal(page.models.models_listed, timeout=10_000):
        assert page.import_file(old)
    dest = user_models_dir() / "mine.onnx"
    cache = page.models.cache  # what the scan thread loads detectors from
    np.testing.assert_allclose(cache.get(str(dest)).predict(x)[0], _ort_scores(old, x), rtol=1e-5, atol=1e-6)
    with qtbot.waitSignal(page.models.models_listed, timeout=10_000):
        assert page.remove_current(confirm=False)
    with qtbot.waitSignal(page.models.models_listed, timeout=10_000):
        assert page.import_file(new)
    assert page.message.text().startswith("Imported mine.onnx as 'mine'")  # same name, same path
    detector = cache.get(str(dest))
    np.testing.assert_allclose(detector.predict(x)[0], _ort_scores(new, x), rtol=1e-5, atol=1e-6)
    assert not np.allclose(_ort_scores(old, x), _ort_scores(new, x))
    # A file replaced behind the app's back is loaded again as well (the digest changed).
    dest.write_bytes(old.read_bytes())
    np.testing.assert_allclose(cache.get(str(dest)).predict(x)[0], _ort_scores(old, x), rtol=1e-5, atol=1e-6)
    assert len(cache.digests) == 1  # the replaced content's session was dropped


def test_a_model_that_cannot_load_is_reported_by_the_first_line_of_its_error(qtbot: Any) -> None:
    from desktop.qt.models.model_service import ModelService

    service = ModelService()

    def fail(ref: str) -> Any:
        raise ValueError("first line of the reason\nonnxruntime's long second line" if ref else "")

    service.cache.get = fail
    for ref, reason in (("multi", "first line of the reason"), ("", "ValueError")):
        with qtbot.waitSignal(service.detector_failed, timeout=5000) as failed:
            service.prepare(ref)
        assert failed.args == [ref, reason]
    service.shutdown()
