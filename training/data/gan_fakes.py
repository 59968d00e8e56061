"""Images from the project's own generators as a second kind of "fake" for the 32x32 detectors.

A detector trained only on CIFAKE (Stable Diffusion 1.4 thumbnails) called 99 % of the shipped
conditional GAN's samples "real". :func:`with_gan_fakes` appends generator samples to a real/fake
:class:`~training.data.loading.ImageData` as label 1 with their own strata (group ``GAN_GROUP + class``), so the
seeded split keeps exactly the CIFAKE validation files it had before (strata are visited in sorted
order and the GAN strata come last) and the card can report CIFAKE and GAN figures apart.

Which side of the split a sample lands on is fixed by its position in the stream, not drawn: the first
ten of every hundred samples are validation (10 %, every class), so a run with other data or another count
keeps the same GAN samples out of training (a GAN expert and the ensemble that uses it agree).

Latents are drawn in order from ``default_rng([STREAM, generator index])`` (sample k is the same
whatever the count), a different stream from the app's
per-seed latents (``default_rng(seed)``), so no seed a person types into the Gallery reproduces a
training image. Pixels are made exactly as the app makes them: ``rint((x - low) / (high - low) * 255)``.
Training never imports the app, so the generator contract is read here from the ONNX metadata.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spec.contract import CONTRACT_KEY
from training.data.loading import ImageData

log = logging.getLogger(__name__)
GAN_GROUP = 100  # groups >= this are generator samples: GAN_GROUP + class index (or GAN_GROUP alone)
PINNED_REAL_GROUP = 1000  # photos added beside the generators' samples (with_pinned_reals): not CIFAKE either
STREAM = 17_017
TRUNCATIONS = (None, None, 2.0, 1.5, 1.0)  # cycled: most samples untruncated, some sharper/typical


def _contract(session: Any) -> dict[str, Any]:
    raw = session.get_modelmeta().custom_metadata_map.get(CONTRACT_KEY)
    if not raw:
        raise ValueError("not a PixelPatrol model (no contract in its metadata)")
    contract: dict[str, Any] = json.loads(raw)
    if contract.get("kind") != "generator":
        raise ValueError(f"a {contract.get('kind')} model cannot make images (need a generator)")
    return contract


def generator_samples(path: str | Path, count: int, index: int = 0, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``count`` uint8 [N, H, W, 3] samples of one generator and their class indices (-1: unconditional)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    contract = _contract(session)
    inputs = contract["inputs"]
    dim = int(inputs["latent"]["dim"])
    label_in = inputs.get("label")
    n_classes = len(contract.get("labels") or []) if label_in else 0
    out = contract["outputs"]["image"]
    low, high = (float(v) for v in out.get("value_range", [-1, 1]))
    rng = np.random.default_rng([STREAM, index])
    images, classes = [], []
    for start in range(0, count, batch):
        n = min(batch, count - start)
        z = rng.standard_normal((n, dim)).astype(np.float32)
        for i in range(n):
            t = TRUNCATIONS[(start + i) % len(TRUNCATIONS)]
            if t is not None:
                z[i] = np.clip(z[i], -t, t)
        feed = {inputs["latent"]["name"]: z}
        cls = (np.arange(start, start + n) % n_classes) if n_classes else np.full(n, -1)
        if label_in:
            feed[label_in["name"]] = cls.astype(np.dtype(label_in.get("dtype", "int64")))
        raw = np.asarray(session.run([out["name"]], feed)[0], np.float32)
        images.append(np.clip(np.rint((raw - low) / (high - low) * 255.0), 0, 255).astype(np.uint8))
        classes.append(cls)
    return np.concatenate(images), np.concatenate(classes).astype(np.int64)


JPEG_QUALITY = (60, 95)


def as_jpeg(images: np.ndarray, fraction: float, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``images`` with a ``fraction`` of them JPEG-encoded and decoded again, and each one's quality (0: left as it
    was). Which samples and at what quality follow from the position in the stream and the generator index (sample
    k is treated the same whatever the count), as the split does."""
    from training.ship.evaluate import reencode

    u = np.random.default_rng([STREAM, index, 1]).random((len(images), 2))  # row k: sample k's draw, any count
    lo, hi = JPEG_QUALITY
    qualities = np.where(u[:, 0] < fraction, lo + np.floor(u[:, 1] * (hi - lo + 1)).astype(np.int64), 0)
    out = images.copy()
    for q in np.unique(qualities[qualities > 0]):
        same = qualities == q
        out[same] = reencode(images[same], "jpeg", int(q))
    return out, qualities


def with_gan_fakes(data: ImageData, paths: Sequence[str], count: int, jpeg_fraction: float = 0.0) -> ImageData:
    """``data`` plus ``count`` samples split evenly over the generators in ``paths``, as label 1; ``jpeg_fraction``
    of them stored as JPEG (:func:`as_jpeg`)."""
    if not paths:
        return data
    if "fake" not in data.label_names:
        raise ValueError("GAN fakes need a real/fake dataset")
    per = [count // len(paths) + (1 if i < count % len(paths) else 0) for i in range(len(paths))]
    parts, groups = [], []
    for i, (path, n) in enumerate(zip(paths, per, strict=True)):
        imgs, cls = generator_samples(path, n, index=i)
        if jpeg_fraction > 0:
            imgs, _ = as_jpeg(imgs, jpeg_fraction, index=i)
        h, w = data.images.shape[1:3]
        if imgs.shape[1:3] != (h, w):  # a larger generator (the faces GAN): shrunk as the app feeds it, after the JPEG
            imgs = resized(imgs, h, w)
        parts.append(imgs)
        groups.append(GAN_GROUP + np.maximum(cls, 0))
        log.info("%d samples of %s as fakes", n, Path(path).name)
    import hashlib

    digests = [hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16] for p in paths]
    info = {**data.info, "gan_fakes": {"generators": [str(p) for p in paths], "sha256": digests, "samples": per,
                                       "latent_stream": STREAM, "jpeg_fraction": jpeg_fraction,
                                       "jpeg_quality": list(JPEG_QUALITY) if jpeg_fraction else None}}
    sides = np.concatenate([_side_by_position(n) for n in per])
    return _appended(data, np.concatenate(parts), "fake", np.concatenate(groups), sides, info)


def _side_by_position(n: int) -> np.ndarray:
    """The split side of ``n`` appended images by their position: the first ten of every hundred validation (1),
    the rest training (0), whatever else the data hold or how many are appended."""
    return np.where((np.arange(n) // 10) % 10 == 0, 1, 0).astype(np.int8)


def _appended(data: ImageData, images: np.ndarray, label: str, groups: np.ndarray, sides: np.ndarray,
              info: dict[str, Any]) -> ImageData:
    """``data`` plus ``images`` as ``label``, each in its group and on its fixed side, as new source files."""
    n = len(images)
    own = data.fixed_side if data.fixed_side is not None else np.full(len(data), -1, np.int8)
    first_origin = int(data.origins.max()) + 1 if len(data) else 0
    return ImageData(
        fixed_side=np.concatenate([own, sides]),
        images=np.concatenate([np.asarray(data.images), np.asarray(images)]),
        labels=np.concatenate([data.labels, np.full(n, data.label_names.index(label), np.int64)]),
        groups=np.concatenate([data.groups, groups]),
        origins=np.concatenate([data.origins, first_origin + np.arange(n, dtype=np.int64)]),
        label_names=data.label_names,
        info=info,
    )


def resized(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Each image resized to ``height`` x ``width`` the way the app's resize feed does it (bilinear, as the CIFAKE
    detectors' contracts say), so a 64x64 sample is seen in training as a person's scan would show it."""
    from PIL import Image

    from training.data.preprocess import FeedSpec, fit_image

    feed = FeedSpec(height, width)  # resize mode, bilinear
    return np.stack([fit_image(Image.fromarray(im), feed)[0] for im in images])


def with_pinned_reals(data: ImageData, extra: ImageData) -> ImageData:
    """``data`` plus ``extra``'s images as real photos (label 0, group ``PINNED_REAL_GROUP``), each on the side of
    the split fixed by its position (the first ten of every hundred: validation), like the GAN samples: so that
    adding them leaves every other image on its side. For photos of what a generator draws (UTKFace faces beside
    the faces GAN's samples): without them "a face" alone would mean "fake"."""
    if "real" not in data.label_names:
        raise ValueError("pinned reals need a real/fake dataset")
    n = len(extra)
    info = {**data.info, "pinned_reals": {"sources": extra.info.get("sources"), "images": n}}
    return _appended(data, np.asarray(extra.images), "real", np.full(n, PINNED_REAL_GROUP, np.int64),
                     _side_by_position(n), info)


def kind_masks(groups: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Sample masks per kind, for per-kind figures: CIFAKE (reals and SD fakes) and GAN fakes (with the reals, pinned
    ones included)."""
    gan = groups >= GAN_GROUP
    return {"cifake": ~gan, "gan_vs_real": gan | (labels == 0)}
