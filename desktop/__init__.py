"""PixelPatrol: find AI-generated images, offline."""

__version__ = "0.1.0"  # the same as pyproject.toml's [project] version (a test keeps them equal)
