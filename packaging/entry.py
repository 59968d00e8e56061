"""Frozen entry point: the same as the `pixelpatrol` console script (`desktop.cli:main`)."""

from __future__ import annotations

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
