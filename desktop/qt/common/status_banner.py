"""A one-line message at the top of an area (errors, offers to resume) instead of a dialog."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

_STYLES = {
    "error": "background:#f8d7da; color:#58151c; border:1px solid #f1aeb5;",
    "warning": "background:#fff3cd; color:#664d03; border:1px solid #ffe69c;",
    "info": "background:#cfe2ff; color:#052c65; border:1px solid #9ec5fe;",
}


class StatusBannerWidget(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("border:none; background:transparent;")
        layout.addWidget(self.message_label, 1)
        self.action_button = QPushButton()
        self.action_button.hide()
        layout.addWidget(self.action_button)
        self.close_button = QPushButton("Dismiss")
        self.close_button.clicked.connect(self.clear)
        layout.addWidget(self.close_button)
        self._action: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._on_action_button_clicked)
        self.level = ""
        self.hide()

    @property
    def text(self) -> str:
        return self.message_label.text()

    def show_message(
        self, text: str, level: str = "error", action: tuple[str, Callable[[], None]] | None = None
    ) -> None:
        self.level = level
        self.setStyleSheet(f"#statusBanner {{{_STYLES.get(level, _STYLES['info'])} border-radius:4px;}}")
        self.message_label.setStyleSheet(f"border:none; background:transparent; color:{_color(level)};")
        self.message_label.setText(text)
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(action is not None)
        self.show()

    def clear(self) -> None:
        self.level = ""
        self.message_label.clear()
        self._action = None
        self.hide()

    def _on_action_button_clicked(self) -> None:
        action = self._action
        self.clear()
        if action is not None:
            action()


def _color(level: str) -> str:
    return {"error": "#58151c", "warning": "#664d03"}.get(level, "#052c65")
