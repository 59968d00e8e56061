"""A trained detector's own name and title, and verdict bands that need enough validation images (no TF)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from training.detector.finish import MIN_VAL_FOR_BANDS, WIDE_BANDS, choose_bands, model_identity, wide_bands
from training.recipes import RecipeContext
from training.runs import Run


def _ctx(run_dir: Path, name: str | None = None) -> RecipeContext:
    run = Run(run_dir, "cifake-cnn", {"recipe": "cifake-cnn", "args": {"name": name}})
    return RecipeContext(run=run, data=[])


def test_a_trained_model_is_named_after_its_run_folder_or_the_typed_name_never_the_recipe(tmp_path: Path) -> None:
    today = dt.date.today().isoformat()
    assert model_identity(_ctx(tmp_path / "Newsroom 2024"), "cifake-cnn", "CIFAKE CNN") == (
        "newsroom-2024", f"Newsroom 2024 (CIFAKE CNN, trained {today})")
    assert model_identity(_ctx(tmp_path / "a", name="Our archive"), "cifake-cnn", "CIFAKE CNN") == (
        "our-archive", f"Our archive (CIFAKE CNN, trained {today})")
    # a run folder named like the recipe does not take the shipped model's name ...
    assert model_identity(_ctx(tmp_path / "cifake-cnn"), "cifake-cnn", "CIFAKE CNN")[0] == f"cifake-cnn-{today}"
    # ... only asking for it does (how the shipped models are made)
    assert model_identity(_ctx(tmp_path / "b", name="cifake-cnn"), "cifake-cnn", "CIFAKE CNN") == (
        "cifake-cnn", "CIFAKE CNN")


def test_bands_from_too_few_validation_images_are_the_wide_ones_around_the_decision_and_say_how_many() -> None:
    assert wide_bands(0.5) == WIDE_BANDS
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    # a short run's scores: well separated, but far below 0.5 (0.5 would call every AI image real)
    scores = np.clip(np.where(y == 1, 0.2, 0.02) + rng.normal(0, 0.01, y.size), 0, 1)
    bands, note = choose_bands(y, scores)
    d = bands["decision"]
    assert 0.05 < d < 0.17 and {k: bands[k] for k in WIDE_BANDS} == wide_bands(d)
    assert bands["real"] == round(d * 0.1, 6) and bands["ai"] == round(d + (1 - d) * 0.9, 6)
    assert bands["likely_real"] < d < bands["likely_ai"]  # never collapsed onto each other
    assert "only 80 validation images" in note and str(MIN_VAL_FOR_BANDS) in note
    assert bands["method"]["decision"] == "best balanced accuracy on validation"
    y = np.repeat([0, 1], MIN_VAL_FOR_BANDS // 2)
    scores = np.clip(np.where(y == 1, 0.8, 0.1) + rng.normal(0, 0.05, y.size), 0, 1)
    bands, note = choose_bands(y, scores)
    assert note == f"chosen on {MIN_VAL_FOR_BANDS} validation images"
    assert bands["real"] < bands["likely_real"] <= bands["decision"] != 0.5


def test_bands_around_a_fixed_decision_keep_it_and_say_so() -> None:
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 600)
    scores = np.clip(np.where(y == 1, 0.75, 0.3) + rng.normal(0, 0.12, y.size), 0, 1)
    bands, note = choose_bands(y, scores, decision=0.5)
    assert bands["decision"] == 0.5 and bands["likely_real"] <= 0.5 <= bands["likely_ai"]
    assert "decision fixed at 0.5" in note and "1200 validation images" in note
    few, note = choose_bands(y[::20], scores[::20], decision=0.5)  # too few: wide bands around 0.5
    assert {k: few[k] for k in WIDE_BANDS} == WIDE_BANDS and "fixed at 0.5" in note


def test_the_card_names_each_data_folder_in_full_with_the_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training.detector.finish import data_sources

    (tmp_path / "archive").mkdir()
    monkeypatch.chdir(tmp_path)
    text = data_sources({"sources": ["real=archive", "fake=caught.zip"], "files": 400, "train_samples": 320,
                         "val_samples": 80})
    assert text == f"real={tmp_path / 'archive'}; fake=caught.zip (400 files: 320 training, 80 validation)"
    with_pinned = data_sources({"sources": ["real=archive"], "pinned_reals": {"sources": ["faces.zip"], "images": 9}})
    assert with_pinned == f"real={tmp_path / 'archive'}; real=faces.zip (pinned by position)"
