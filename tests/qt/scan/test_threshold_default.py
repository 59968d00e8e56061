"""At its "(model)" position the threshold slider is no user threshold: under Automatic, rows of each model keep
that model's own bands (the slider shows the widest-domain model's decision, which is not the CIFAKE CNN's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx

from desktop.core.models.detector import Detector
from desktop.core.models.routing import Router
from desktop.core.scan.verdicts import relabel
from desktop.qt.scan.results.results_summary import ResultsFilterBarWidget
from spec.contract import CONTRACT_KEY

MODELS = Path(__file__).resolve().parents[3] / "onnx_models"


def _with_bands(src: Path, dst: Path, bands: dict[str, float]) -> Path:
    """A copy of a shipped model whose contract has other verdict bands (the shipped decisions may coincide)."""
    model = onnx.load(str(src), load_external_data=False)
    entry = next(p for p in model.metadata_props if p.key == CONTRACT_KEY)
    entry.value = json.dumps({**json.loads(entry.value), "thresholds": bands})
    onnx.save(model, str(dst))
    return dst


def test_slider_at_the_models_threshold_leaves_each_model_its_own_bands(qtbot: Any, tmp_path: Path) -> None:
    cnn = _with_bands(MODELS / "cifake-cnn.onnx", tmp_path / "cifake-cnn.onnx",
                      {"real": 0.05, "likely_real": 0.2, "decision": 0.3, "likely_ai": 0.35, "ai": 0.8})
    router = Router([Detector.load(MODELS / "realworld-detector.onnx", device="cpu"), Detector.load(cnn, device="cpu")])
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
