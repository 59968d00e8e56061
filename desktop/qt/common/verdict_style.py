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

# What each band means, for tooltips (the numbers are the model's thresholds, moved by the slider).
DESCRIPTIONS = {
    "real": "the score is below the model's 'real' threshold: it looks like a real photo",
    "likely_real": "the score leans real, but not far enough to be sure",
    "uncertain": "the score sits near the decision point: the model cannot tell",
    "likely_ai": "the score leans AI-generated, but not far enough to be sure",
    "ai": "the score is above the model's 'AI' threshold: it looks AI-generated",
    ERROR: "the file could not be analysed (see the Error column)",
}


def describe(verdict: str | None) -> str:
    """'Likely AI: the score leans AI-generated, ...' (one line for a tooltip)."""
    return f"{label(verdict)}: {DESCRIPTIONS.get(verdict or ERROR, '')}".rstrip(": ")


def label(verdict: str | None) -> str:
    return LABELS.get(verdict or ERROR, str(verdict))


def colour(verdict: str | None) -> QColor:
    return QColor(_COLOURS.get(verdict or ERROR, _COLOURS[ERROR]))
