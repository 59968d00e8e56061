"""Every detector recipe trains an epoch on tiny synthetic data, exports, and follows the protocol."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from training.cli import EXIT_ERROR, EXIT_OK, EXIT_STOPPED, run_cli
from training.runs import Run, validate_event

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

QUICK = ["--epochs", "1", "--batch-size", "16", "--limit", "48", "--threads", "2", "--quiet"]


def events(stream: io.StringIO) -> list[dict]:
    out = [json.loads(line) for line in stream.getvalue().splitlines()]
    for record in out:
        validate_event(record)
    return out


def train(recipe: str, data: list[str], out: Path, *extra: str) -> tuple[int, list[dict]]:
    stream = io.StringIO()
    argv = [recipe, *[a for d in data for a in ("--data", d)], "--out", str(out), *QUICK, *extra]
    return run_cli(argv, stream=stream), events(stream)


def ort_scores(onnx_path: Path, images: np.ndarray) -> tuple[dict, list[np.ndarray]]:
    import onnxruntime as ort

    from training.data.preprocess import to_model_input

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    contract = json.loads(sess.get_modelmeta().custom_metadata_map["pixelpatrol"])
    return contract, sess.run(None, {contract["input"]["name"]: to_model_input(images)})


# The PatchGAN run also mixes its batches (mixup: whole images blended, so one soft target for every patch).
MIXED = ["--set", "augment.mixup=0.5"]


@pytest.mark.parametrize(
    ("recipe", "outputs", "extra"),
    [("cifake-cnn", ["score"], []), ("cifake-patchgan", ["score", "patch_map"], MIXED)],
)
def test_detector_recipe_trains_exports_and_keras_matches_onnx(
    recipe: str, outputs: list[str], extra: list[str], cifake_zip: Path, tmp_path: Path
) -> None:
    import keras

    from training.data.preprocess import to_model_input
    from training.ship.onnx import keras_outputs

    rc, evs = train(recipe, [str(cifake_zip)], tmp_path / "run", *extra)
    assert rc == EXIT_OK, evs[-3:]
    augment = json.loads((tmp_path / "run" / "config.json").read_text())["resolved"]["augment"]
    assert (augment["mixup"], augment["cutmix"]) == ((0.5, 0.0) if extra else (0.0, 0.0))
    kinds = [e["event"] for e in evs]
    assert kinds[0] == "run_start" and kinds[-1] == "finish" and evs[-1]["status"] == "completed"
    assert {"batch", "epoch_end", "evaluation", "export"} <= set(kinds)
    onnx_path = tmp_path / "run" / f"{recipe}.onnx"
    assert onnx_path.exists() and (tmp_path / "run" / f"{recipe}.md").exists()
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    held_out = evaluation["threshold_held_out"]
    assert held_out["min"] <= held_out["balanced_accuracy"] <= held_out["max"]
    assert "measured on the other" in (tmp_path / "run" / f"{recipe}.md").read_text()
    for plot in ("history", "roc", "confusion"):
        assert (tmp_path / "run" / f"{recipe}-{plot}.png").stat().st_size > 1000
    from training.data.loading import load_real_fake
    from training.data.preprocess import FeedSpec

    images = np.asarray(load_real_fake([str(cifake_zip)], FeedSpec()).images[:10])
    contract, got = ort_scores(onnx_path, images)
    # the model is named after its run folder ("run"), not the recipe: no two trained models share a name
    assert contract["name"] == "run" and contract["title"].startswith("run (") and contract["kind"] == "detector"
    assert "validation images, fewer than the 200" in contract["card"]["thresholds_from"]  # wide default bands
    assert [contract["outputs"][k]["name"] for k in outputs] == outputs
    t = contract["thresholds"]
    assert 0 <= t["real"] < t["likely_real"] <= t["decision"] <= t["likely_ai"] < t["ai"] <= 1
    assert contract["card"]["params"] > 0 and contract["card"]["command"].startswith("pixelpatrol-train")
    model = keras.models.load_model(tmp_path / "run" / "best.keras")
    # A run this short uses the short-run batch-norm momentum (training/detector/fit.py: bn_momentum).
    assert {
        layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
    } == {0.9}
    want = keras_outputs(model, to_model_input(images), outputs)
    for name, arr in zip(outputs, got, strict=True):
        np.testing.assert_allclose(arr, want[name], atol=1e-4)
    if recipe == "cifake-patchgan":  # the image score is the mean of the patch map
        np.testing.assert_allclose(got[0][:, 0], got[1].mean(axis=(1, 2, 3)), atol=1e-6)


def test_bn_momentum_is_short_run_safe_unless_set() -> None:
    from training.detector.fit import SHORT_RUN_STEPS, bn_momentum

    assert bn_momentum("auto", None) == 0.9  # a tuner trial: length unknown
    assert bn_momentum("auto", SHORT_RUN_STEPS - 1) == 0.9
    assert bn_momentum("auto", SHORT_RUN_STEPS) == 0.99  # the shipped full-data runs
    assert bn_momentum("0.95", 10) == 0.95 and bn_momentum(0.5, None) == 0.5
    with pytest.raises(ValueError, match="bn_momentum"):
        bn_momentum("1.0", None)


def test_noise_discriminator_trains_and_exports(class_folders: Path, tmp_path: Path) -> None:
    rc, evs = train("noise-discriminator", [str(class_folders)], tmp_path / "run")
    assert rc == EXIT_OK and evs[-1]["status"] == "completed"
    contract, (score,) = ort_scores(
        tmp_path / "run" / "noise-discriminator.onnx", np.zeros((2, 32, 32, 3), np.uint8)
    )
    assert contract["kind"] == "discriminator" and "real" in contract["outputs"]["score"]["meaning"]
    assert score.shape == (2, 1)


@pytest.mark.slow  # two trainings: ~20-90 s on 2 shared cores
def test_resume_continues_the_epoch_count(cifake_zip: Path, tmp_path: Path) -> None:
    rc, _ = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run")
    assert rc == EXIT_OK
    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--resume", "--epochs", "2")
    assert rc == EXIT_OK
    start = next(e for e in evs if e["event"] == "run_start")
    assert start["resumed"] and start["initial_epoch"] == 1 and start["epochs"] == 2
    assert [e["epoch"] for e in evs if e["event"] == "epoch_end"] == [2]
    all_lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in all_lines if '"epoch_end"' in x] == [1, 2]


@pytest.mark.slow  # two trainings
def test_early_stopped_run_resumed_with_more_patience_trains_on(cifake_zip: Path, tmp_path: Path) -> None:
    rc, _ = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run")
    assert rc == EXIT_OK
    state_path = tmp_path / "run" / "state.json"
    # As if early stopping had ended it: no improvement for 3 epochs.
    state_path.write_text(
        json.dumps({**json.loads(state_path.read_text()), "wait": 3, "early_stopped": True})
    )
    rc, evs = train(
        "cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--resume", "--epochs", "2", "--set", "patience=3"
    )
    assert rc == EXIT_OK and not [e for e in evs if e["event"] == "epoch_end"]  # still stopped: finishes only
    rc, evs = train(
        "cifake-cnn",
        [str(cifake_zip)],
        tmp_path / "run",
        "--resume",
        "--epochs",
        "2",
        "--set",
        "patience=none",
    )
    assert rc == EXIT_OK and [e["epoch"] for e in evs if e["event"] == "epoch_end"] == [2]
    assert json.loads(state_path.read_text())["epochs_done"] == 2


@pytest.mark.slow  # two trainings
def test_stop_file_ends_cleanly_with_a_checkpoint_and_resume_finishes(
    cifake_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Run.on_batch

    def on_batch_then_ask_to_stop(self: Run, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        (self.dir / "STOP").touch()

    monkeypatch.setattr(Run, "on_batch", on_batch_then_ask_to_stop)
    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--epochs", "2")
    assert rc == EXIT_STOPPED
    assert evs[-1]["event"] == "finish" and evs[-1]["status"] == "stopped"
    assert sum(e["event"] == "batch" for e in evs) == 1  # ended at the next batch boundary
    assert (tmp_path / "run" / "last.keras").exists()
    assert json.loads((tmp_path / "run" / "state.json").read_text())["epochs_done"] == 0
    monkeypatch.setattr(Run, "on_batch", original)
    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--epochs", "2", "--resume")
    assert rc == EXIT_OK and [e["epoch"] for e in evs if e["event"] == "epoch_end"] == [1, 2]


def test_tune_searches_then_trains_the_best_and_resume_keeps_it(
    cifake_zip: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from training.recipes.cifake_cnn import build_model

    caplog.set_level("INFO", logger="training.detector.tune")
    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--tune", "--set", "tune_epochs=3")
    assert rc == EXIT_OK and evs[-1]["status"] == "completed"
    (tuning,) = [e for e in evs if e["event"] == "evaluation" and e["split"] == "tuning"]
    best, trials = tuning["metrics"]["best"], tuning["metrics"]["trials"]
    assert len(trials) >= 2 and {"width", "lr"} <= set(best)
    assert best == trials[0]["hyperparameters"]  # get_best_trials is ordered by score
    assert sum("trial " in r.getMessage() and "best so far" in r.getMessage() for r in caplog.records) >= 2
    # The exported model is the best hyperparameters' network, trained on all data.
    contract, _ = ort_scores(tmp_path / "run" / "cifake-cnn.onnx", np.zeros((1, 32, 32, 3), np.uint8))
    assert contract["card"]["params"] == build_model({"width": best["width"]}, best["lr"]).count_params()
    assert json.loads((tmp_path / "run" / "state.json").read_text())["tuned"] == best
    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--tune", "--resume", "--epochs", "2")
    assert rc == EXIT_OK and [e["epoch"] for e in evs if e["event"] == "epoch_end"] == [2]
    assert not [e for e in evs if e["event"] == "evaluation" and e["split"] == "tuning"]  # no second search


def test_bad_data_path_fails_with_error_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, evs = train("cifake-cnn", [str(tmp_path / "missing.zip")], tmp_path / "run")
    assert rc == EXIT_ERROR
    assert [e["event"] for e in evs] == ["error", "finish"] and evs[-1]["status"] == "failed"
    assert "does not exist" in evs[0]["message"]
    assert "does not exist" in capsys.readouterr().err


def test_unknown_recipe_and_bad_option_are_usage_errors(tmp_path: Path) -> None:
    assert run_cli(["no-such-recipe", "--out", str(tmp_path / "a")]) == 2
    assert run_cli(["cifake-cnn", "--out", str(tmp_path / "b"), "--set", "oops"]) == 2
    assert not (tmp_path / "a").exists()


def test_the_patchgan_refuses_cutmix_before_any_work(cifake_zip: Path, tmp_path: Path) -> None:
    rc, evs = train("cifake-patchgan", [str(cifake_zip)], tmp_path / "run", "--set", "augment.cutmix=0.5")
    assert rc == EXIT_ERROR
    assert [e["event"] for e in evs] == ["error", "finish"] and "augment.mixup" in evs[0]["message"]
