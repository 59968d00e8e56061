"""Batch-level mixup/cutmix (training/data/augment.py: make_mix_fn, wired into fit.make_dataset)."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.augment import AugmentSpec

tf = pytest.importorskip("tensorflow")


def _batch(n: int = 64, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Photos all black, fakes all white: an image's mean brightness / 255 is its label."""
    labels = (np.arange(n) % 2).astype(np.float32)
    images = np.broadcast_to(labels[:, None, None, None] * 255, (n, size, size, 3)).astype(np.uint8)
    return images, labels


def _mix(spec: AugmentSpec, seed: tuple[int, int] = (3, 7)) -> tuple[np.ndarray, np.ndarray]:
    from training.data.augment import make_mix_fn

    images, labels = _batch()
    x, y = make_mix_fn(spec)(tf.constant(images), tf.constant(labels), tf.constant(seed, tf.int64))
    return x.numpy(), y.numpy()


@pytest.mark.parametrize("spec", [AugmentSpec(mixup=1.0), AugmentSpec(cutmix=1.0),
                                  AugmentSpec(mixup=0.5, cutmix=0.5, mix_alpha=0.4)])
def test_the_label_is_mixed_in_the_proportion_of_the_pixels(spec: AugmentSpec) -> None:
    x, y = _mix(spec)
    assert x.dtype == np.float32 and x.shape == (64, 16, 16, 3)
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)) / 255.0, y, atol=1e-5)
    assert ((y > 0.01) & (y < 0.99)).sum() > 10  # most pairs are a photo and a fake or the same label: some mixed


def test_cutmix_pastes_a_box_of_the_partner_and_mixup_blends() -> None:
    x, _ = _mix(AugmentSpec(cutmix=1.0))
    assert set(np.unique(x).tolist()) <= {0.0, 255.0}  # whole pixels from one image or the other
    x, _ = _mix(AugmentSpec(mixup=1.0))
    blended = (x > 0) & (x < 255)
    assert blended.any() and (blended.all(axis=(1, 2, 3)) | ~blended.any(axis=(1, 2, 3))).all()  # whole image


def test_no_mixing_leaves_the_batch_and_a_seed_repeats_it() -> None:
    images, labels = _batch()
    x, y = _mix(AugmentSpec(mixup=0.0, cutmix=0.0))
    np.testing.assert_array_equal(x, images.astype(np.float32))
    np.testing.assert_array_equal(y, labels)
    a, b, c = _mix(AugmentSpec(mixup=0.5)), _mix(AugmentSpec(mixup=0.5)), _mix(AugmentSpec(mixup=0.5), (4, 7))
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("bad", [dict(mixup=1.5), dict(cutmix=-0.1), dict(mixup=0.6, cutmix=0.6),
                                 dict(mix_alpha=0.0)])
def test_bad_mix_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AugmentSpec(**bad)  # type: ignore[arg-type]


def test_the_training_pipeline_mixes_only_when_asked() -> None:
    from training.detector.fit import make_dataset

    images, labels = _batch(40)
    idx = np.arange(40)
    plain = AugmentSpec(flip=False, translate=0, jpeg_p=0.0, blur_p=0.0, resize_p=0.0)
    for spec, mixed in ((plain, False), (AugmentSpec(**{**plain.as_dict(), "mixup": 1.0}), True)):
        x, y = next(iter(make_dataset(images, labels, idx, 40, augment=spec, seed=1, shuffle=False)))
        y = y.numpy()[:, 0]
        np.testing.assert_allclose(x.numpy().mean(axis=(1, 2, 3)) / 255.0, y, atol=1e-5)
        assert (((y > 0.01) & (y < 0.99)).any()) == mixed
