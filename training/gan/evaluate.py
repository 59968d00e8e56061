"""Honest measures of generated images, on onnxruntime and numpy only (no TensorFlow needed).

Inception-based FID cannot be computed offline (its weights cannot be fetched here), so the shipped
CIFAR-10 classifier stands in for Inception:

- **Fréchet distance** between generated and real images in the classifier's ``features`` space;
- **class accuracy**: does the classifier see the requested class in a class-conditional sample?
- **two-sample test** (C2ST, Lopez-Paz & Oquab 2017): a fresh logistic-regression classifier is
  trained on half of the features to tell generated from real and scored on the other half;
  50 % means it cannot tell them apart.

Every measure is reported next to the same measure between two halves of real data (the floor a
perfect generator would reach with this many samples). The real images come from the validation
split that the generator did not train on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from spec.contract import CONTRACT_KEY
from training.data.preprocess import RESAMPLE

NOT_COMPARABLE = (
    "These numbers use PixelPatrol's own small CIFAR-10 classifier as the feature space, not Inception-v3: "
    "they are NOT comparable to published FIDs (DCGAN ~ 43, SNGAN ~ 14-22, StyleGAN2-ADA ~ 2.4 on CIFAR-10)."
)


def _session(path: str | Path) -> tuple[Any, dict[str, Any]]:
    import onnxruntime as ort

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such model: {p}")
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    raw = sess.get_modelmeta().custom_metadata_map.get(CONTRACT_KEY)
    if raw is None:
        raise ValueError(f"{p}: no {CONTRACT_KEY!r} contract in the ONNX metadata")
    return sess, json.loads(raw)


# ---------------------------------------------------------------- the two models


class OnnxGenerator:
    """A generator ONNX with its contract: latents (+ labels) -> uint8 NHWC images."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.session, self.contract = _session(path)
        if self.contract.get("kind") != "generator":
            raise ValueError(f"{path}: kind is {self.contract.get('kind')!r}, not 'generator'")
        inputs = self.contract["inputs"]
        self.latent_name = inputs["latent"]["name"]
        self.latent_dim = int(inputs["latent"]["dim"])
        self.label_name = inputs["label"]["name"] if "label" in inputs else None
        self.labels = list(self.contract.get("labels") or [])
        out = self.contract["outputs"]["image"]
        self.image_name = out["name"]
        self.value_range = tuple(out.get("value_range", (-1, 1)))

    @property
    def conditional(self) -> bool:
        return self.label_name is not None

    def generate(self, z: np.ndarray, labels: np.ndarray | None = None, batch: int = 250) -> np.ndarray:
        if self.conditional and labels is None:
            raise ValueError(f"{self.path.name} is class-conditional: give a label per latent")
        out = []
        for i in range(0, len(z), batch):
            feed = {self.latent_name: np.asarray(z[i : i + batch], np.float32)}
            if self.label_name is not None:
                assert labels is not None
                feed[self.label_name] = np.asarray(labels[i : i + batch], np.int64)
            (img,) = self.session.run([self.image_name], feed)
            lo, hi = self.value_range
            out.append(np.clip(np.rint((img - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8))
        return np.concatenate(out)

    def sample(
        self,
        n: int,
        seed: int,
        labels: np.ndarray | None = None,
        psi: float = 1.0,
        truncation: float | None = None,
    ) -> np.ndarray:
        """``n`` images from seeded standard-normal latents, scaled by ``psi`` and then clipped to
        ``[-truncation, truncation]`` (the app Gallery's "Truncation"). Both are forms of the truncation
        trick: latents pulled towards the mean trade variety for typical samples."""
        if not psi > 0:
            raise ValueError(f"psi must be positive, got {psi}")
        if truncation is not None and not truncation > 0:
            raise ValueError(f"truncation must be positive, got {truncation}")
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        z = z * np.float32(psi)
        return self.generate(z if truncation is None else np.clip(z, -truncation, truncation), labels)


class OnnxClassifier:
    """The shipped classifier: uint8 NHWC of any size -> (probs, features)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.session, self.contract = _session(path)
        if self.contract.get("kind") != "classifier":
            raise ValueError(f"{path}: kind is {self.contract.get('kind')!r}, not 'classifier'")
        inp = self.contract["input"]
        self.input_name = inp["name"]
        self.size = (int(inp["height"]), int(inp["width"]))
        self.resample = RESAMPLE[self.contract.get("feed", {}).get("resample", "bilinear")]
        self.probs_name = self.contract["outputs"]["probs"]["name"]
        self.features_name = self.contract["outputs"]["features"]["name"]
        self.labels = list(self.contract.get("labels") or [])

    def fit(self, images: np.ndarray) -> np.ndarray:
        h, w = self.size
        if images.shape[1:3] == (h, w):
            return images
        return np.stack([np.asarray(Image.fromarray(im).resize((w, h), self.resample)) for im in images])

    def predict(self, images: np.ndarray, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
        probs, feats = [], []
        for i in range(0, len(images), batch):
            x = self.fit(np.asarray(images[i : i + batch], np.uint8)).astype(np.float32)
            p, f = self.session.run([self.probs_name, self.features_name], {self.input_name: x})
            probs.append(p)
            feats.append(f)
        return np.concatenate(probs), np.concatenate(feats).astype(np.float64)


# ---------------------------------------------------------------- measures


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = samples).

    ``tr(sqrt(S1 S2))`` is computed as ``sum(sqrt(eig(S1^1/2 S2 S1^1/2)))``, which is symmetric and
    needs only ``numpy.linalg.eigh`` (no scipy).
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least two samples on each side")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    s1_half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = s1_half @ s2 @ s1_half
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def two_sample_accuracy(a: np.ndarray, b: np.ndarray, seed: int = 0, steps: int = 300) -> float:
    """Held-out accuracy of an L2-regularised logistic regression telling ``a`` from ``b``.

    Trained on a random half of each set, scored on the other half; 0.5 = indistinguishable.
    """
    n = min(len(a), len(b))
    rng = np.random.default_rng(seed)
    a = a[rng.permutation(len(a))[:n]]
    b = b[rng.permutation(len(b))[:n]]
    x = np.concatenate([a, b])
    y = np.concatenate([np.zeros(n), np.ones(n)])
    order = rng.permutation(2 * n)
    x, y = x[order], y[order]
    half = n
    mu, sd = x[:half].mean(0), x[:half].std(0) + 1e-6
    x = (x - mu) / sd
    xtr, ytr, xte, yte = x[:half], y[:half], x[half:], y[half:]
    w = np.zeros(x.shape[1])
    bias = 0.0
    lr, l2 = 0.5, 1e-3
    for _ in range(steps):  # full-batch gradient descent: convex, a few hundred steps suffice
        p = 1.0 / (1.0 + np.exp(-(xtr @ w + bias)))
        g = p - ytr
        w -= lr * (xtr.T @ g / len(ytr) + l2 * w)
        bias -= lr * float(g.mean())
    return float((((xte @ w + bias) > 0) == (yte > 0.5)).mean())


@dataclass
class RealSet:
    """Two disjoint halves of real validation images (labels where known)."""

    a: np.ndarray
    b: np.ndarray
    a_labels: np.ndarray | None
    b_labels: np.ndarray | None


def split_halves(images: np.ndarray, labels: np.ndarray | None, n: int, seed: int) -> RealSet:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))[: 2 * n]
    ia, ib = np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2 :])
    la = labels[ia] if labels is not None else None
    lb = labels[ib] if labels is not None else None
    return RealSet(np.asarray(images[ia]), np.asarray(images[ib]), la, lb)


def measure(
    generated: np.ndarray,
    gen_labels: np.ndarray | None,
    real: RealSet,
    classifier: OnnxClassifier,
    seed: int = 0,
) -> dict[str, float]:
    """All measures for one set of generated images, each with its real-vs-real reference."""
    _, fa = classifier.predict(real.a)
    pb, fb = classifier.predict(real.b)
    pg, fg = classifier.predict(generated)
    out = {
        "frechet": frechet_distance(fg, fa),
        "frechet_real": frechet_distance(fb, fa),
        "two_sample_acc": two_sample_accuracy(fg, fa, seed),
        "two_sample_acc_real": two_sample_accuracy(fb, fa, seed),
        "n_generated": float(len(generated)),
        "n_real": float(len(real.a)),
    }
    if gen_labels is not None and real.b_labels is not None:
        out["class_acc"] = float((pg.argmax(1) == gen_labels).mean())
        out["class_acc_real"] = float((pb.argmax(1) == real.b_labels).mean())
    return out


def balanced_labels(n: int, num_classes: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) % num_classes


def evaluate_generator(
    model: str | Path,
    classifier: str | Path,
    data: Sequence[str] | None = None,
    n: int = 2500,
    seed: int = 0,
    psi: float = 1.0,
    truncation: float | None = None,
) -> dict[str, Any]:
    """Measure an exported generator against real validation images; see the module docstring."""
    from training.data.loading import load_images, load_labeled, split_train_val
    from training.data.preprocess import FeedSpec

    gen = OnnxGenerator(model)
    clf = OnnxClassifier(classifier)
    card = gen.contract.get("card", {})
    data_info = card.get("data", {}) if isinstance(card.get("data"), dict) else {}
    specs = list(data or data_info.get("sources") or [])
    if not specs:
        raise ValueError(f"{gen.path.name} records no training data; pass --data PATH")
    img = gen.contract["outputs"]["image"]
    feed = FeedSpec(int(img["height"]), int(img["width"]))
    ds = load_labeled(specs, feed) if gen.conditional else load_images(specs, feed)
    _, val = split_train_val(ds, float(data_info.get("val_fraction", 0.1)), int(data_info.get("seed", 0)))
    labels = ds.labels[val] if gen.conditional else None
    real = split_halves(ds.images[val], labels, min(n, len(val) // 2), seed)
    gen_labels = balanced_labels(len(real.a), len(gen.labels)) if gen.conditional else None
    generated = gen.sample(len(real.a), seed + 1, gen_labels, psi, truncation)
    if gen.conditional and gen.labels != clf.labels:
        gen_labels = None  # the classifier's classes mean something else: skip class accuracy
    result: dict[str, Any] = measure(generated, gen_labels, real, clf, seed)
    result.update(
        model=str(gen.path),
        classifier=str(clf.path),
        data=specs,
        psi=psi,
        truncation=truncation,
        note=NOT_COMPARABLE,
    )
    return result


# (label, key for the generator, key for real vs real, format): the report's and the GAN cards' rows.
MEASURE_ROWS = (
    ("Fréchet distance (classifier features), lower is better", "frechet", "frechet_real", "{:.2f}"),
    (
        "two-sample test accuracy (50 % = indistinguishable)",
        "two_sample_acc",
        "two_sample_acc_real",
        "{:.1%}",
    ),
    ("classifier accuracy on the requested class", "class_acc", "class_acc_real", "{:.1%}"),
)


def format_report(result: dict[str, Any]) -> str:
    lines = [f"model: {result.get('model', '?')}", f"classifier: {result.get('classifier', '?')}"]
    lines.append(
        f"samples: {int(result['n_generated'])} generated vs {int(result['n_real'])} real validation images"
    )
    if result.get("psi", 1.0) != 1.0:
        lines.append(f"latents scaled by psi = {result['psi']:g} (truncation trick)")
    if result.get("truncation") is not None:
        lines.append(
            f"latents clipped to +-{result['truncation']:g} (truncation trick, as in the app's Gallery)"
        )
    lines.append(f"{'measure':58s} {'generated':>10s} {'real vs real':>13s}")
    for title, key, ref, fmt in MEASURE_ROWS:
        if key in result:
            lines.append(f"{title:58s} {fmt.format(result[key]):>10s} {fmt.format(result[ref]):>13s}")
    lines.append(NOT_COMPARABLE)
    return "\n".join(lines)


def cli_main(argv: Sequence[str]) -> int:
    """``pixelpatrol-train evaluate-generator MODEL.onnx [--classifier C.onnx] [--data PATH] ...``"""
    import argparse
    import sys

    default_clf = Path(__file__).resolve().parents[1] / "onnx_models" / "cifar10-classifier.onnx"
    p = argparse.ArgumentParser(
        prog="pixelpatrol-train evaluate-generator",
        description="Measure an exported generator against real validation images. " + NOT_COMPARABLE,
    )
    p.add_argument("model", help="generator ONNX (kind 'generator')")
    p.add_argument("--classifier", default=str(default_clf), help="classifier ONNX whose features are used")
    p.add_argument(
        "--data", action="append", default=[], help="real images (default: the generator's recorded data)"
    )
    p.add_argument("--samples", type=int, default=2500, help="generated images (and real images per half)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--psi",
        type=float,
        default=1.0,
        help="scale the latents by this factor (truncation trick; 1 = the training distribution)",
    )
    p.add_argument(
        "--truncation",
        type=float,
        help="clip the latents to [-T, T] (the app Gallery's Truncation; default: no clipping)",
    )
    p.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    try:
        args = p.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    if args.samples < 2:
        print("pixelpatrol-train evaluate-generator: --samples must be at least 2", file=sys.stderr)
        return 2
    if not args.psi > 0:
        print("pixelpatrol-train evaluate-generator: --psi must be positive", file=sys.stderr)
        return 2
    if args.truncation is not None and not args.truncation > 0:
        print("pixelpatrol-train evaluate-generator: --truncation must be positive", file=sys.stderr)
        return 2
    try:
        result = evaluate_generator(
            args.model, args.classifier, args.data or None, args.samples, args.seed, args.psi, args.truncation
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"pixelpatrol-train evaluate-generator: {exc}", file=sys.stderr)
        return 1
    print(format_report(result))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1))
    return 0
