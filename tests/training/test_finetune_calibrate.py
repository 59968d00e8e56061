"""Fine-tuning from an exported model, the project's GAN samples as fakes, and the calibrated mirror-averaged
score (issue 17): each part on tiny data, and the whole recipe run with all of them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.data.loading import ImageData, split_train_val
from training.detector.calibrate import fit_scaling, fit_temperature, mix_weights, sigmoid

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "onnx_models" / "dcgan-cifar10-generator.onnx"


def detector_contract() -> dict:
    """A complete detector contract, as the app's parser (spec.contract) requires."""
    return {
        "contract_version": 1, "name": "t", "kind": "detector",
        "input": {"name": "image", "layout": "NHWC", "height": 32, "width": 32, "channels": 3,
                  "dtype": "float32", "color": "RGB", "value_range": [0, 255]},
        "feed": {"mode": "resize", "resample": "bilinear"},
        "outputs": {"score": {"name": "score", "meaning": "P(AI)", "shape": [None, 1]}},
        "labels": ["real", "ai"],
        "thresholds": {"decision": 0.5, "real": 0.05, "likely_real": 0.3, "likely_ai": 0.7, "ai": 0.95},
    }


def test_fitted_temperature_recovers_the_one_that_made_the_labels() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 6, 20000)
    y = (rng.random(len(z)) < sigmoid(z / 2.5)).astype(float)
    assert fit_temperature(z, y) == pytest.approx(2.5, rel=0.08)
    assert fit_temperature(z / 2.5, y) == pytest.approx(1.0, rel=0.08)


def test_balanced_calibration_gives_the_equal_prior_probability_whatever_the_mix_of_validation() -> None:
    # two Gaussian classes, 3 fakes per photo: with equal priors the true log-odds are 2 * mu * x / sigma^2 = 2 x.
    # The network's logit is a shifted, stretched x; the balanced fit must undo both, the temperature alone cannot.
    rng = np.random.default_rng(1)
    y = (np.arange(40000) % 4 != 0).astype(float)
    x = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
    z = 3.0 * x + 1.5
    t, b = fit_scaling(z, y)
    grid = np.linspace(-3, 3, 13)  # calibrated log-odds z / T + b against the true 2 x
    assert 3.0 / t == pytest.approx(2.0, rel=0.05) and 1.5 / t + b == pytest.approx(0.0, abs=0.05)
    assert np.allclose(sigmoid((3.0 * grid + 1.5) / t + b), sigmoid(2 * grid), atol=0.02)
    t_alone = fit_temperature(z, y)  # the validation mix (75 % fakes) leaks into the score
    assert sigmoid(np.array([1.5 / t_alone]))[0] > 0.6  # x = 0, where the classes are equally likely, reads "AI"
    w = mix_weights(y, 1.0)
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum())
    m = mix_weights(y, 2.0)
    assert m[y == 0].sum() == pytest.approx(2 * m[y == 1].sum())


def cifake_like(rng: np.random.Generator, n: int) -> ImageData:
    """``n`` random 32x32 images, half real and half fake, in ten CIFAR-class groups: a stand-in for CIFAKE."""
    return ImageData(
        images=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
        labels=np.repeat([0, 1], n // 2).astype(np.int64),
        groups=np.tile(np.arange(10), n // 10).astype(np.int64),
        origins=np.arange(n, dtype=np.int64),
        label_names=["real", "fake"],
    )


def test_gan_fakes_are_label_fake_in_their_own_strata_and_keep_the_old_split() -> None:
    from training.data.gan_fakes import GAN_GROUP, generator_samples, kind_masks, with_gan_fakes

    n = 400
    rng = np.random.default_rng(1)
    base = cifake_like(rng, n)
    both = with_gan_fakes(base, [str(GENERATOR)], 60)
    assert len(both) == n + 60 and (both.labels[n:] == 1).all() and (both.groups[n:] >= GAN_GROUP).all()
    assert both.info["gan_fakes"]["samples"] == [60]
    train0, val0 = split_train_val(base, 0.1, 0)
    train1, val1 = split_train_val(both, 0.1, 0)
    assert np.array_equal(val1[val1 < n], val0) and np.array_equal(train1[train1 < n], train0)
    assert (val1[val1 >= n] - n).tolist() == list(range(10))  # fixed by stream position: samples 0-9 of 100
    fewer = with_gan_fakes(base, [str(GENERATOR)], 25)
    assert np.array_equal(split_train_val(fewer, 0.1, 0)[1][-10:] - n, np.arange(10))
    masks = kind_masks(both.groups, both.labels)
    assert masks["cifake"][:n].all() and not masks["cifake"][n:].any()
    again, classes = generator_samples(GENERATOR, 20)
    assert np.array_equal(again, both.images[n:n + 20])  # one stream: the same latents every time
    assert classes.tolist() == [i % 10 for i in range(20)]
    with pytest.raises(ValueError, match="need a generator"):
        generator_samples(ROOT / "onnx_models" / "cifake-cnn.onnx", 4)


def test_warm_start_reproduces_the_file_in_inference_and_in_training_mode(tmp_path: Path) -> None:
    from training.detector.warm_start import warm_start
    from training.recipes.cifake_cnn import build_model
    from training.ship.onnx import export_keras

    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (256, 32, 32, 3), dtype=np.uint8)
    source = build_model({"width": 8, "dense": 16}, 1e-3)
    source.fit(x.astype(np.float32), (x.mean(axis=(1, 2, 3)) > 127).astype(np.float32), epochs=2, verbose=0)
    contract = detector_contract()
    path = export_keras(source, tmp_path / "t.onnx", contract, x[:32])["path"]
    fresh = build_model({"width": 8, "dense": 16, "dropout": 0.0}, 1e-3)
    assert warm_start(fresh, path, x) < 1e-4
    inference = np.asarray(fresh(x.astype(np.float32), training=False))
    training = np.asarray(fresh(x.astype(np.float32), training=True))  # batch statistics, as fine-tuning sees it
    assert np.abs(inference - training).max() < 0.02
    with pytest.raises(ValueError, match="not the same architecture"):
        warm_start(build_model({"width": 8, "dense": 16, "convs": "2,2"}, 1e-3), path, x)


def test_a_fraction_of_gan_fakes_is_stored_as_jpeg_the_same_samples_whatever_the_count() -> None:
    from io import BytesIO

    from PIL import Image

    from training.data.gan_fakes import JPEG_QUALITY, as_jpeg, generator_samples, with_gan_fakes

    clean, _ = generator_samples(GENERATOR, 200)
    out, qualities = as_jpeg(clean, 0.5)
    picked = qualities > 0
    assert 70 <= picked.sum() <= 130 and ((qualities[picked] >= JPEG_QUALITY[0]) & (qualities[picked] <= JPEG_QUALITY[1])).all()
    assert np.array_equal(out[~picked], clean[~picked])  # the others untouched
    i = int(np.flatnonzero(picked)[0])
    buf = BytesIO()
    Image.fromarray(clean[i]).save(buf, "JPEG", quality=int(qualities[i]))
    assert np.array_equal(out[i], np.asarray(Image.open(BytesIO(buf.getvalue())).convert("RGB")))  # a real JPEG round trip
    fewer, q_fewer = as_jpeg(clean[:50], 0.5)
    assert np.array_equal(q_fewer, qualities[:50]) and np.array_equal(fewer, out[:50])  # by position, not by count
    assert (as_jpeg(clean, 0.0)[1] == 0).all() and (as_jpeg(clean, 1.0)[1] > 0).all()
    base = ImageData(images=clean[:20], labels=np.zeros(20, np.int64), groups=np.zeros(20, np.int64),
                     origins=np.arange(20, dtype=np.int64), label_names=["real", "fake"])
    mixed = with_gan_fakes(base, [str(GENERATOR)], 40, jpeg_fraction=0.5)
    assert np.array_equal(mixed.images[20:], as_jpeg(generator_samples(GENERATOR, 40)[0], 0.5)[0])
    assert mixed.info["gan_fakes"]["jpeg_fraction"] == 0.5


def test_recipe_with_gan_fakes_mirror_average_and_temperature(cifake_zip: Path, tmp_path: Path) -> None:
    import onnxruntime as ort

    from tests.training.test_recipes import train
    from training.cli import EXIT_OK
    from training.data.loading import load_real_fake
    from training.data.preprocess import FeedSpec

    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--set", f"gan_fakes={GENERATOR}",
                    "--set", "gan_fake_count=40", "--set", "gan_fake_jpeg=0.5", "--set", "tta_flip=true",
                    "--set", "calibrate=true", "--set", "calibrate_prior=balanced", "--set", "calibrate_on=cifake")
    assert rc == EXIT_OK, evs[-3:]
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    cal, kinds = evaluation["calibration"], evaluation["per_kind"]
    # fitted on the CIFAKE validation images alone, not on the GAN samples beside them
    assert cal["fitted_on_kind"] == "cifake" and cal["fitted_on"].startswith(f"{kinds['cifake']['samples']} validation")
    assert cal["mirror_average"] and 0.1 <= cal["temperature"] <= 10.0 and cal["prior"] == "balanced"  # grid 0.2-5, refined
    # calibrated to equal classes: the decision is 0.5, not chosen on validation, and measured beside a chosen one
    assert evaluation["thresholds"]["decision"] == 0.5 and evaluation["threshold_held_out"]["fixed"] == 0.5
    assert kinds["gan_fakes"]["samples"] > 0 and kinds["cifake"]["samples"] > 0
    card = (tmp_path / "run" / "cifake-cnn.md").read_text()
    assert "flagged AI" in card and "temperature" in card and "of them stored as JPEG" in card
    assert "(the CIFAKE images alone)" in card  # the card says which images the calibration was fitted on
    assert "The decision threshold is fixed at 0.5, not chosen on this split" in card
    assert "At the decision threshold 0.5000 (fixed at 0.5, not chosen on validation)" in card
    assert "At 0.5 instead" not in card  # said once
    assert "Per kind (as stored / PNG / JPEG q60): CIFAKE alone balanced accuracy" in card  # what the mix hides
    per_kind_q60 = evaluation["robustness"]["jpeg_q60"]["per_kind"]
    assert 0.0 <= per_kind_q60["gan_fakes_flagged"] <= 1.0 and 0.0 <= per_kind_q60["cifake_balanced_accuracy"] <= 1.0
    sess = ort.InferenceSession(str(tmp_path / "run" / "cifake-cnn.onnx"), providers=["CPUExecutionProvider"])
    images = np.asarray(load_real_fake([str(cifake_zip)], FeedSpec()).images[:8]).astype(np.float32)
    a = sess.run(None, {"image": images})[0]
    b = sess.run(None, {"image": images[:, :, ::-1].copy()})[0]
    assert np.allclose(a, b, atol=1e-5)  # the mirror average is inside the graph: a mirror image scores the same


def test_patch_model_mirror_average_lines_up_the_patches(cifake_zip: Path) -> None:
    from training.detector.calibrate import calibrate, logit_model, predict_logits
    from training.recipes.cifake_patchgan import build_model

    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(64) % 2).astype(float)
    model = build_model({"width": 8}, 1e-3)
    scored, report = calibrate(model, x, y, mirror=True, fit=True)
    score, patch_map = (np.asarray(o) for o in scored(x.astype(np.float32), training=False))
    _, mirror_map = (np.asarray(o) for o in scored(x[:, :, ::-1].astype(np.float32), training=False))
    assert np.allclose(patch_map[:, :, ::-1], mirror_map, atol=1e-5)  # a mirrored image's heatmap is mirrored
    assert np.allclose(score[:, 0], patch_map.mean(axis=(1, 2, 3)), atol=1e-6)
    lg = predict_logits(logit_model(model), x, True)
    assert lg.shape == (64, 2, 16) and 0.2 <= report["temperature"] <= 5.0


def test_balanced_calibration_is_inside_the_scored_graph() -> None:
    from training.detector.calibrate import calibrate, logit_model, predict_logits
    from training.recipes.cifake_cnn import build_model

    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(40) % 4 != 0).astype(float)  # 3 fakes per photo
    model = build_model({"width": 4, "dense": 8}, 1e-3)
    scored, report = calibrate(model, x, y, mirror=True, fit=True, prior="balanced")
    lg = predict_logits(logit_model(model), x, True).mean(axis=1)[:, 0]
    got = np.asarray(scored(x.astype(np.float32), training=False))[:, 0]
    assert report["prior"] == "balanced" and "each class weighing half" in report["fitted_on"]
    assert np.allclose(got, sigmoid(lg / report["temperature"] + report["bias"]), atol=2e-3)  # report rounds T, b
    assert {"ece_calibrated_balanced", "ece_calibrated_two_photos_per_fake"} <= set(report)
    with pytest.raises(ValueError, match="calibrate_prior"):
        calibrate(model, x, y, mirror=False, fit=True, prior="folder")


def test_ensemble_averages_member_logits_in_one_exported_graph(tmp_path: Path) -> None:
    import onnxruntime as ort

    from training.detector.calibrate import calibrate, ensemble_logits, logit_model, predict_logits
    from training.recipes.cifake_cnn import build_model
    from training.ship.onnx import export_keras

    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(48) % 2).astype(float)
    a, b = build_model({"width": 8, "dense": 16}, 1e-3), build_model({"width": 4, "dense": 8}, 1e-3)
    both = ensemble_logits([a, b])
    expected = (predict_logits(logit_model(a), x, False) + predict_logits(logit_model(b), x, False)) / 2
    assert np.allclose(predict_logits(both, x, False), expected, atol=1e-5)
    scored, report = calibrate(both, x, y, mirror=True, fit=True)
    assert scored.count_params() == a.count_params() + b.count_params()
    contract = detector_contract()
    path = export_keras(scored, tmp_path / "e.onnx", contract, x[:16])["path"]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.astype(np.float32)})[0][:, 0]
    mirrored = (predict_logits(logit_model(a), x[:, :, ::-1], False) + predict_logits(logit_model(b), x[:, :, ::-1], False)) / 2
    want = 1 / (1 + np.exp(-(expected[:, 0, 0] + mirrored[:, 0, 0]) / 2 / report["temperature"]))
    assert np.allclose(got, want, atol=1e-4)


def test_one_writer_refuses_a_file_whose_outputs_disagree_or_whose_contract_the_app_refuses(tmp_path: Path) -> None:
    import tensorflow as tf
    import tf2onnx

    from spec.contract import ContractError
    from training.ship.onnx import ParityError, export_function, write_checked

    sig = [tf.TensorSpec([None, 32, 32, 3], tf.float32, name="image")]
    fn = tf.function(lambda image: {"score": tf.reduce_mean(image, axis=[1, 2, 3])[:, None] / 255.0},
                     input_signature=sig)
    feeds = {"image": np.full((3, 32, 32, 3), 51.0, np.float32)}
    assert export_function(fn, sig, detector_contract(), tmp_path / "ok.onnx", feeds) < 1e-6
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=sig, opset=17)
    with pytest.raises(ParityError, match=r"differ by 0\.8"):  # what TensorFlow "said" is not what the graph computes
        write_checked(proto, detector_contract(), tmp_path / "bad.onnx", feeds, {"score": np.ones((3, 1), np.float32)})
    broken = {k: v for k, v in detector_contract().items() if k != "thresholds"}
    with pytest.raises(ContractError, match="thresholds"):
        export_function(fn, sig, broken, tmp_path / "bad.onnx", feeds)
    wrong_size = detector_contract() | {"input": detector_contract()["input"] | {"height": 64}}
    with pytest.raises(ContractError):
        export_function(fn, sig, wrong_size, tmp_path / "bad.onnx", feeds)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.onnx"]


def test_max_ensemble_takes_the_most_suspicious_member() -> None:
    from training.detector.calibrate import ensemble_logits, logit_model, predict_logits
    from training.recipes.cifake_cnn import build_model

    x = np.random.default_rng(5).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    a, b = build_model({"width": 8, "dense": 16}, 1e-3), build_model({"width": 4, "dense": 8}, 1e-3)
    la, lb = predict_logits(logit_model(a), x, False), predict_logits(logit_model(b), x, False)
    assert np.allclose(predict_logits(ensemble_logits([a, b], "max"), x, False), np.maximum(la, lb), atol=1e-5)


def test_zero_epochs_ships_the_start_model_as_it_is(cifake_zip: Path, tmp_path: Path) -> None:
    import onnxruntime as ort

    from tests.training.test_recipes import train
    from training.cli import EXIT_OK
    from training.data.loading import load_real_fake
    from training.data.preprocess import FeedSpec

    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "first", "--set", "model.width=8")
    assert rc == EXIT_OK, evs[-3:]
    first = tmp_path / "first" / "cifake-cnn.onnx"
    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "again", "--epochs", "0", "--set", "model.width=8",
                    "--set", f"init_from={first}")
    assert rc == EXIT_OK, evs[-3:]
    assert not [e for e in evs if e["event"] == "batch"]  # nothing trained
    started = json.loads((tmp_path / "again" / "evaluation.json").read_text())["lineage"][0]
    assert started["role"] == "started from" and started["command"].startswith("pixelpatrol-train cifake-cnn")
    assert "Made from" in (tmp_path / "again" / "cifake-cnn.md").read_text()
    images = np.asarray(load_real_fake([str(cifake_zip)], FeedSpec()).images[:8]).astype(np.float32)
    scores = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"image": images})[0]
              for p in (first, tmp_path / "again" / "cifake-cnn.onnx")]
    assert np.allclose(scores[0], scores[1], atol=1e-5)
    with pytest.raises(ValueError, match="0 only with init_from"):
        from training.detector.fit import DetectorConfig

        DetectorConfig(epochs=0)


def test_weight_average_follows_the_exponential_rule_and_survives_a_resume(tmp_path: Path) -> None:
    import keras

    from training.detector.ema import EMA_STATE, WeightAverage

    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.Dense(1, name="score")(inp))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    y = (x @ np.array([[2.0], [-1.0]], np.float32)).astype(np.float32)
    history: list[list[np.ndarray]] = []

    class Record(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            history.append([w.copy() for w in self.model.get_weights()])

    start = [w.copy() for w in model.get_weights()]
    avg_cb = WeightAverage(tmp_path, 0.9, (x, y), resume=False)
    model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), callbacks=[avg_cb, Record()], verbose=0)
    expected = [w.astype(np.float64) for w in start]
    for n, weights in enumerate(history, 1):
        d = min(0.9, (1 + n) / (10 + n))
        expected = [d * e + (1 - d) * w for e, w in zip(expected, weights, strict=True)]
    assert all(np.allclose(a, e) for a, e in zip(avg_cb.average, expected, strict=True))
    assert not np.allclose(avg_cb.average[0], model.get_weights()[0])  # an average, not the last weights
    state = json.loads((tmp_path / EMA_STATE).read_text())
    assert state["updates"] == len(history) == 8 and state["epoch"] == 2 and "val_loss" in state
    again = WeightAverage(tmp_path, 0.9, (x, y), resume=True)
    again.set_model(model)
    again.on_train_begin()
    assert again.updates == 8 and all(np.allclose(a, e, atol=1e-6) for a, e in zip(again.average, expected, strict=True))


@pytest.mark.slow  # one training of the CNN recipe
def test_recipe_ships_the_weight_average_when_it_measures_at_least_as_well(cifake_zip: Path, tmp_path: Path) -> None:
    from tests.training.test_recipes import train
    from training.cli import EXIT_OK

    rc, evs = train("cifake-cnn", [str(cifake_zip)], tmp_path / "run", "--epochs", "2",
                    "--set", "ema_decay=0.9", "--set", "train_seed=5")
    assert rc == EXIT_OK, evs[-3:]
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    avg = evaluation["weight_average"]
    assert avg["monitor"] == "validation ROC AUC (exact)" and avg["updates"] > 0
    assert 0.0 <= avg["weight_average"] <= 1.0 and 0.0 <= avg["best_epoch"] <= 1.0
    shipped_average = avg["weight_average"] >= avg["best_epoch"]
    assert evaluation["checkpoint"] == ("ema.keras" if shipped_average else "best.keras")
    assert avg["shipped"] == ("weight average" if shipped_average else "best epoch")
    assert "exponential moving average" in (tmp_path / "run" / "cifake-cnn.md").read_text()


def test_weight_average_or_best_epoch_is_chosen_by_exact_auc_when_it_can_be_measured(tmp_path: Path) -> None:
    from training.detector.ema import EMA, EMA_STATE, choose_checkpoint

    # session 13's case: the binned AUC logged in training says the best epoch, the exact one the average
    (tmp_path / EMA).write_bytes(b"average")
    (tmp_path / "best.keras").write_bytes(b"best")
    (tmp_path / EMA_STATE).write_text(json.dumps({"val_auc": 0.99643, "updates": 10, "decay": 0.9995}))
    (tmp_path / "state.json").write_text(json.dumps({"best_value": 0.99679, "best_epoch": 24}))
    exact = {EMA: 0.99808, "best.keras": 0.99779}
    asked: list[str] = []

    def measure(path: Path) -> float:
        asked.append(path.name)
        return exact[path.name]

    binned, report = choose_checkpoint(tmp_path, tmp_path / "best.keras", "val_auc", "max")
    assert binned.name == "best.keras" and report and report["shipped"] == "best epoch"
    chosen, report = choose_checkpoint(tmp_path, tmp_path / "best.keras", "val_auc", "max", measure)
    assert chosen.name == EMA and sorted(asked) == sorted(exact)
    assert report and report["weight_average"] == 0.99808 and report["best_epoch"] == 0.99779
    assert report["monitor"] == "validation ROC AUC (exact)" and report["best_epoch_number"] == 24
    asked.clear()  # a loss monitor is compared as logged
    (tmp_path / EMA_STATE).write_text(json.dumps({"val_loss": 0.06, "updates": 10, "decay": 0.9995}))
    (tmp_path / "state.json").write_text(json.dumps({"best_value": 0.05, "best_epoch": 3}))
    chosen, report = choose_checkpoint(tmp_path, tmp_path / "best.keras", "val_loss", "min", measure)
    assert chosen.name == "best.keras" and not asked and report and report["monitor"] == "val_loss"


def test_experts_join_the_mean_ensemble_by_the_maximum_in_one_exported_graph(tmp_path: Path) -> None:
    import onnxruntime as ort

    from training.detector.calibrate import calibrate, ensemble_logits, logit_model, predict_logits
    from training.recipes.cifake_cnn import build_model
    from training.ship.onnx import export_keras

    x = np.random.default_rng(6).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(32) % 2).astype(float)
    a, b, c = (build_model({"width": w, "dense": 8}, 1e-3) for w in (8, 4, 6))
    la, lb, lc = (predict_logits(logit_model(m), x, False) for m in (a, b, c))
    nested = ensemble_logits([ensemble_logits([a, b], "mean"), c], "max")
    assert np.allclose(predict_logits(nested, x, False), np.maximum((la + lb) / 2, lc), atol=1e-5)
    from training.detector.calibrate import offset_logits

    shifted = ensemble_logits([ensemble_logits([a, b], "mean"), offset_logits(c, -2.0)], "max")
    assert np.allclose(predict_logits(shifted, x, False), np.maximum((la + lb) / 2, lc - 2.0), atol=1e-5)
    scored, report = calibrate(nested, x, y, mirror=False, fit=True)
    path = export_keras(scored, tmp_path / "n.onnx", detector_contract(), x[:16])["path"]
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x.astype(np.float32)})[0]
    want = 1 / (1 + np.exp(-np.maximum((la + lb) / 2, lc)[:, 0, 0] / report["temperature"]))
    assert np.allclose(got[:, 0], want, atol=1e-4)


def test_a_patch_model_joined_by_cnns_keeps_its_heatmap_shifted_by_their_logits() -> None:
    from training.detector.calibrate import (
        calibrate,
        ensemble_logits,
        logit_model,
        offset_logits,
        predict_logits,
    )
    from training.recipes.cifake_cnn import build_model as build_cnn
    from training.recipes.cifake_patchgan import build_model as build_patch

    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(32) % 2).astype(float)
    patch, cnn, expert = build_patch({"width": 8}, 1e-3), build_cnn({"width": 8, "dense": 8}, 1e-3), build_cnn(
        {"width": 4, "dense": 8}, 1e-3)
    lp, lc, le = (predict_logits(logit_model(m), x, False) for m in (patch, cnn, expert))  # [N, 1, cells]
    joined = ensemble_logits([ensemble_logits([patch, cnn], "mean"), offset_logits(expert, -2.0)], "max")
    got = predict_logits(joined, x, False)
    assert got.shape == lp.shape and lp.shape[2] > 1  # still a map, one logit per patch
    assert np.allclose(got, np.maximum((lp + lc) / 2, le - 2.0), atol=1e-5)
    scored, report = calibrate(joined, x, y, mirror=True, fit=True)
    score, patch_map = (np.asarray(o) for o in scored(x.astype(np.float32), training=False))
    _, mirror_map = (np.asarray(o) for o in scored(x[:, :, ::-1].astype(np.float32), training=False))
    assert np.allclose(score[:, 0], patch_map.mean(axis=(1, 2, 3)), atol=1e-6)
    assert np.allclose(patch_map[:, :, ::-1], mirror_map, atol=1e-5)
    assert 0.2 <= report["temperature"] <= 5.0


def test_a_cnn_joined_by_a_patch_model_stays_one_logit_per_image_the_patch_models_score_logit(tmp_path: Path) -> None:
    import onnxruntime as ort

    from training.detector.calibrate import (
        calibrate,
        ensemble_logits,
        logit_model,
        offset_logits,
        predict_logits,
    )
    from training.recipes.cifake_cnn import build_model as build_cnn
    from training.recipes.cifake_patchgan import build_model as build_patch
    from training.ship.onnx import export_keras

    rng = np.random.default_rng(8)
    x = rng.integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(32) % 2).astype(float)
    cnn, patch, expert = build_cnn({"width": 8, "dense": 8}, 1e-3), build_patch({"width": 8}, 1e-3), build_cnn(
        {"width": 4, "dense": 8}, 1e-3)
    last = patch.get_layer("patch_logits")  # a confident map: patches far from 0, as a trained PatchGAN gives
    last.set_weights([w * 40 for w in last.get_weights()])
    lc, le = (predict_logits(logit_model(m), x, False)[:, 0, 0] for m in (cnn, expert))
    p_map = sigmoid(predict_logits(logit_model(patch), x, False)[:, 0])  # [N, cells]
    p = p_map.mean(axis=1)
    lp = np.log(p) - np.log1p(-p)  # the logit of the patch model's own score
    joined = ensemble_logits([ensemble_logits([cnn, patch], "mean"), offset_logits(expert, -2.0)], "max")
    got = predict_logits(joined, x, False)
    assert got.shape == (32, 1, 1)  # one logit per image: no map
    assert np.allclose(got[:, 0, 0], np.maximum((lc + lp) / 2, le - 2.0), atol=1e-4)
    scored, _ = calibrate(joined, x, y, mirror=True, fit=True, prior="balanced")
    path = export_keras(scored, tmp_path / "joined.onnx", detector_contract(), x[:16])["path"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_score,) = session.run(["score"], {"image": x.astype(np.float32)})
    assert np.allclose(onnx_score, np.asarray(scored(x.astype(np.float32), training=False)), atol=1e-5)


def test_a_larger_generator_is_shrunk_as_the_app_feeds_it_and_pinned_reals_keep_the_old_split() -> None:
    from PIL import Image

    from training.data.gan_fakes import (
        PINNED_REAL_GROUP,
        as_jpeg,
        generator_samples,
        kind_masks,
        with_gan_fakes,
        with_pinned_reals,
    )

    faces = ROOT / "onnx_models" / "faces-generator.onnx"
    n = 400
    rng = np.random.default_rng(3)
    base = cifake_like(rng, n)
    photos = ImageData(images=rng.integers(0, 256, (150, 32, 32, 3), dtype=np.uint8), labels=np.full(150, -1),
                       groups=np.full(150, -1), origins=np.arange(150), label_names=[], info={"sources": ["faces"]})
    pinned = with_pinned_reals(base, photos)
    assert len(pinned) == n + 150 and (pinned.labels[n:] == 0).all() and (pinned.groups[n:] == PINNED_REAL_GROUP).all()
    train0, val0 = split_train_val(base, 0.1, 0)
    train1, val1 = split_train_val(pinned, 0.1, 0)
    assert np.array_equal(val1[val1 < n], val0) and np.array_equal(train1[train1 < n], train0)
    assert (val1[val1 >= n] - n).tolist() == [*range(10), *range(100, 110)]  # by position, like the GAN samples
    both = with_gan_fakes(pinned, [str(faces)], 12, jpeg_fraction=1.0)
    big, _ = generator_samples(faces, 12)
    assert big.shape[1:3] == (64, 64) and both.images.shape[1:3] == (32, 32)
    # saved as JPEG at its own size, then shrunk as the app feeds a 64x64 file (bilinear), in that order
    expected = np.asarray(Image.fromarray(as_jpeg(big, 1.0)[0][5]).resize((32, 32), Image.Resampling.BILINEAR))
    assert np.array_equal(both.images[n + 150 + 5], expected)
    masks = kind_masks(both.groups, both.labels)
    assert masks["cifake"][:n].all() and not masks["cifake"][n:].any()  # pinned photos are not CIFAKE
    gan_fakes = np.flatnonzero(masks["gan_vs_real"] & (both.labels == 1))
    assert gan_fakes.tolist() == list(range(n + 150, n + 162))  # the GAN samples, no CIFAKE fake, no pinned photo
    assert masks["gan_vs_real"][n:n + 150].all()  # the pinned photos are reals the GAN samples are measured against
    with pytest.raises(ValueError, match="real/fake"):
        with_pinned_reals(photos, photos)
