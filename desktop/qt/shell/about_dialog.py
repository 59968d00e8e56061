"""Help ▸ About: the version, what the app does and does not do, and each model's data and licence."""

from __future__ import annotations

import html
import platform
from importlib import metadata
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from desktop import __version__


def _package_version(*names: str) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "?"


def about_html(choices: list[Any]) -> str:
    """The dialog's text; `choices`: the registry's ModelChoice list (cards read from their contracts)."""
    rows = []
    for c in choices:
        contract = getattr(c.entry, "contract", None)
        card = contract.card if contract is not None else {}
        data = str(card.get("training_data") or "not stated in the card")
        licence = str(card.get("licence") or "not stated in the card")
        strong = "non-commercial" in licence.lower()
        licence_html = f"<b>{html.escape(licence)}</b>" if strong else html.escape(licence)
        rows.append(
            f"<tr><td valign='top'><b>{html.escape(c.name)}</b><br><small>{html.escape(c.kind or '?')}, "
            f"{html.escape(c.origin or '?')}</small></td><td valign='top'>{html.escape(data)}</td>"
            f"<td valign='top'>{licence_html}</td></tr>"
        )
    models = (
        "<table cellspacing='4' cellpadding='2' border='0' width='100%'><tr><th align='left'>Model</th>"
        "<th align='left'>Trained on</th><th align='left'>Data licence / terms</th></tr>" + "".join(rows) + "</table>"
        if rows else "<p><i>No models are listed yet.</i></p>"
    )
    return (
        f"<h2>PixelPatrol {html.escape(__version__)}</h2>"
        "<p>Finds AI-generated images on this computer, offline: no image, score or file name leaves it. "
        "Scores are probabilities from small models trained on the data named below; a verdict is evidence, "
        "not proof. Each model's card (how it was trained and measured) is in the Models tab and in "
        "<code>pixelpatrol models NAME</code>.</p>"
        "<p>The app's code is under the MIT licence. A model's weights carry the terms of the data it was "
        "trained on: models trained on UTKFace may be used for <b>non-commercial research only</b>.</p>"
        f"<h3>Models</h3>{models}"
        f"<p><small>Python {html.escape(platform.python_version())} · PySide6 "
        f"{html.escape(_package_version('PySide6-Essentials', 'PySide6'))} · onnxruntime "
        f"{html.escape(_package_version('onnxruntime', 'onnxruntime-gpu'))}</small></p>"
    )


class AboutDialog(QDialog):
    def __init__(self, choices: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About PixelPatrol")
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setHtml(about_html(choices))
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
