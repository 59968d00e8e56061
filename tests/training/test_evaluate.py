from __future__ import annotations

import itertools

import numpy as np

from training.ship.evaluate import (
    binary_metrics,
    choose_thresholds,
    expected_calibration_error,
    reencode,
    roc_auc,
    threshold_held_out,
)


def brute_auc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    pairs = list(itertools.product(pos, neg))
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)


def test_roc_auc_matches_pairwise_counting_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60) * 0.5 + y * 0.3, 1)  # many ties
    assert abs(roc_auc(y, s) - brute_auc(y, s)) < 1e-12


def test_binary_metrics_on_a_known_confusion() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.6, 0.3, 0.9, 0.8, 0.4, 0.7])
    m = binary_metrics(y, s, 0.5)
    assert m["confusion"]["matrix"] == [[3, 1], [1, 3]]
    assert m["accuracy"] == 0.75 and m["precision"] == 0.75 and m["recall"] == 0.75
    assert m["balanced_accuracy"] == 0.75 and abs(m["f1"] - 0.75) < 1e-12


def test_ece_is_zero_when_calibrated_and_large_when_not() -> None:
    y = np.array([0] * 50 + [1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) < 1e-12
    assert expected_calibration_error(y, np.where(y == 1, 0.0, 1.0)) == 1.0


def test_thresholds_are_ordered_and_decision_maximises_balanced_accuracy() -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(500, int), np.ones(300, int)]
    s = np.clip(np.r_[rng.normal(0.3, 0.15, 500), rng.normal(0.75, 0.15, 300)], 0, 1)
    t = choose_thresholds(y, s)
    assert 0 <= t["real"] < t["likely_real"] <= t["decision"] <= t["likely_ai"] < t["ai"] <= 1
    best = max(binary_metrics(y, s, c)["balanced_accuracy"] for c in np.linspace(0, 1, 201))
    assert binary_metrics(y, s, t["decision"])["balanced_accuracy"] >= best - 1e-9
    sel = s >= t["ai"]
    assert y[sel].mean() >= 0.99 or "fallback" in t["method"]["ai"]


def test_thresholds_hold_for_a_perfect_separation() -> None:
    y = np.array([0] * 20 + [1] * 20)
    s = np.r_[np.linspace(0.0, 0.2, 20), np.linspace(0.8, 1.0, 20)]
    t = choose_thresholds(y, s)
    assert 0.2 < t["decision"] < 0.8
    assert binary_metrics(y, s, t["decision"])["accuracy"] == 1.0


def test_threshold_held_out_is_perfect_on_separable_data_and_chance_on_noise() -> None:
    y = np.array([0] * 40 + [1] * 40)
    s = np.r_[np.linspace(0.0, 0.3, 40), np.linspace(0.7, 1.0, 40)]
    h = threshold_held_out(y, s, repeats=5)
    assert h["balanced_accuracy"] == 1.0 and h["min"] == 1.0 and h["halvings"] == 5
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2000)
    h = threshold_held_out(y, rng.random(2000), repeats=10)
    assert 0.45 < h["balanced_accuracy"] < 0.55 and h["min"] <= h["balanced_accuracy"] <= h["max"]


def test_threshold_held_out_is_below_the_in_sample_best_on_overlapping_classes() -> None:
    rng = np.random.default_rng(4)
    y = np.r_[np.zeros(1000, int), np.ones(1000, int)]
    s = np.r_[rng.normal(0.4, 0.1, 1000), rng.normal(0.6, 0.1, 1000)]
    in_sample = binary_metrics(y, s, choose_thresholds(y, s)["decision"])["balanced_accuracy"]
    held_out = threshold_held_out(y, s)["balanced_accuracy"]
    assert held_out < in_sample and in_sample - held_out < 0.03


def test_a_fixed_decision_is_kept_the_bands_still_chosen_around_it_and_measured_on_the_same_halves() -> None:
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(800, int), np.ones(400, int)]
    s = np.clip(np.r_[rng.normal(0.3, 0.15, 800), rng.normal(0.7, 0.15, 400)], 0, 1)
    chosen, fixed = choose_thresholds(y, s), choose_thresholds(y, s, decision=0.5)
    assert chosen["decision"] != 0.5 and fixed["decision"] == 0.5
    assert "best balanced accuracy" in chosen["method"]["decision"] and "fixed at 0.5" in fixed["method"]["decision"]
    assert 0 <= fixed["real"] < fixed["likely_real"] <= 0.5 <= fixed["likely_ai"] < fixed["ai"] <= 1
    assert fixed["ai"] == chosen["ai"]  # the precision-target cuts do not depend on the decision here
    h = threshold_held_out(y, s, repeats=10, fixed=0.5)
    assert h["fixed"] == 0.5 and "fixed_balanced_accuracy" not in threshold_held_out(y, s, repeats=2)
    # both measured on the halves they were not chosen on: 0.5 is the equal-class optimum of these scores
    assert abs(h["fixed_balanced_accuracy"] - binary_metrics(y, s, 0.5)["balanced_accuracy"]) < 0.01
    assert h["fixed_balanced_accuracy"] > h["balanced_accuracy"] - 0.01


def test_reencode_png_is_lossless_and_jpeg_is_not() -> None:
    rng = np.random.default_rng(2)
    imgs = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    assert np.array_equal(reencode(imgs, "png"), imgs)
    assert not np.array_equal(reencode(imgs, "jpeg", 60), imgs)
