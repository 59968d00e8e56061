"""Gallery: generating from a tiny generator, judging, saving a batch; Models: importing good and broken files."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QLabel

from desktop.core.models.generate import Generator
from desktop.core.paths import user_models_dir
from desktop.qt.gallery.epoch_grids import EpochGridsWidget
from desktop.qt.gallery.gallery_page import GalleryPage
from desktop.qt.models.model_service import list_choices
from desktop.qt.models.models_manage import ModelsManagePage


def _gallery(qtbot: Any, tiny_generator_path: Path, tiny_discriminator_path: Path,
             tiny_detector_path: Path) -> GalleryPage:
    bundled = Path(os.environ["PIXELPATROL_BUNDLED_MODELS"])
    for p in (tiny_generator_path, tiny_discriminator_path, tiny_detector_path):
        shutil.copy(p, bundled / p.name)
    page = GalleryPage()
    qtbot.addWidget(page)
    page.show()
    page.set_choices(list_choices())
    return page


def _generate(qtbot: Any, page: GalleryPage, count: int, seed: int) -> None:
    page.count.setValue(count)
    page.seed.setValue(seed)
    with qtbot.waitSignal(page.relay.finished, timeout=30_000):
        page.generate()


def test_gallery_generates_with_tiny_generator_and_says_what_d_and_detector_think(
        qtbot: Any, tiny_generator_path: Path, tiny_discriminator_path: Path, tiny_detector_path: Path) -> None:
    page = _gallery(qtbot, tiny_generator_path, tiny_discriminator_path, tiny_detector_path)
    assert page.generator.currentText().startswith("Tiny test generator")
    assert page.discriminator.currentData().endswith("tiny-discriminator.onnx")
    assert page.detector.currentData().endswith("tiny-detector.onnx")
    _generate(qtbot, page, 300, 7)  # more than one chunk
    assert page.model.rowCount() == 300
    expected = Generator.load(tiny_generator_path, device="cpu").generate(3, 7)
    for i in range(3):
        np.testing.assert_array_equal(page.model.items[i].pixels, expected[i].pixels)
    assert [it.seed for it in page.model.items[:3]] == [7, 8, 9]
    qtbot.waitUntil(lambda: "…" not in page.model.judgements, timeout=10_000)
    assert page.model.judgements[0].startswith("discriminator: ") and " % real" in page.model.judgements[0]
    assert re.search(r" · detector: \d+ % AI \((Real|Likely real|Uncertain|Likely AI|AI-generated)\)$",
                     page.model.judgements[0])
    text = page.model.data(page.model.index(0), 0)
    assert text.startswith("seed 7 · horse")  # no class chosen: the class cycles with the seed (7 -> horse)
    pix = page.model.data(page.model.index(0), 1)
    assert pix.width() == 96


def test_interpolation_strip_runs_between_two_seeds(
        qtbot: Any, tiny_generator_path: Path, tiny_discriminator_path: Path, tiny_detector_path: Path) -> None:
    page = _gallery(qtbot, tiny_generator_path, tiny_discriminator_path, tiny_detector_path)
    page.interpolate.setChecked(True)
    page.seed_b.setValue(99)
    page.label.setCurrentIndex(4)  # class index 3
    _generate(qtbot, page, 8, 5)
    items = page.model.items
    gen = Generator.load(tiny_generator_path, device="cpu")
    np.testing.assert_array_equal(items[0].pixels, gen.generate(1, 5, 3)[0].pixels)
    np.testing.assert_array_equal(items[-1].pixels, gen.generate(1, 99, 3)[0].pixels)
    assert [round(it.step or 0, 3) for it in items][:2] == [0.0, 0.143]


def test_saving_a_batch_and_a_selection_records_name_seed_and_class(
        qtbot: Any, tmp_path: Path, tiny_generator_path: Path, tiny_discriminator_path: Path,
        tiny_detector_path: Path) -> None:
    page = _gallery(qtbot, tiny_generator_path, tiny_discriminator_path, tiny_detector_path)
    page.label.setCurrentIndex(page.label.findText("cat"))
    _generate(qtbot, page, 12, 100)
    saved = page.save(tmp_path / "all", selected_only=False)
    assert len(saved) == 12
    assert saved[0].name == "tiny-generator_seed100_cat.png"
    with Image.open(saved[0]) as im:
        assert im.text["pixelpatrol:seed"] == "100"
        assert im.text["pixelpatrol:class"] == "cat"
        np.testing.assert_array_equal(np.asarray(im), page.model.items[0].pixels)
    records = [json.loads(x) for x in (tmp_path / "all" / "pixelpatrol-generated.jsonl").read_text().splitlines()]
    assert [r["seed"] for r in records] == list(range(100, 112))
    selection = page.view.selectionModel()
    for row in (2, 5):
        selection.select(page.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    picked = page.save(tmp_path / "all", selected_only=True)  # same folder: nothing is overwritten
    assert [p.name for p in picked] == ["tiny-generator_seed102_cat-2.png", "tiny-generator_seed105_cat-2.png"]
    assert len(list((tmp_path / "all").glob("*.png"))) == 14


def test_epoch_slider_shows_each_sample_grid(qtbot: Any, tmp_path: Path) -> None:
    (tmp_path / "samples").mkdir()
    for e in (1, 2, 3):
        Image.fromarray(np.full((64, 64, 3), 60 * e, np.uint8)).save(tmp_path / "samples" / f"epoch_{e:04d}.png")
    widget = EpochGridsWidget()
    qtbot.addWidget(widget)
    assert widget.open_run(tmp_path) == 3
    assert "epoch 3" in widget.caption.text()
    widget.slider.setValue(0)
    assert "epoch 1 (1 of 3)" in widget.caption.text()
    assert widget.image.pixmap().toImage().pixelColor(5, 5).red() == 60


def test_model_import_of_a_good_and_a_broken_file(
        qtbot: Any, tmp_path: Path, tiny_detector_path: Path, no_contract_model_path: Path) -> None:
    page = ModelsManagePage()
    qtbot.addWidget(page)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a model")
    assert not page.import_file(garbage)
    assert "not a loadable ONNX model" in page.message.text()
    assert not page.import_file(no_contract_model_path)
    assert "not made for PixelPatrol" in page.message.text() or "contract" in page.message.text()
    assert list(user_models_dir().glob("*.onnx")) == []
    before = tiny_detector_path.read_bytes()
    with qtbot.waitSignal(page.models.models_listed, timeout=10_000):
        assert page.import_file(tiny_detector_path)
    assert (user_models_dir() / "tiny-detector.onnx").read_bytes() == before == tiny_detector_path.read_bytes()
    assert page.tree.topLevelItemCount() == 1
    assert "Brightness" in page.card.toPlainText() or "tiny" in page.card.toPlainText().lower()
    assert "Runs on" in page.card.toPlainText() and "Origin" in page.card.toPlainText()
    assert not page.import_file(tiny_detector_path)  # the same file again: not copied twice, and said so
    assert "already installed as 'tiny-detector'" in page.message.text()
    # The listing after the removal: the repeated import above also listed the models, and that listing
    # may arrive later than the removal (it then still holds the file).
    with qtbot.waitSignal(page.models.models_listed, timeout=10_000,
                          check_params_cb=lambda choices: not any(c.origin == "user" for c in choices)):
        assert page.remove_current(confirm=False)
    assert list(user_models_dir().glob("*.onnx")) == []
    assert page.tree.topLevelItemCount() == 0


def test_double_click_enlarges_an_image_with_its_verdicts(
        qtbot: Any, tiny_generator_path: Path, tiny_discriminator_path: Path, tiny_detector_path: Path) -> None:
    page = _gallery(qtbot, tiny_generator_path, tiny_discriminator_path, tiny_detector_path)
    _generate(qtbot, page, 4, 3)
    dialog = page.enlarge(page.model.index(2))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle().startswith("seed 5")
    labels = dialog.findChildren(QLabel)
    assert labels[0].pixmap().width() == 384
    assert labels[1].text().startswith("discriminator: ")


def test_gallery_says_which_generator_and_checkpoint_makes_the_images(
        qtbot: Any, tmp_path: Path, tiny_discriminator_path: Path, tiny_detector_path: Path) -> None:
    from tests.helpers import tiny_models

    card = {"epochs": 40, "steps": 28120, "shipped_weights": "ema", "commit": "0123456789ab", "date": "2026-12-04",
            "measures": {"ema": {"frechet": 14.25, "class_acc": 0.684}, "raw": {"frechet": 15.0, "class_acc": 0.6}}}
    generator = tiny_models.build_generator(tmp_path / "tiny-generator.onnx", card=card)
    page = _gallery(qtbot, generator, tiny_discriminator_path, tiny_detector_path)
    text = page.provenance.text()
    assert text == ("tiny-generator.onnx · EMA weights after 40 epochs, 28,120 steps · commit 0123456, 2026-12-04 · "
                    "measured Fréchet 14.2, class accuracy 68 %")
    page.generator.setCurrentIndex(-1)
    assert page.provenance.text() == ""


def test_gallery_verdicts_follow_the_scans_rule_trust_cap_included(tmp_path: Path) -> None:
    """The Gallery's verdict under an image is the scan's (`verdicts.decide`): a model declared too weak for a bold
    answer says 'Likely AI' for a white image here too, where the bare bands would say 'AI-generated'."""
    from types import SimpleNamespace

    from desktop.core.models.detector import Detector
    from desktop.qt.gallery.generate_worker import judge
    from tests.helpers import tiny_models

    white = [SimpleNamespace(pixels=np.full((32, 32, 3), 255, np.uint8))]
    bold = Detector.load(tiny_models.build_detector(tmp_path / "bold.onnx"), device="cpu")
    capped = Detector.load(tiny_models.build_model_with_contract(tmp_path / "capped.onnx", tiny_models.detector_contract(
        "capped", trust={"auroc": 0.7, "measured_on": "tests", "max_band": "likely"})), device="cpu")
    assert judge(white, None, bold)[0].endswith("(AI-generated)")
    assert judge(white, None, capped)[0].endswith("(Likely AI)")
