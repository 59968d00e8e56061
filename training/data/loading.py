"""Datasets: read sources, deduplicate by content hash, decode once into a uint8 memory-mapped cache,
and split train/validation with a seed so that no duplicate straddles the split.

Three builders cover the recipes:

- :func:`load_real_fake` — CIFAKE (``train|test/REAL|FAKE`` folders or zips, the split zips in
  shared/data) and any ``real=PATH`` / ``fake=PATH`` sources of arbitrary-size images;
- :func:`load_labeled` — class folders / zips of class folders / CIFAR-10 pickles (label = folder);
- :func:`load_images` — any images, no labels (GAN training).

All return an :class:`ImageData` whose ``images`` is a read-only ``np.memmap`` (N, H, W, 3) uint8.
The cache lives in ``$PIXELPATROL_TRAIN_CACHE`` or ``~/.cache/pixelpatrol-train``, keyed by the
sources' paths, sizes and modification times and by how images were fitted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from training.data.preprocess import FeedSpec, fit_image
from training.data.sources import CIFAR10_CLASSES, DataError, Entry, cifake_class, iter_entries, keep_split

log = logging.getLogger(__name__)
CACHE_VERSION = 2
REAL_FAKE = ("real", "fake")


@dataclass
class ImageData:
    images: np.ndarray  # uint8 (N, H, W, 3), memory-mapped
    labels: np.ndarray  # int64 (N,); -1 when unlabeled
    groups: np.ndarray  # int64 (N,) stratification key within a label (e.g. CIFAR-10 class), -1 unknown
    origins: np.ndarray  # int64 (N,) index of the source file a sample came from (patch crops share it)
    label_names: list[str]
    info: dict[str, object] = field(default_factory=dict)
    # Per sample: 1 always validation, 0 always training, -1 (or no array) drawn by the seeded split.
    # Generated fakes use it so that one latent is on the same side in every run (gan_fakes.py).
    fixed_side: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def cache_root() -> Path:
    return Path(os.environ.get("PIXELPATROL_TRAIN_CACHE", "~/.cache/pixelpatrol-train")).expanduser()


def parse_spec(spec: str) -> tuple[str | None, str]:
    """``role=PATH`` -> (role, PATH); a bare path -> (None, path)."""
    role, sep, path = spec.partition("=")
    if sep and role.lower() in ("real", "fake", "images", "data") and not Path(spec).exists():
        return role.lower(), path
    return None, spec


# ---------------------------------------------------------------- builders


def load_real_fake(specs: Sequence[str], feed: FeedSpec, split: str = "train", need_classes: int = 2) -> ImageData:
    """Real (0) vs AI-generated (1). Bare paths need a REAL or FAKE folder in their entries' paths.
    ``need_classes=1`` accepts real images alone (the fakes come from generators: ``gan_fakes.py``)."""
    items: list[tuple[Entry, int, int]] = []
    for spec in specs:
        role, path = parse_spec(spec)
        entries = keep_split(iter_entries(path), split)
        for e in entries:
            label = REAL_FAKE.index(role) if role in REAL_FAKE else _real_fake_from_path(e)
            if label is None:
                raise DataError(
                    f"cannot tell real from fake for {path}: {e.name} is under no REAL or FAKE folder "
                    "(pass real=PATH / fake=PATH)"
                )
            items.append((e, label, cifake_class(e.name)))
        if not entries:
            raise DataError(f"no {split} images in {path}")
    return _build("real_fake", specs, items, list(REAL_FAKE), feed, split, need_classes=need_classes)


def load_labeled(specs: Sequence[str], feed: FeedSpec, split: str = "train") -> ImageData:
    """Class folders (label = parent folder name), zips of them or CIFAR-10 pickles/tarballs."""
    items_named: list[tuple[Entry, str]] = []
    for spec in specs:
        _, path = parse_spec(spec)
        entries = keep_split(iter_entries(path), split)
        if not entries:
            raise DataError(f"no {split} images in {path}")
        for e in entries:
            name = e.label or (e.parts[-2] if len(e.parts) >= 2 else None)
            if name is None:
                raise DataError(f"{path}: {e.name} is not inside a class folder")
            items_named.append((e, name))
    found = sorted({n for _, n in items_named})
    names = list(CIFAR10_CLASSES) if set(found) <= set(CIFAR10_CLASSES) else found
    items = [(e, names.index(n), -1) for e, n in items_named]
    return _build("labeled", specs, items, names, feed, split, need_classes=2)


def load_images(specs: Sequence[str], feed: FeedSpec) -> ImageData:
    """Any images (GAN data); centre-cropped to the feed's aspect ratio and resized."""
    items = [(e, -1, -1) for spec in specs for e in iter_entries(parse_spec(spec)[1])]
    return _build("images", specs, items, [], feed, "all", need_classes=0, center_crop=True)


def _real_fake_from_path(e: Entry) -> int | None:
    for part in reversed(e.parts[:-1]):
        low = part.lower()
        if low in ("real", "fake"):
            return REAL_FAKE.index(low)
    return None


# ---------------------------------------------------------------- cache


def _cache_key(kind: str, specs: Sequence[str], feed: FeedSpec, split: str, center_crop: bool) -> str:
    parts: list[object] = [CACHE_VERSION, kind, split, center_crop, feed.contract(), feed.height, feed.width]
    for spec in specs:
        role, path = parse_spec(spec)
        p = Path(path).expanduser().resolve()
        st = p.stat()
        parts.append([role, str(p), st.st_size, st.st_mtime_ns])
        if p.is_dir():  # a folder's own mtime misses edits deeper down; hash the listing
            listing = sorted((str(f.relative_to(p)), f.stat().st_size) for f in p.rglob("*") if f.is_file())
            parts.append(hashlib.sha256(json.dumps(listing).encode()).hexdigest())
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:24]


def _open_cache(d: Path) -> ImageData:
    meta = json.loads((d / "meta.json").read_text())
    n, h, w = meta["count"], meta["height"], meta["width"]
    images = np.memmap(d / "images.u8", dtype=np.uint8, mode="r", shape=(n, h, w, 3))
    arrays = np.load(d / "arrays.npz")
    return ImageData(
        images, arrays["labels"], arrays["groups"], arrays["origins"], meta["label_names"], meta["info"]
    )


def _build(
    kind: str,
    specs: Sequence[str],
    items: list[tuple[Entry, int, int]],
    label_names: list[str],
    feed: FeedSpec,
    split: str,
    need_classes: int,
    center_crop: bool = False,
) -> ImageData:
    key = _cache_key(kind, specs, feed, split, center_crop)
    final = cache_root() / key
    if (final / "meta.json").exists():
        log.info("using cached dataset %s", final)
        return _open_cache(final)
    if need_classes:
        present = sorted({label_names[lab] for _, lab, _ in items})
        if len(present) < need_classes:
            raise DataError(
                f"only one class found ({', '.join(present) or 'none'}); need at least {need_classes}: "
                f"{', '.join(label_names[:10])}"
            )
    tmp = cache_root() / f"{key}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    labels: list[int] = []
    groups: list[int] = []
    origins: list[int] = []
    seen: dict[bytes, int] = {}
    dup_conflicts: set[int] = set()
    bad: list[str] = []
    duplicates = 0
    log.info("decoding %d images into %s (once; later runs reuse it)", len(items), final)
    with open(tmp / "images.u8", "wb") as out:
        for origin, (entry, label, group) in enumerate(items):
            try:
                arrays, digest = _decode(entry, feed, center_crop)
            except Exception as exc:
                bad.append(f"{entry.source}:{entry.name}: {exc}")
                continue
            if digest in seen:  # content duplicate: keep the first; a label clash drops both
                duplicates += 1
                if labels[seen[digest]] != label:
                    dup_conflicts.add(seen[digest])
                continue
            seen[digest] = len(labels)
            for arr in arrays:
                out.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())
                labels.append(label)
                groups.append(group)
                origins.append(origin)
    if bad:
        log.warning("skipped %d unreadable image(s); first: %s", len(bad), bad[0])
    if not labels:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(
            f"no readable images in {', '.join(specs)}" + (f" (first error: {bad[0]})" if bad else "")
        )
    keep = np.ones(len(labels), bool)
    lab_arr = np.asarray(labels, np.int64)
    org_arr = np.asarray(origins, np.int64)
    if dup_conflicts:
        bad_origins = {origins[i] for i in dup_conflicts}
        keep &= ~np.isin(org_arr, list(bad_origins))
        log.warning("dropped %d image(s) whose duplicate carries another label", len(bad_origins))
    info = {
        "sources": [str(s) for s in specs],
        "split": split,
        "files": len(items),
        "unreadable": len(bad),
        "unreadable_examples": bad[:5],
        "duplicates_dropped": duplicates,
        "label_conflicts_dropped": len(dup_conflicts),
        "feed": feed.contract(),
    }
    count = int(keep.sum())
    if not keep.all():  # rewrite without the dropped rows (rare)
        mm = np.memmap(
            tmp / "images.u8", dtype=np.uint8, mode="r", shape=(len(labels), feed.height, feed.width, 3)
        )
        kept = np.asarray(mm[keep])
        del mm
        kept.tofile(tmp / "images.u8")
    if need_classes and len(set(lab_arr[keep].tolist())) < need_classes:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError("after skipping unreadable images only one class is left")
    np.savez(
        tmp / "arrays.npz",
        labels=lab_arr[keep],
        groups=np.asarray(groups, np.int64)[keep],
        origins=org_arr[keep],
    )
    meta = {
        "count": count,
        "height": feed.height,
        "width": feed.width,
        "label_names": label_names,
        "info": info,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    log.info("cached %d samples (%d duplicates dropped, %d unreadable)", count, duplicates, len(bad))
    return _open_cache(final)


def _decode(entry: Entry, feed: FeedSpec, center_crop: bool) -> tuple[list[np.ndarray], bytes]:
    if entry.pixels is not None:
        img = Image.fromarray(entry.pixels)
        digest = hashlib.sha256(entry.pixels.tobytes()).digest()
    else:
        assert entry.read is not None
        raw = entry.read()
        digest = hashlib.sha256(raw).digest()
        img = Image.open(io.BytesIO(raw))
        img.load()
    if center_crop:
        w, h = img.size
        target = feed.width / feed.height
        cw, ch = (min(w, round(h * target)), min(h, round(w / target)))
        img = img.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
        feed = FeedSpec(feed.height, feed.width, "resize", feed.resample)
    return fit_image(img, feed), digest


# ---------------------------------------------------------------- split


def split_train_val(data: ImageData, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified (label x group) split over source files; returns sample indices.

    Deduplication happened before, so every distinct content sits in exactly one source file and
    therefore on exactly one side; patch crops of one file stay together.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    fixed = data.fixed_side if data.fixed_side is not None else np.full(len(data), -1, np.int8)
    free = fixed < 0
    uniq, first = np.unique(data.origins[free], return_index=True)
    first = np.flatnonzero(free)[first]
    strata = data.labels[first] * 1000 + data.groups[first]
    val_origins: list[np.ndarray] = []
    for s in np.unique(strata):
        members = uniq[strata == s]
        n_val = round(len(members) * val_fraction)
        if len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)
        val_origins.append(rng.permutation(members)[:n_val])
    is_val = free & np.isin(data.origins, np.concatenate(val_origins) if val_origins else [])
    is_val |= fixed == 1
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def subsample(
    indices: np.ndarray, limit: int | None, seed: int, labels: np.ndarray | None = None
) -> np.ndarray:
    """At most ``limit`` indices, drawn with the seed (for quick runs and tests)."""
    if limit is None or len(indices) <= limit:
        return indices
    return np.sort(np.random.default_rng(seed + 1).choice(indices, size=limit, replace=False))


def labelled_split(data: ImageData, sources: Sequence[str], val_fraction: float, seed: int,
                   limit: int | None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Train and validation indices (training subsampled to ``limit``) and what a card says about them."""
    train, val = split_train_val(data, val_fraction, seed)
    train = subsample(train, limit, seed)
    info = {
        "sources": [str(s) for s in sources],
        "val_fraction": val_fraction,
        "seed": seed,
        "train_images": len(train),
        "val_images": len(val),
        "duplicates_dropped": data.info.get("duplicates_dropped"),
        "unreadable": data.info.get("unreadable"),
    }
    return train, val, info


Loader = Callable[..., ImageData]
