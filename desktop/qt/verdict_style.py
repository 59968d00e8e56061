"""How verdict bands look (labels and colours); the bands themselves come from the engine."""

from __future__ import annotations

from PySide6.QtGui import QColor

# Engine verdict ids, low to high P(AI); kept here only for display order, the engine decides the band.
ORDER = ("real", "likely_real", "uncertain", "likely_ai", "ai")
ERROR = "error"

LABELS = {
    "real": "Real",
    "likely_real": "Likely real",
    "uncertain": "Uncertain",
    "likely_ai": "Likely AI",
    "ai": "AI-generated",
    ERROR: "Error",
}

# Mid-saturation colours that stay readable on light and dark palettes.
_COLOURS = {
    "real": "#2e9e5b",
    "likely_real": "#7cb85c",
    "uncertain": "#c9a227",
    "likely_ai": "#e07b39",
    "ai": "#d64545",
    ERROR: "#8a8a8a",
}

FLAGGED = ("likely_ai", "ai")


def label(verdict: str | None) -> str:
    return LABELS.get(verdict or ERROR, str(verdict))


def colour(verdict: str | None) -> QColor:
    return QColor(_COLOURS.get(verdict or ERROR, _COLOURS[ERROR]))
