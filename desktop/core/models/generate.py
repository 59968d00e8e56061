"""Making images with a generator model (ONNX, contract kind ``generator``) and judging them.

Qt-free. Latents are standard normal, drawn per image from its own seed so one image can be made
again from (model, seed, class, truncation) alone; ``truncation`` clips them to [-t, t]
(docs/model-contract.md). Output ``image`` in [-1, 1] becomes uint8 RGB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from desktop.core.models.contract import ContractError, ModelContract, check_against_graph, parse_contract
from desktop.core.models.detector import ModelError, create_session, first_line

MANIFEST = "pixelpatrol-generated.jsonl"


@dataclass(frozen=True)
class GeneratedImage:
    pixels: np.ndarray  # uint8 [H, W, 3]
    seed: int
    label: int | None
    truncation: float | None
    model: str
    step: float | None = None  # position on an interpolation strip (0..1)


@dataclass
class Generator:
    path: Path
    contract: ModelContract
    session: Any = field(repr=False)
    device: str = "cpu"

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Generator:
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"{p}: model file not found")
        try:
            session, used, _reason = create_session(p, device)
        except Exception as exc:
            raise ModelError(f"{p}: not a loadable ONNX model ({first_line(exc)})") from None
        try:
            contract = parse_contract(session.get_modelmeta().custom_metadata_map)
            shapes_in = {a.name: list(a.shape) for a in session.get_inputs()}
            shapes_out = {a.name: list(a.shape) for a in session.get_outputs()}
            check_against_graph(contract, shapes_in, shapes_out)
        except ContractError as exc:
            raise ModelError(f"{p}: {exc}") from None
        if contract.kind != "generator" or contract.generator_inputs is None:
            raise ModelError(f"{p}: a {contract.kind} model cannot make images (need a generator)")
        return cls(p, contract, session, used)

    @property
    def conditional(self) -> bool:
        gi = self.contract.generator_inputs
        return gi is not None and gi.label_name is not None

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.contract.labels

    @property
    def latent_dim(self) -> int:
        gi = self.contract.generator_inputs
        assert gi is not None
        return gi.latent_dim

    def latent(self, seed: int, truncation: float | None = None) -> np.ndarray:
        z = np.random.default_rng(seed).standard_normal(self.latent_dim).astype(np.float32)
        if truncation is not None and truncation > 0:
            z = np.clip(z, -truncation, truncation)
        return z

    def run(self, latents: np.ndarray, labels: Sequence[int] | None = None) -> np.ndarray:
        """uint8 [N, H, W, 3] images for float32 latents [N, D] (and class indices for conditional models)."""
        gi = self.contract.generator_inputs
        assert gi is not None
        feed: dict[str, np.ndarray] = {gi.latent_name: np.asarray(latents, np.float32)}
        if gi.label_name is not None:
            if labels is None:
                labels = [0] * len(latents)
            n = max(1, len(self.class_names))
            if any(not 0 <= int(c) < n for c in labels):
                raise ValueError(f"class index out of range 0..{n - 1}")
            feed[gi.label_name] = np.asarray(labels, np.dtype(gi.label_dtype))
        out = self.contract.outputs["image"]
        raw = np.asarray(self.session.run([out.name], feed)[0], np.float32)
        low, high = _value_range(out.extra)
        scaled = (raw - low) / (high - low) * 255.0
        pixels: np.ndarray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        return pixels

    def generate(self, count: int, seed: int, label: int | None = None, truncation: float | None = None,
                 batch: int = 64) -> list[GeneratedImage]:
        """``count`` images with seeds ``seed, seed + 1, ...``; a label of None cycles through the classes."""
        if count < 1:
            raise ValueError("count must be at least 1")
        n_classes = len(self.class_names) if self.conditional else 0
        out: list[GeneratedImage] = []
        for start in range(0, count, batch):
            seeds = list(range(seed + start, seed + min(count, start + batch)))
            z = np.stack([self.latent(s, truncation) for s in seeds])
            labels = None
            if self.conditional:
                labels = [label if label is not None else s % max(1, n_classes) for s in seeds]
            pixels = self.run(z, labels)
            for i, s in enumerate(seeds):
                out.append(GeneratedImage(pixels[i], s, None if labels is None else labels[i], truncation,
                                          self.contract.name))
        return out

    def interpolate(self, seed_a: int, seed_b: int, steps: int, label: int | None = None,
                    truncation: float | None = None) -> list[GeneratedImage]:
        """A strip from seed_a's image to seed_b's (spherical interpolation of the latents)."""
        if steps < 2:
            raise ValueError("an interpolation needs at least 2 steps")
        za, zb = self.latent(seed_a, truncation), self.latent(seed_b, truncation)
        ts = np.linspace(0.0, 1.0, steps)
        z = np.stack([_slerp(za, zb, float(t)) for t in ts]).astype(np.float32)
        lab = (label if label is not None else 0) if self.conditional else None
        pixels = self.run(z, None if lab is None else [lab] * steps)
        return [GeneratedImage(pixels[i], seed_a, lab, truncation, self.contract.name, float(t))
                for i, t in enumerate(ts)]


def _value_range(extra: Any) -> tuple[float, float]:
    value = extra.get("value_range", [-1, 1]) if hasattr(extra, "get") else [-1, 1]
    try:
        low, high = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        return -1.0, 1.0
    return (low, high) if high > low else (-1.0, 1.0)


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return np.asarray((1 - t) * a + t * b)
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    if omega < 1e-6:
        return np.asarray((1 - t) * a + t * b)
    return np.asarray((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega))


def image_name(item: GeneratedImage, class_names: Sequence[str]) -> str:
    cls = f"_{class_names[item.label]}" if item.label is not None and item.label < len(class_names) else ""
    step = f"_t{item.step:.2f}" if item.step is not None else ""
    return f"{item.model}_seed{item.seed}{cls}{step}.png"


def save_images(items: Sequence[GeneratedImage], folder: str | Path, class_names: Sequence[str]) -> list[Path]:
    """PNG files (never overwriting) with model, seed, class and truncation in text chunks and a manifest."""
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    manifest = []
    for item in items:
        target = _free_path(out_dir / image_name(item, class_names))
        info = PngImagePlugin.PngInfo()
        record: dict[str, Any] = {"file": target.name, "model": item.model, "seed": item.seed,
                                  "class_index": item.label, "truncation": item.truncation,
                                  "interpolation_step": item.step, "generated_by": "PixelPatrol"}
        if item.label is not None and item.label < len(class_names):
            record["class"] = class_names[item.label]
        for key, value in record.items():
            if value is not None and key != "file":
                info.add_text(f"pixelpatrol:{key}", str(value))
        Image.fromarray(item.pixels).save(target, pnginfo=info)
        saved.append(target)
        manifest.append(record)
    with (out_dir / MANIFEST).open("a", encoding="utf-8") as fh:  # one record per saved file, appended
        fh.writelines(json.dumps(r) + "\n" for r in manifest)
    return saved


def _free_path(path: Path) -> Path:
    if not path.exists():
        return path
    for i in range(2, 100_000):
        candidate = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"{path}: no free file name")


def provenance_text(contract: ModelContract, path: str | Path) -> str:
    """Which generator and which of its checkpoints makes the images, from its contract's card: the file, the
    weights shipped (EMA or raw) after how many epochs and steps, the commit and date, and what was measured."""
    card = contract.card if isinstance(contract.card, dict) else {}
    parts = [Path(path).name]
    weights = {"ema": "EMA weights", "raw": "raw weights"}.get(str(card.get("shipped_weights")), "weights")
    if isinstance(card.get("epochs"), int):
        steps = f", {card['steps']:,} steps" if isinstance(card.get("steps"), int) else ""
        parts.append(f"{weights} after {card['epochs']} epochs{steps}")
    if card.get("commit"):
        parts.append(f"commit {str(card['commit'])[:7]}" + (f", {card['date']}" if card.get("date") else ""))
    measures = card.get("measures") if isinstance(card.get("measures"), dict) else {}
    shipped = measures.get(str(card.get("shipped_weights", "ema"))) if measures else None
    if isinstance(shipped, dict):
        figures = []
        if isinstance(shipped.get("frechet"), (int, float)):
            figures.append(f"Fréchet {shipped['frechet']:.1f}")
        if isinstance(shipped.get("class_acc"), (int, float)):
            figures.append(f"class accuracy {100 * shipped['class_acc']:.0f} %")
        if figures:
            parts.append("measured " + ", ".join(figures))
    return " · ".join(parts)
