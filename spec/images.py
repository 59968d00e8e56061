"""Image file extensions, lower case with the dot."""

from __future__ import annotations

# What the scan reads (Pillow with pillow-heif): a folder walk picks these files up by name.
SCAN_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib", ".tif", ".tiff",
    ".avif", ".heic", ".heif",
})

# What training reads from a folder or a zip (Pillow without the HEIF plugin), in the order the
# trainer names them in its messages. The app's run form checks a data folder with the same list.
TRAINING_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
