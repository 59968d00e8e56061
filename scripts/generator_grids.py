"""Two generators' grids side by side, on the same seeds, each image shown at the same size on screen.

Each generator makes ROWS x COLS images with the Gallery's code (``desktop.core.models.generate``: seeds SEED,
SEED+1, ...), and the grids are drawn next to each other with a caption over each; smaller images are enlarged with
nearest-neighbour (every pixel a block, nothing invented), so a 32x32 and a 64x64 model are compared as a person
sees them in the Gallery at the same size.

    .venv/bin/python scripts/generator_grids.py OUT.png A.onnx "caption A" B.onnx "caption B" \
        [--rows 6] [--cols 6] [--seed 1234] [--cell 128] [--truncation T]

``--truncation T`` clips every latent to [-T, T], as the Gallery's Truncation control does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from desktop.core.models.detector import ModelError
from desktop.core.models.generate import Generator

GAP, HEAD, MARGIN = 24, 34, 12


def grid(path: str, rows: int, cols: int, seed: int, cell: int, truncation: float | None = None) -> Image.Image:
    gen = Generator.load(path, device="cpu")
    items = gen.generate(rows * cols, seed, truncation=truncation)
    sheet = Image.new("RGB", (cols * cell + (cols - 1) * 2, rows * cell + (rows - 1) * 2), "white")
    for i, item in enumerate(items):
        img = Image.fromarray(np.asarray(item.pixels, np.uint8)).resize((cell, cell), Image.Resampling.NEAREST)
        sheet.paste(img, ((i % cols) * (cell + 2), (i // cols) * (cell + 2)))
    return sheet


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def side_by_side(panels: list[tuple[Image.Image, str]]) -> Image.Image:
    width = sum(p.width for p, _ in panels) + GAP * (len(panels) - 1) + 2 * MARGIN
    height = max(p.height for p, _ in panels) + HEAD + 2 * MARGIN
    out = Image.new("RGB", (width, height), "white")
    draw, font, x = ImageDraw.Draw(out), _font(18), MARGIN
    for panel, caption in panels:
        draw.text((x, MARGIN), caption, fill="black", font=font)
        out.paste(panel, (x, MARGIN + HEAD))
        x += panel.width + GAP
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("pairs", nargs="+", help="MODEL.onnx CAPTION, repeated")
    ap.add_argument("--rows", type=int, default=6)
    ap.add_argument("--cols", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cell", type=int, default=128, help="pixels on screen per image")
    ap.add_argument("--truncation", type=float, help="clip latents to [-T, T] (the Gallery's Truncation)")
    a = ap.parse_args(argv)
    if len(a.pairs) % 2:
        ap.error("give each model file with its caption")
    panels = [(grid(m, a.rows, a.cols, a.seed, a.cell, a.truncation), c) for m, c in zip(a.pairs[::2], a.pairs[1::2], strict=True)]
    side_by_side(panels).save(a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (ModelError, OSError, ValueError) as exc:  # a missing or wrong file: one line, not a traceback
        sys.exit(f"{Path(__file__).name}: {exc}")
