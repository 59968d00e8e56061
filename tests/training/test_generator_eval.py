"""Generator measures: the numpy maths, and evaluate-generator end to end on tiny ONNX models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import generators
from training.gan.evaluate import (
    NOT_COMPARABLE,
    OnnxGenerator,
    format_report,
    frechet_distance,
    two_sample_accuracy,
)


@pytest.fixture(scope="module")
def tiny_class_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generators.write_class_folders(tmp_path_factory.mktemp("data") / "classes")


@pytest.fixture(scope="module")
def tiny_classifier_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    return generators.build_tiny_classifier(tmp_path_factory.mktemp("clf") / "tiny-classifier.onnx")


@pytest.fixture(scope="module")
def tiny_generator_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    return generators.build_tiny_generator(tmp_path_factory.mktemp("gen") / "tiny-generator.onnx")


def test_frechet_distance_is_near_zero_for_one_distribution_and_matches_closed_form_for_shifted() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4000, 8)), rng.normal(size=(4000, 8))
    shifted = rng.normal(0.5, 2.0, size=(4000, 8))
    assert frechet_distance(a, b) < 0.05
    # N(0, I) vs N(0.5, 4 I) in 8-d: 8 * 0.25 + 8 * (2 - 1)^2 = 10
    assert frechet_distance(a, shifted) == pytest.approx(10.0, rel=0.08)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_refuses_a_single_sample() -> None:
    with pytest.raises(ValueError, match="two samples"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_two_sample_accuracy_is_chance_for_same_distribution_and_high_for_different() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    far = rng.normal(1.0, 1.0, size=(1000, 16))
    assert abs(two_sample_accuracy(a, b) - 0.5) < 0.06
    assert two_sample_accuracy(a, far) > 0.95


def test_onnx_generator_refuses_a_classifier_file(tiny_classifier_onnx: Path) -> None:
    with pytest.raises(ValueError, match="not 'generator'"):
        OnnxGenerator(tiny_classifier_onnx)


def test_evaluate_generator_reports_each_measure_next_to_real_vs_real(
    tiny_generator_onnx: Path, tiny_classifier_onnx: Path, tiny_class_folders: Path
) -> None:
    from training.gan.evaluate import evaluate_generator

    result = evaluate_generator(
        tiny_generator_onnx, tiny_classifier_onnx, [str(tiny_class_folders)], n=20, seed=0
    )
    for key in (
        "frechet",
        "frechet_real",
        "two_sample_acc",
        "two_sample_acc_real",
        "class_acc",
        "class_acc_real",
    ):
        assert np.isfinite(result[key]), key
    assert 0.0 <= result["two_sample_acc"] <= 1.0 and 0.0 <= result["class_acc"] <= 1.0
    assert result["n_generated"] == result["n_real"] > 0
    report = format_report(result)
    assert "real vs real" in report and NOT_COMPARABLE in report and "Fréchet" in report


def test_evaluate_generator_cli_prints_report_with_psi_and_truncation_and_refuses_bad_ones(
    tiny_generator_onnx: Path,
    tiny_classifier_onnx: Path,
    tiny_class_folders: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from training.cli import run_cli

    argv = ["evaluate-generator", str(tiny_generator_onnx), "--classifier", str(tiny_classifier_onnx)]
    argv += ["--data", str(tiny_class_folders), "--samples", "20"]
    code = run_cli(argv)
    out = capsys.readouterr().out
    assert code == 0
    assert "NOT comparable" in out and "two-sample" in out and "real vs real" in out
    assert "psi" not in out and "clipped" not in out

    assert run_cli([*argv, "--psi", "0.5", "--truncation", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "psi = 0.5" in out and "clipped to +-1.5" in out
    for flag, value in (("--psi", "0"), ("--truncation", "-1")):
        assert run_cli([*argv, flag, value]) == 2
        assert flag in capsys.readouterr().err


def test_evaluate_generator_cli_names_a_missing_model(
    tiny_classifier_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import run_cli

    code = run_cli(
        ["evaluate-generator", str(tmp_path / "nope.onnx"), "--classifier", str(tiny_classifier_onnx)]
    )
    assert code == 1
    assert "nope.onnx" in capsys.readouterr().err


def test_evaluate_generator_cli_needs_data_when_the_model_records_none(
    tiny_generator_onnx: Path, tiny_classifier_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import run_cli

    code = run_cli(
        ["evaluate-generator", str(tiny_generator_onnx), "--classifier", str(tiny_classifier_onnx)]
    )
    assert code == 1
    assert "--data" in capsys.readouterr().err


def test_sample_scales_the_seeded_latents_by_psi(tiny_generator_onnx: Path) -> None:
    gen = OnnxGenerator(tiny_generator_onnx)
    labels = np.arange(6) % max(len(gen.labels), 1) if gen.conditional else None
    z = np.random.default_rng(3).standard_normal((6, gen.latent_dim)).astype(np.float32)
    half = gen.sample(6, 3, labels, psi=0.5)
    np.testing.assert_array_equal(half, gen.generate(z * 0.5, labels))
    assert not np.array_equal(half, gen.sample(6, 3, labels))
    with pytest.raises(ValueError, match="psi"):
        gen.sample(6, 3, labels, psi=0.0)
    clipped = gen.sample(6, 3, labels, psi=0.5, truncation=0.3)
    np.testing.assert_array_equal(clipped, gen.generate(np.clip(z * 0.5, -0.3, 0.3), labels))
    with pytest.raises(ValueError, match="truncation"):
        gen.sample(6, 3, labels, truncation=0.0)
