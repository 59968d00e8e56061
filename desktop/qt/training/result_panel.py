"""What a finished classifier/detector run shows: ROC, confusion matrix, thresholds, and a button
that registers the exported model so Scan can use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.core.run_follow import RunHistory


class RunResultPanel(QWidget):
    register_requested = Signal(str)  # path of the exported .onnx

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        images = QHBoxLayout()
        self.roc = QLabel()
        self.confusion = QLabel()
        for label in (self.roc, self.confusion):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            images.addWidget(label)
        layout.addLayout(images)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self._onnx = ""
        self.register = QPushButton("Use this model in Scan")
        self.register.clicked.connect(lambda: self.register_requested.emit(self._onnx))
        layout.addWidget(self.register, 0, Qt.AlignmentFlag.AlignLeft)
        self.setVisible(False)

    def show_result(self, run_dir: Path, history: RunHistory) -> None:
        ev: dict[str, Any] = history.evaluation or {}
        metrics: dict[str, Any] = ev["metrics"] if isinstance(ev.get("metrics"), dict) else {}
        plots: dict[str, Any] = ev["plots"] if isinstance(ev.get("plots"), dict) else {}
        for key, label in (("roc", self.roc), ("confusion", self.confusion)):
            path = run_dir / str(plots.get(key, ""))
            pix = QPixmap(str(path)) if plots.get(key) and path.is_file() else QPixmap()
            if pix.isNull():
                label.setText(f"({key} plot not in the run folder)" if plots else "")
            else:
                label.setPixmap(pix.scaledToHeight(220, Qt.TransformationMode.SmoothTransformation))
        shown = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "ece")
        rates = ("accuracy", "balanced_accuracy", "precision", "recall")  # as the model cards print them
        parts = [f"{k} {float(metrics[k]) * 100:.2f} %" if k in rates else f"{k} {float(metrics[k]):.4f}"
                 for k in shown if isinstance(metrics.get(k), (int, float))]
        thresholds: dict[str, Any] = ev["thresholds"] if isinstance(ev.get("thresholds"), dict) else {}
        edges = ("real", "likely_real", "decision", "likely_ai", "ai")
        tparts = [f"{k} {float(thresholds[k]):.3f}" for k in edges if isinstance(thresholds.get(k), (int, float))]
        onnx = next((str(e.get("path")) for e in reversed(history.exports) if e.get("path")), "")
        local = run_dir / Path(onnx).name if onnx else None
        self._onnx = str(local) if local is not None and local.is_file() else onnx
        lines = []
        if parts:
            lines.append("<b>Validation</b>: " + ", ".join(parts))
        if tparts:
            basis = ev.get("thresholds_from")
            lines.append("<b>Thresholds</b>: " + ", ".join(tparts) + (f" ({basis})" if isinstance(basis, str) else ""))
        if onnx:
            lines.append(f"<b>Exported</b>: {self._onnx}")
        self.summary.setText("<br>".join(lines) or "This run reported no evaluation.")
        self.register.setVisible(bool(onnx))
        self.register.setEnabled(bool(self._onnx) and Path(self._onnx).is_file())
        if onnx and not self.register.isEnabled():
            self.register.setToolTip("the exported file is not on this machine")
        self.setVisible(history.evaluation is not None or bool(onnx))
