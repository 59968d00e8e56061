"""A manifest of labelled images (``shared/tools/realworld_data.py``) -> one compact training file.

Output folder:
- ``views.npy`` — uint8 [N, S, S, 3] (memory-mapped when training), S = crop size;
- ``views_meta.npz`` — per view: label, image index, split, kind (0 native crop, 1 whole-image view), what the
  processing did (scale, jpeg, quality);
- ``images.csv`` — per image: file, label, source, generator, split, format, width, height, bytes;
- ``pack.json`` — the settings, counts per split/source/generator.

Splits (no image in two): ``heldout`` = whole sources and generators never trained on (leave-sources-out:
see HELDOUT_*), ``val`` = a seeded ~10 % of the rest by content hash, ``train`` = the remainder. BSDS500 and
its re-encodings in ``denoising_datasets`` stay in ``train`` together (near-duplicates across the two).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import multiprocessing as mp
import time
from collections import Counter
from pathlib import Path

import numpy as np

from training.realworld.views import Augment, open_rgb, process, training_views

log = logging.getLogger(__name__)

# Never trained on: these measure unseen generators and unseen cameras.
HELDOUT_GENERATORS = ("midjourney",)
HELDOUT_SOURCES = (
    "jamez-bondos/awesome-gpt4o-images",  # GPT-4o / gpt-image-1
    "preangelleo/illustration-style-samples",  # Flux, Nano Banana, Qwen-Image illustrations
    "ianare/exif-samples",  # camera and phone photos
    "ngchc/CameraSR",  # City100 camera photos
    "csjunxu/PolyU-Real-World-Noisy-Images-Dataset",  # full-size DSLR JPEGs
)
ALWAYS_TRAIN = ("BIDS/BSDS500", "majedelhelou/denoising_datasets")
CAPS = {  # evenly spaced deterministic pick (by content hash) from the biggest sources
    "camenduru/stable-diffusion-webui-artists-to-study": 2500,
    "chanakya2734/Image-classification-using-CNN": 3000,
    "BathVisArtData/PeopleArt": 2500,
    "BathVisArtData/PhotoArt50": 2000,
    "KiCad/kicad-doc": 500,
    "Gnucash/gnucash-docs": 300,
}
VAL_FRACTION = 0.10


def read_manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def select(rows: list[dict[str, str]], caps: dict[str, int]) -> list[dict[str, str]]:
    by_source: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_source.setdefault(r["source_repo"], []).append(r)
    out = []
    for src, items in by_source.items():
        items.sort(key=lambda r: r["sha256"])
        cap = caps.get(src)
        if cap is not None and len(items) > cap:
            idx = np.linspace(0, len(items) - 1, cap).round().astype(int)
            items = [items[i] for i in idx]
        out.extend(items)
    return out


def split_of(row: dict[str, str], seed: int = 0) -> str:
    if row["source_repo"] in HELDOUT_SOURCES or row["generator"] in HELDOUT_GENERATORS:
        return "heldout"
    if row["source_repo"] in ALWAYS_TRAIN:
        return "train"
    h = int(hashlib.sha256(f"{seed}:{row['sha256']}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < VAL_FRACTION else "train"


# Sources whose files are 2x2 grids of separate images: one random tile is used, or the whole-image view
# would teach "a grid of four pictures = AI".
GRID_SOURCES = ("camenduru/stable-diffusion-webui-artists-to-study",)


def _work(args: tuple[int, str, str, str, int, int, int, int]
          ) -> tuple[int, np.ndarray | None, list[dict[str, float]], str]:
    index, path, source, split, seed, crop, versions, n_native = args
    rng = np.random.default_rng([seed, index])
    try:
        img, fmt = open_rgb(path)
    except Exception as exc:  # a file that decoded at extraction time but not now: skip, say why
        return index, None, [], f"{type(exc).__name__}: {exc}"
    if source in GRID_SOURCES:
        tw, th = img.size[0] // 2, img.size[1] // 2
        tx, ty = int(rng.integers(0, 2)) * tw, int(rng.integers(0, 2)) * th
        img = img.crop((tx, ty, tx + tw, ty + th))
    aug = Augment(max_side=1024)
    views, infos = [], []
    for _ in range(versions if split == "train" else 1):
        copy, info = process(img, fmt, rng, aug, crop)
        v = training_views(copy, rng, crop, n_native, "bilinear")
        views.append(v)
        infos.extend([{**info, "kind": float(k == len(v) - 1)} for k in range(len(v))])
    return index, np.concatenate(views), infos, ""


def pack(root: Path, out: Path, *, crop: int = 112, versions: int = 2, n_native: int = 2, seed: int = 0,
         workers: int = 2, limit: int | None = None) -> dict[str, object]:
    rows = select(read_manifest(root), CAPS)
    if limit:
        rows = rows[:: max(1, len(rows) // limit)][:limit]
    for r in rows:
        r["split"] = split_of(r, seed)
    out.mkdir(parents=True, exist_ok=True)
    per_train = versions * (n_native + 1)
    per_other = n_native + 1
    capacity = sum(per_train if r["split"] == "train" else per_other for r in rows)
    data = np.lib.format.open_memmap(out / "views.npy", mode="w+", dtype=np.uint8, shape=(capacity, crop, crop, 3))
    meta: dict[str, list[float]] = {k: [] for k in ("label", "image", "split", "kind", "scale", "jpeg", "quality")}
    split_code = {"train": 0, "val": 1, "heldout": 2}
    n = 0
    skipped = []
    started = time.time()
    jobs = [(i, str(root / r["file"]), r["source_repo"], r["split"], seed, crop, versions, n_native) for i, r in enumerate(rows)]
    with mp.Pool(workers) as pool:
        for done, (i, views, infos, err) in enumerate(pool.imap_unordered(_work, jobs, chunksize=8), 1):
            if views is None:
                skipped.append((rows[i]["file"], err))
                continue
            data[n:n + len(views)] = views
            n += len(views)
            r = rows[i]
            for info in infos:
                meta["label"].append(1.0 if r["label"] == "ai" else 0.0)
                meta["image"].append(float(i))
                meta["split"].append(float(split_code[r["split"]]))
                for k in ("kind", "scale", "jpeg", "quality"):
                    meta[k].append(info[k])
            if done % 500 == 0:
                log.info("packed %d/%d images (%d views, %.0f s)", done, len(rows), n, time.time() - started)
    data.flush()
    del data
    arrays: dict[str, np.ndarray] = {k: np.asarray(v, np.float32) for k, v in meta.items()}
    arrays["count"] = np.asarray(n)
    np.savez(out / "views_meta.npz", **arrays)  # type: ignore[arg-type]
    with open(out / "images.csv", "w", newline="", encoding="utf-8") as fh:
        cols = ["file", "label", "source_repo", "generator", "kind", "split", "format", "width", "height", "bytes",
                "sha256", "commit", "licence"]
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    summary = {
        "root": str(root), "crop": crop, "versions": versions, "n_native": n_native, "seed": seed,
        "views": n, "images": len(rows), "skipped": skipped,
        "by_split": dict(Counter((r["split"], r["label"]) for r in rows).items()),
        "caps": CAPS, "heldout_sources": HELDOUT_SOURCES, "heldout_generators": HELDOUT_GENERATORS,
        "seconds": round(time.time() - started, 1),
    }
    summary["by_split"] = {f"{s}/{lab}": c for (s, lab), c in Counter((r["split"], r["label"]) for r in rows).items()}
    (out / "pack.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.realworld.pack", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path, help="folder with manifest.csv (realworld_data.py --out)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--crop", type=int, default=112)
    p.add_argument("--versions", type=int, default=2, help="processed copies per training image")
    p.add_argument("--native", type=int, default=2, help="native crops per copy (plus one whole-image view)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--limit", type=int, default=None)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    s = pack(a.data, a.out, crop=a.crop, versions=a.versions, n_native=a.native, seed=a.seed, workers=a.workers,
             limit=a.limit)
    print(json.dumps({k: v for k, v in s.items() if k != "skipped"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
