"""Does a detector catch the project's own generators? Fresh samples, saved and scanned as a person would.

Makes COUNT samples of each generator with the Gallery's code (``desktop.core.models.generate``: per-seed latents,
seeds SEED, SEED+1, ...; classes cycled), saves them as PNG with the Gallery's ``save_images``, runs
``pixelpatrol scan FOLDER --model MODEL`` in a separate process and counts the verdicts. The detectors train
on another latent stream (``training/data/gan_fakes.py``), so no sample here was seen in training.

    .venv/bin/python scripts/gan_samples_scan.py --model onnx_models/cifake-cnn.onnx \
        --generator onnx_models/dcgan-cifar10-generator.onnx --generator onnx_models/faces-generator.onnx \
        [--count 1000] [--seed 900000] [--jpeg QUALITY] [--out RESULT.json]

``--jpeg QUALITY``: the samples are saved as PNG, then re-saved as JPEG at that quality (the PNG removed) before the
scan, as a picture passed around the web would be.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from desktop.core.models.generate import Generator, save_images

FLAGGED = ("ai", "likely_ai")


def scan_generator(model: str, generator: str, count: int, seed: int, jpeg: int | None = None) -> dict[str, object]:
    gen = Generator.load(generator, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "samples"
        save_images(gen.generate(count, seed), folder, gen.class_names)
        if jpeg is not None:
            _to_jpeg(folder, jpeg)
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, "-m", "desktop", "scan", str(folder), "--model", model, "--out", str(out),
               "--no-cache", "--quiet", "--device", "cpu"]
        subprocess.run(cmd, check=True, env=_env(tmp))
        rows = [r for r in json.loads(out.read_text()) if r.get("score") is not None]
    verdicts = Counter(str(r.get("verdict")) for r in rows)
    flagged = sum(verdicts[v] for v in FLAGGED)
    return {
        "generator": gen.contract.name, "samples": len(rows), "seeds": [seed, seed + count - 1], "jpeg_quality": jpeg,
        "flagged_ai": round(flagged / max(1, len(rows)), 4), "verdicts": dict(verdicts),
        "mean_score": round(sum(float(r["score"]) for r in rows) / max(1, len(rows)), 4),
    }


def _to_jpeg(folder: Path, quality: int) -> None:
    from PIL import Image

    for png in sorted(folder.glob("*.png")):
        with Image.open(png) as im:
            im.convert("RGB").save(png.with_suffix(".jpg"), "JPEG", quality=quality)
        png.unlink()


def _env(home: str) -> dict[str, str]:
    import os

    return {**os.environ, "PIXELPATROL_HOME": home}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--generator", action="append", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=900_000)
    ap.add_argument("--jpeg", type=int, default=None, metavar="QUALITY", help="re-save the samples as JPEG first")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    result = {"model": a.model, "flagged_means": "verdict ai or likely_ai",
              "generators": [scan_generator(a.model, g, a.count, a.seed, a.jpeg) for g in a.generator]}
    text = json.dumps(result, indent=2)
    if a.out:
        Path(a.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
