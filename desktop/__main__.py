"""`python -m desktop` is the `pixelpatrol` command."""

from __future__ import annotations

import sys

from desktop.cli import main

sys.exit(main())
