"""Reading one image file (read-only) and turning it into model inputs.

`preprocess` is the ONE scan-side preprocessing function; it must give the same arrays as the
training side's `training/data/preprocess.py:fit_image` for the same decoded pixels (same resize filter,
same patch grid).
The model's own input scaling (`desktop.core.models.detector.scale_pixels`) happens just before inference.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from desktop.core.models.contract import FeedSpec, ModelContract
from desktop.core.scan.verdicts import Finding

try:  # HEIC/HEIF through the maintained plugin; AVIF is native in Pillow >= 11.2 when built with it.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - optional at runtime
    HEIF_SUPPORTED = False

# Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises above. We check the pixel count
# ourselves and report an error row for both, so the warning would only be noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
_SWAPPED_ORIENTATIONS = {5, 6, 7, 8}
_TRANSPOSED_ORIENTATIONS = {2, 3, 4, 5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class Decoded:
    """One file read for the model: its crops, or why it could not be read."""

    path: str
    size: int | None
    mtime_ns: int | None
    width: int | None = None  # as displayed (after EXIF orientation), full resolution
    height: int | None = None
    format: str | None = None
    crops: np.ndarray | None = None  # uint8 [P, H, W, 3]
    model: str | None = None  # the name of the model whose contract fed these crops (routing)
    finding: Finding | None = None  # what the file's metadata says (read by the scan, not here)
    grid: tuple[int, int] = (1, 1)  # rows x cols of the crops
    error: str | None = None
    transient: bool = False  # the error may go away (permissions, a vanished file): do not cache it


# ---------------------------------------------------------------------------- preprocessing


def patch_boxes(w: int, h: int, feed: FeedSpec, pw: int, ph: int) -> tuple[list[tuple[int, int, int, int]], int, int]:
    """An evenly spread grid of at most `feed.max_patches` native crops; same formula as training."""
    cols = max(1, min(w // pw, int(np.ceil(np.sqrt(feed.max_patches)))))
    rows = max(1, min(h // ph, feed.max_patches // cols))
    xs = np.linspace(0, w - pw, cols).round().astype(int)
    ys = np.linspace(0, h - ph, rows).round().astype(int)
    return [(int(x), int(y), int(x) + pw, int(y) + ph) for y in ys for x in xs], rows, cols


# Whole-image views of big images: Pillow first reduces by an integer box factor while the result stays
# at least this many times the target, then resamples (much faster; training uses the same call).
REDUCING_GAP = 2.0


def whole_view(rgb: Image.Image, width: int, height: int, resample: str) -> np.ndarray:
    """The central square (side = the shorter side) resized to width x height: the "multiscale" feed's
    whole-image view. Same call as training/realworld/views.py:global_view at scan time."""
    w, h = rgb.size
    side = min(w, h)
    x0, y0 = (w - side) // 2, (h - side) // 2
    square = rgb if w == h else rgb.crop((x0, y0, x0 + side, y0 + side))  # crop of it all would be a copy
    if (side, side) != (width, height):
        square = square.resize((width, height), RESAMPLE[resample], reducing_gap=REDUCING_GAP)
    return np.asarray(square, dtype=np.uint8)


def preprocess(image: Image.Image, contract: ModelContract) -> tuple[np.ndarray, tuple[int, int]]:
    """An RGB image -> (uint8 crops [P, H, W, 3], (rows, cols)) following the contract's feed mode.

    resize: the whole image resized to the input size (one crop). patches: native-resolution
    crops on an evenly spread grid; an image smaller than one crop is resized whole.
    multiscale: the native crops of "patches" (rows x cols of them) and, last, one whole-image view
    (`whole_view`); an image smaller than one crop gets the whole-image view only, grid (0, 0).
    """
    spec = contract.input
    if spec is None:
        raise ValueError(f"model '{contract.name}' has no image input")
    feed = contract.feed
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    w, h = rgb.size
    tw, th = spec.width, spec.height
    if feed.mode == "multiscale":
        whole = whole_view(rgb, tw, th, feed.resample)[None]
        if w < tw or h < th:
            return whole, (0, 0)
        boxes, rows, cols = patch_boxes(w, h, feed, tw, th)
        return np.concatenate([_native_crops(rgb, boxes), whole]), (rows, cols)
    if (w, h) == (tw, th):
        return np.asarray(rgb, dtype=np.uint8)[None], (1, 1)
    if feed.mode == "resize" or w < tw or h < th:
        resized = rgb.resize((tw, th), RESAMPLE[feed.resample])
        return np.asarray(resized, dtype=np.uint8)[None], (1, 1)
    boxes, rows, cols = patch_boxes(w, h, feed, tw, th)
    return _native_crops(rgb, boxes), (rows, cols)


def _native_crops(rgb: Image.Image, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """The boxes' pixels, unchanged, as uint8 [P, H, W, 3]; only the boxes become arrays, never the whole
    image (a 12 MP photo would be a 36 MB copy for a few 112 px crops)."""
    return np.stack([np.asarray(rgb.crop(box), dtype=np.uint8) for box in boxes])


# ---------------------------------------------------------------------------- decoding


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency is composited on white, 16-bit is scaled, not clipped."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(image)
        if mode == "F":
            arr = arr * 255.0 if float(np.nanmax(arr, initial=0.0)) <= 1.0 else arr
        elif mode == "I" and int(arr.max(initial=0)) <= 255:
            pass
        else:
            arr = arr / 257.0  # 16-bit range 0..65535 -> 0..255
        gray = np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _stat_error(path: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return "broken symbolic link (its target does not exist)"
        return "file not found (deleted or moved during the scan?)"
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return "permission denied: the file cannot be read"
    return f"cannot read the file: {exc.strerror or exc}"


def _size_limit_error(width: int, height: int) -> str | None:
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        return (f"image too large: {width}x{height} pixels is over the safety limit of {limit:,} "
                "(possible decompression bomb)")
    return None


Chooser = Callable[[int, int], ModelContract]  # (width, height as displayed) -> the contract to feed


# What a file's own metadata says, read while it is open for decoding: (path, the image, its `info` as read
# before any pixel was decoded, the open file). The scan passes evidence.py's reader; decoding stays apart.
FindingReader = Callable[[Path, Image.Image, dict[Any, Any], IO[bytes]], Finding | None]


def load_image(path: str | Path, contract: ModelContract | Chooser, read_finding: FindingReader | None = None
               ) -> Decoded:
    """Open a file read-only and return its model crops, or a Decoded with a clear `error`.

    `contract` may be a function of the displayed size that picks the contract (per-image routing);
    the chosen model's name is in `Decoded.model`. `read_finding`, for a file that decoded, reads its
    evidence from the same open file (`Decoded.finding`); it never fails the file (None when it raises).
    """
    p = str(path)
    try:
        st = os.stat(p)
    except OSError as exc:
        return Decoded(p, None, None, error=_stat_error(p, exc), transient=True)
    size, mtime_ns = st.st_size, st.st_mtime_ns
    if not stat.S_ISREG(st.st_mode):
        return Decoded(p, size, mtime_ns, error="not a regular file")
    if size == 0:
        return Decoded(p, size, mtime_ns, error="empty file (0 bytes)")
    base = Decoded(p, size, mtime_ns)
    try:
        with open(p, "rb") as fh, Image.open(fh) as img:
            header = dict(img.info) if read_finding is not None else {}
            decoded = _decode_open_image(base, img, contract)
            if read_finding is None or decoded.crops is None:
                return decoded
            try:
                return _with(decoded, finding=read_finding(Path(p), img, header, fh))
            except Exception:  # best effort: the model's verdict stands alone
                return decoded
    except OSError as exc:
        if isinstance(exc, UnidentifiedImageError):
            return _with(base, error="not an image: the content is not a recognised image format")
        if exc.errno is not None:
            return _with(base, error=_stat_error(p, exc), transient=True)
        return _with(base, error=f"truncated or corrupt image data ({exc})")
    except Image.DecompressionBombError:
        return _with(base, error="image too large: over twice the safety limit of "
                                 f"{Image.MAX_IMAGE_PIXELS:,} pixels (possible decompression bomb)")
    except MemoryError:
        return _with(base, error="image too large to decode in memory")
    except Exception as exc:  # a broken file must become an error row, never a crash
        return _with(base, error=f"cannot decode: {type(exc).__name__}: {exc}")


def _with(base: Decoded, **changes: object) -> Decoded:
    return replace(base, **changes)  # type: ignore[arg-type]


def _decode_open_image(base: Decoded, img: Image.Image, choose: ModelContract | Chooser) -> Decoded:
    width, height = img.size
    fmt = img.format
    too_large = _size_limit_error(width, height)
    if too_large:
        return _with(base, width=width, height=height, format=fmt, error=too_large)
    orientation = img.getexif().get(_ORIENTATION_TAG, 1)
    if orientation in _SWAPPED_ORIENTATIONS:
        width, height = height, width
    contract = choose if isinstance(choose, ModelContract) else choose(width, height)
    spec = contract.input
    assert spec is not None
    if fmt == "JPEG" and contract.feed.mode == "resize":
        # DCT scaling: decode at 1/2, 1/4 or 1/8 size, never below the model's input in either axis
        # (square request, so EXIF rotation cannot make one side too small).
        side = max(spec.width, spec.height)
        img.draft("RGB", (side, side))
    img.load()  # decodes the first frame only for GIF/WebP/TIFF stacks; raises on truncated data
    # exif_transpose copies the whole image even when there is nothing to turn
    oriented = (ImageOps.exif_transpose(img) or img) if orientation in _TRANSPOSED_ORIENTATIONS else img
    crops, grid = preprocess(to_rgb(oriented), contract)
    return _with(base, width=width, height=height, format=fmt, crops=crops, grid=grid, model=contract.name)
