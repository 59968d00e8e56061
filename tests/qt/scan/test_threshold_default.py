"""At its "(model)" position the threshold slider is no user threshold: under Automatic, rows of each model keep
that model's own bands (the slider shows the widest-domain model's decision, which is not the CIFAKE CNN's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.models.detector import Detector
from desktop.core.models.routing import Router
from desktop.core.scan.verdicts import relabel
from desktop.qt.scan.results.results_summary import ResultsFilterBarWidget

MODELS = Path(__file__).resolve().parents[3] / "onnx_models"


def test_slider_at_the_models_threshold_leaves_each_model_its_own_bands(qtbot: Any) -> None:
    router = Router([Detector.load(MODELS / "realworld-detector.onnx", device="cpu"),
                     Detector.load(MODELS / "cifake-cnn.onnx", device="cpu")])
    cifake = router.member("cifake-cnn")
    bar = ResultsFilterBarWidget()
    qtbot.addWidget(bar)
    bar.set_threshold(router.thresholds.decision, default=router.thresholds.decision)
    assert bar.user_threshold() is None
    # a thumbnail scored between the CIFAKE CNN's decision and the slider's: its own model calls it AI
    own, slider = cifake.thresholds.decision, bar.threshold()
    assert abs(own - slider) > 0.01, "the two models' decisions must differ for this check"
    score = (own + slider) / 2
    at_default = relabel(router, score, "cifake-cnn", 32, 32, "model", None, bar.user_threshold())[0]
    as_if_moved = relabel(router, score, "cifake-cnn", 32, 32, "model", None, slider)[0]
    expected = relabel(router, score, "cifake-cnn", 32, 32, "model", None, None)[0]
    assert at_default == expected and at_default != as_if_moved
    bar.set_threshold(0.7)  # moved by the user: one threshold for every row
    assert bar.user_threshold() == 0.7
