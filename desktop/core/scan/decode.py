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
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

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
_CODEC_BROKEN = -2  # Pillow's IMAGING_CODEC_BROKEN: what libjpeg's "too little data" on finishing early becomes
_JPEG_FORMATS = ("JPEG", "MPO")  # MPO: a camera's multi-picture JPEG; its first picture is the image


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


def whole_view(rgb: Image.Image, width: int, height: int, resample: str, full_size: tuple[int, int] | None = None,
               scale: float = 1.0) -> np.ndarray:
    """The central square (side = the shorter side) resized to width x height: the "multiscale" feed's
    whole-image view. Same call as training/realworld/views.py:global_view at scan time.

    `full_size`, `scale`: `rgb` is a decode of an image of `full_size` (width, height) scaled down `scale`
    times (JPEG DCT scaling); the square is the full image's, mapped onto `rgb` exactly (a fractional box),
    so that only the scaling differs from a full decode.
    """
    w, h = full_size or rgb.size
    side = min(w, h)
    x0, y0 = (w - side) // 2, (h - side) // 2
    if scale != 1.0:
        box = (x0 / scale, y0 / scale, (x0 + side) / scale, (y0 + side) / scale)
        return np.asarray(rgb.resize((width, height), RESAMPLE[resample], box=box, reducing_gap=REDUCING_GAP),
                          dtype=np.uint8)
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
        return multiscale_views(rgb, rgb, (w, h), contract)
    if (w, h) == (tw, th):
        return np.asarray(rgb, dtype=np.uint8)[None], (1, 1)
    if feed.mode == "resize" or w < tw or h < th:
        resized = rgb.resize((tw, th), RESAMPLE[feed.resample])
        return np.asarray(resized, dtype=np.uint8)[None], (1, 1)
    boxes, rows, cols = patch_boxes(w, h, feed, tw, th)
    return _native_crops(rgb, boxes), (rows, cols)


def multiscale_views(native: Image.Image, whole: Image.Image, size: tuple[int, int], contract: ModelContract,
                     whole_scale: float = 1.0) -> tuple[np.ndarray, tuple[int, int]]:
    """The "multiscale" feed of an image of `size` (width, height): its native crops, taken from `native`
    (the RGB image at full resolution; only its rows down to the lowest crop need be there), then the
    whole-image view made from `whole` (the same RGB image, or all of it decoded `whole_scale` times
    smaller)."""
    spec = contract.input
    assert spec is not None
    tw, th = spec.width, spec.height
    w, h = size
    view = whole_view(whole, tw, th, contract.feed.resample, size, whole_scale)[None]
    if w < tw or h < th:
        return view, (0, 0)
    boxes, rows, cols = patch_boxes(w, h, contract.feed, tw, th)
    return np.concatenate([_native_crops(native, boxes), view]), (rows, cols)


def jpeg_split_rows(width: int, height: int, contract: ModelContract) -> int | None:
    """For a JPEG fed to a "multiscale" model: how many rows its native crops need, when decoding only
    those rows at full resolution plus the whole image DCT-scaled to half size or less costs less than one
    full decode (the crops take at most half the rows and the whole view can come from a scaled decode);
    else None. The crops stay the file's exact pixels; only the whole-image view comes from the scaled
    decode, which libjpeg makes by scaling its inverse DCT (1/2, 1/4 or 1/8) instead of a box filter."""
    spec, feed = contract.input, contract.feed
    if feed.mode != "multiscale" or spec is None or width < spec.width or height < spec.height:
        return None
    boxes, _, _ = patch_boxes(width, height, feed, spec.width, spec.height)
    bottom = max(box[3] for box in boxes)
    if 2 * bottom > height or min(width, height) < 2 * REDUCING_GAP * max(spec.width, spec.height):
        return None
    return bottom


def split_rows_of(img: Image.Image, orientation: int, contract: ModelContract) -> int | None:
    """`jpeg_split_rows` for an open image with this EXIF orientation: None unless it is a single-tile baseline
    JPEG (or MPO) that is not turned (a progressive file must be entropy-decoded whole for any row: two passes
    would cost more than one)."""
    if (img.format not in _JPEG_FORMATS or orientation in _TRANSPOSED_ORIENTATIONS
            or not isinstance(img, ImageFile.ImageFile) or len(img.tile) != 1 or img.info.get("progressive")):
        return None
    return jpeg_split_rows(img.size[0], img.size[1], contract)


def jpeg_top_rows(fh: IO[bytes], rows: int) -> Image.Image:
    """The first `rows` rows of the JPEG (or MPO's first picture) in `fh` at full resolution, the rest of the image
    never decoded.

    Pillow has no region decode, so its JPEG decoder is run over a tile cut to those rows: libjpeg stops
    after them. Finishing early makes libjpeg report "too little data", which comes back as a broken
    stream; that is the expected end here. A stream that ends before `rows` rows raises (truncated). Call
    it only for a file whose whole stream has decoded once already (the scaled decode): a corrupt stream
    is reported there.
    """
    fh.seek(0)
    with Image.open(fh) as img:
        tile = img.tile[0]
        if img.format not in _JPEG_FORMATS or len(img.tile) != 1 or rows > img.size[1]:
            raise ValueError("not a single-tile JPEG with that many rows")
        out = Image.new(img.mode, (img.size[0], rows))
        decoder = Image._getdecoder(img.mode, tile[0], tile[3], img.decoderconfig)
        try:
            decoder.setimage(out.im, (0, 0, img.size[0], rows))
            fh.seek(tile[2])
            consumed, err = decoder.decode(fh.read())
        finally:
            decoder.cleanup()
    if consumed >= 0:  # the decoder wants more data: the stream ended before the rows were there
        raise OSError("image file is truncated")
    if err not in (0, _CODEC_BROKEN):  # anything but the early stop (or a clean end) is a real failure
        raise OSError(f"JPEG decoder error {err}")
    return out


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
            decoded = _decode_open_image(base, img, contract, fh)
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


def _decode_open_image(base: Decoded, img: Image.Image, choose: ModelContract | Chooser,
                       fh: IO[bytes] | None = None) -> Decoded:
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
    split, scale = None, 1.0
    if fmt == "JPEG" and contract.feed.mode == "resize":
        # DCT scaling: decode at 1/2, 1/4 or 1/8 size, never below the model's input in either axis
        # (square request, so EXIF rotation cannot make one side too small).
        side = max(spec.width, spec.height)
        img.draft("RGB", (side, side))
    elif fh is not None:
        split = split_rows_of(img, orientation, contract)
        if split is not None:  # the whole view from a scaled decode, no side under REDUCING_GAP x the view
            gap = int(np.ceil(REDUCING_GAP * max(spec.width, spec.height)))
            drafted = img.draft(img.mode, (gap, gap))
            scale = width / drafted[1][2] if drafted else 1.0  # not turned: width is the stored width
    img.load()  # decodes the first frame only for GIF/WebP/TIFF stacks; raises on truncated data
    if split is not None and fh is not None:
        crops, grid = multiscale_views(to_rgb(jpeg_top_rows(fh, split)), to_rgb(img), (width, height), contract,
                                       scale)
        return _with(base, width=width, height=height, format=fmt, crops=crops, grid=grid, model=contract.name)
    # exif_transpose copies the whole image even when there is nothing to turn
    oriented = (ImageOps.exif_transpose(img) or img) if orientation in _TRANSPOSED_ORIENTATIONS else img
    crops, grid = preprocess(to_rgb(oriented), contract)
    return _with(base, width=width, height=height, format=fmt, crops=crops, grid=grid, model=contract.name)
