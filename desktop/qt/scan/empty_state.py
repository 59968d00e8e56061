"""What the Scan area shows before the first scan: how to start, in three ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyStateWidget(QFrame):
    open_folder_requested = Signal()
    open_files_requested = Signal()
    demo_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.addStretch(2)

        title = QLabel("Drop a folder or images here")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)

        hint = QLabel(
            "PixelPatrol scores every image for how likely it is to be AI-generated, on this computer —\n"
            "nothing is uploaded. Folders are searched inside (switch off “Include subfolders” to stop that)."
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)  # the palette's muted text colour, light or dark
        layout.addWidget(hint)
        layout.addSpacing(16)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.folder_button = QPushButton("Choose a folder…")
        self.folder_button.setDefault(True)
        self.folder_button.clicked.connect(self.open_folder_requested)
        self.files_button = QPushButton("Choose images…")
        self.files_button.clicked.connect(self.open_files_requested)
        self.demo_button = QPushButton("Try the demo folder")
        self.demo_button.setToolTip(
            "12 tiny images that ship with the app: 6 real CIFAR-10 photos and "
            "6 made by Stable Diffusion 1.4 (CIFAKE)"
        )
        self.demo_button.clicked.connect(self.demo_requested)
        for b in (self.folder_button, self.files_button, self.demo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self._recent_box = QVBoxLayout()
        self._recent_box.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addLayout(self._recent_box)
        shortcut = QLabel(
            "Ctrl+O opens a folder at any time. Drop more while a scan runs and they are queued."
        )
        shortcut.setAlignment(Qt.AlignmentFlag.AlignCenter)
        shortcut.setEnabled(False)
        layout.addSpacing(12)
        layout.addWidget(shortcut)
        layout.addStretch(3)

    def set_recent(self, folders: list[str]) -> None:
        while self._recent_box.count():
            item = self._recent_box.takeAt(0)
            widget: Any = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        existing = [f for f in folders if Path(f).exists()][:4]
        if not existing:
            return
        self._recent_box.addWidget(QLabel("Recent:"), alignment=Qt.AlignmentFlag.AlignHCenter)
        for folder in existing:
            link = QPushButton(folder)
            link.setFlat(True)
            link.setCursor(Qt.CursorShape.PointingHandCursor)
            link.clicked.connect(lambda _checked=False, f=folder: self.recent_requested.emit(f))
            self._recent_box.addWidget(link, alignment=Qt.AlignmentFlag.AlignHCenter)
