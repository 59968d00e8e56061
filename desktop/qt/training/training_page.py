"""The Training tab: start/stop/resume a run (child process), follow any run folder, overlay runs.

Curves and progress come from the run folder's metrics.jsonl (MetricsFollower), the same for a run
started here, from a terminal or on another machine; the process's stdout is only checked, and its
stderr goes to the log pane.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.core.paths import user_data_dir
from desktop.core.run_follow import read_history
from desktop.qt.models.model_service import ModelService
from desktop.qt.training.curves_widget import CurvesWidget
from desktop.qt.training.metrics_follower import MetricsFollower
from desktop.qt.training.result_panel import RunResultPanel
from desktop.qt.training.run_form import RunForm, check_data
from desktop.qt.training.run_record import RunRecord, epochs_done, next_free_folder, read_record
from desktop.qt.training.trainer_process import (
    TrainerProcess,
    TrainerUnavailable,
    configured_python,
    set_configured_python,
    trainer_command,
)
from spec.metrics import METRICS_FILE


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA —"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"ETA {h}:{m:02d}:{s:02d}" if h else f"ETA {m}:{s:02d}"


def _in_folder(entry: str, cwd: Path | None) -> str:
    """A recorded --data entry ([ROLE=]PATH) with a relative PATH read from the run's own folder."""
    role, sep, path = entry.partition("=")
    if not sep or role not in ("real", "fake"):
        role, sep, path = "", "", entry
    if cwd is not None and not Path(path).expanduser().is_absolute():
        path = str(cwd / path)
    return f"{role}{sep}{path}"


class TrainingPage(QWidget):
    model_registered = Signal(str)  # path of the copy in the user's models folder

    def __init__(self, models: ModelService | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models or ModelService(self)
        self.follower: MetricsFollower | None = None
        self.trainer = TrainerProcess(self)
        self.trainer.log_line.connect(self.append_log)
        self.trainer.finished.connect(self._on_trainer_finished)
        self.command_override: list[str] | None = None  # tests: a fake trainer
        self._session_note = ""  # how the last process was started (kept when it ends)

        left = QVBoxLayout()
        box = QGroupBox("New run")
        box_layout = QVBoxLayout(box)
        self.form = RunForm(user_data_dir() / "runs")
        box_layout.addWidget(self.form)
        buttons = QHBoxLayout()
        self.start_button, self.stop_button = QPushButton("Start"), QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.start_button.clicked.connect(lambda: self.start_run(resume=False))
        self.resume_button.clicked.connect(lambda: self.start_run(resume=True))
        self.stop_button.clicked.connect(self.stop_run)
        self.stop_button.setEnabled(False)
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        box_layout.addLayout(buttons)
        left.addWidget(box)
        follow, compare = QPushButton("Follow a run folder…"), QPushButton("Overlay another run…")
        follow.clicked.connect(self._on_follow_clicked)
        compare.clicked.connect(self._on_compare_clicked)
        left.addWidget(follow)
        left.addWidget(compare)
        python = QPushButton("Python environment for training…")
        python.setToolTip("A Python that has the train extra (pip install -e \".[train]\"); empty: pixelpatrol-train")
        python.clicked.connect(self._on_python_clicked)
        left.addWidget(python)
        self.message = QLabel()
        self.message.setWordWrap(True)
        left.addWidget(self.message)
        self.samples = QLabel()
        self.samples.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.samples.setMinimumHeight(10)
        left.addWidget(self.samples, 1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(430)

        right = QVBoxLayout()
        head = QHBoxLayout()
        self.run_label = QLabel("No run followed. Start one, or follow a run folder.")
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.eta = QLabel(_eta(None))
        head.addWidget(self.run_label, 1)
        head.addWidget(self.progress, 1)
        head.addWidget(self.eta)
        right.addLayout(head)
        split = QSplitter(Qt.Orientation.Vertical)
        # pyqtgraph takes ~1 s to import: the curves are made when a run is first followed
        self._curves: CurvesWidget | None = None
        self._curves_slot = QLabel("Curves appear here when a run is followed.")
        self._curves_slot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        split.addWidget(self._curves_slot)
        self.split = split
        self.result = RunResultPanel()
        self.result.register_requested.connect(self._on_register_requested)
        split.addWidget(self.result)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText("The trainer's log (stderr) and any skipped metrics lines appear here.")
        split.addWidget(self.log)
        split.setSizes([520, 200, 120])
        right.addWidget(split, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addLayout(right, 1)

    @property
    def curves(self) -> CurvesWidget:
        if self._curves is None:
            self._curves = CurvesWidget()
            self.split.replaceWidget(0, self._curves)
            self._curves_slot.deleteLater()
        return self._curves

    # -- following
    def follow(self, run_dir: str | Path) -> MetricsFollower:
        if self.follower is not None:
            self.follower.stop()
            self.follower.deleteLater()
        self.follower = MetricsFollower(run_dir, self)
        self.follower.events_read.connect(self._on_follower_events)
        self.follower.problem_found.connect(lambda text: self.append_log(f"[skipped] {text}"))
        self.curves.set_run(Path(run_dir).name, self.follower.history)
        self.run_label.setText(f"<b>{Path(run_dir).name}</b> — waiting for metrics")
        self.result.setVisible(False)
        self.samples.clear()
        self.follower.start()
        return self.follower

    def overlay(self, run_dir: str | Path) -> None:
        history, problems = read_history(Path(run_dir) / METRICS_FILE)
        for p in problems:
            self.append_log(f"[skipped] {Path(run_dir).name}: {p}")
        self.curves.set_run(Path(run_dir).name, history, overlay=True)

    def _on_follower_events(self, kinds: set[str]) -> None:
        assert self.follower is not None
        h, run_dir = self.follower.history, self.follower.run_dir
        self.curves.mark_dirty()
        p = h.progress
        total = max(1, p.epochs)
        if h.status in ("stopped", "failed", "completed"):  # the epochs done, as the trainer's log counts them
            done = epochs_done(run_dir, h)
            self.progress.setValue(int(100 * min(done, total) / total))
            self.progress.setFormat(f"{h.status} after {done} of {p.epochs} epochs")
        else:
            self.progress.setValue(int(100 * min(p.position, total) / total))
            self.progress.setFormat(f"epoch {p.epoch}/{p.epochs} · step {p.step}/{p.steps}")
        self.eta.setText(_eta(p.eta_s) if h.status == "running" else h.status)
        self.run_label.setText(f"<b>{run_dir.name}</b> — {h.recipe} — {h.status}")
        if "images" in kinds and h.images:
            pix = QPixmap(str(run_dir / h.images[-1][1]))
            if not pix.isNull():
                self.samples.setPixmap(pix.scaled(400, 400, Qt.AspectRatioMode.KeepAspectRatio))
        if "error" in kinds:
            self.append_log(f"[run error] {h.errors[-1]}")
        if kinds & {"evaluation", "export", "finish"}:
            self.result.show_result(run_dir, h)

    def _on_follow_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run folder (holds metrics.jsonl)")
        if folder:
            self.follow(folder)

    def _on_compare_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run folder to overlay")
        if folder:
            self.overlay(folder)

    def _on_python_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python with TensorFlow (the train extra)", configured_python())
        set_configured_python(path)
        self.show_message(f"Training runs with {path} -m training" if path else
                          "Training runs with pixelpatrol-train from PATH (no Python chosen)")

    # -- running
    def start_run(self, resume: bool = False) -> bool:
        """Start the form's run; `resume`: continue the run in the Output folder with its recorded command.

        Start on a folder that already holds a run asks (`ask_existing_run`) whether to continue it
        or to start in a new folder next to it.
        """
        run_dir = self.form.run_dir()
        if not resume and (run_dir / "config.json").exists():
            choice = self.ask_existing_run(run_dir, read_record(run_dir))
            if choice == "continue":
                resume = True
            elif choice == "new":
                run_dir = next_free_folder(run_dir)
                self.form.out.setText(str(run_dir))
            else:
                self.show_message(f"Not started: {run_dir} already holds a run.")
                return False
        cwd: Path | None = None
        if resume:
            record = read_record(run_dir)
            if record is None:
                problems = [f"{run_dir}: no run to resume there (no config.json with its command)"]
            else:
                if record.status == "completed" and record.epochs and self.form.epochs.value() > record.epochs:
                    record = record.with_epochs(self.form.epochs.value())  # train a finished run for longer
                self.form.show_record(record.recipe, record.args)
                problems = [p for p in (check_data(_in_folder(d, record.cwd)) for d in record.data()) if p]
                args, cwd = record.args, record.cwd
        else:
            problems = self.form.problems()
            args = self.form.arguments()
        if problems:
            self.show_message("Cannot start: " + "; ".join(problems))
            return False
        try:
            command = self.command_override or trainer_command()
        except TrainerUnavailable as exc:
            self.show_message(str(exc))
            return False
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log.clear()
        shown = " ".join(["pixelpatrol-train", *map(shlex.quote, args)])
        self.append_log(f"$ {shown}" + (f"    (in {cwd})" if cwd else ""))
        self.trainer.start(command, args, run_dir, cwd=cwd)
        self.follow(run_dir)
        self._session_note = (f"Resumed {run_dir.name} with its recorded command: {shown}" if resume
                              else f"Started in {run_dir}")
        self.show_message(self._session_note)
        self._set_running(True)
        return True

    def ask_existing_run(self, run_dir: Path, record: RunRecord | None) -> str | None:
        """"continue", "new" (a new folder next to it) or None (cancel). Tests replace this."""
        state = "" if record is None else f" It {record.status}" + (
            f" after {record.epochs_done} of {record.epochs} epochs." if record.epochs else ".")
        box = QMessageBox(QMessageBox.Icon.Question, "This folder holds a run",
                          f"{run_dir} already holds a training run.{state}\n\nContinue it with its recorded "
                          "data and options (raise Epochs to train a finished run for longer), or start "
                          f"this new run in {next_free_folder(run_dir).name}?", parent=self)
        go_on = box.addButton("Continue this run", QMessageBox.ButtonRole.AcceptRole)
        new = box.addButton("New folder", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return {id(go_on): "continue", id(new): "new"}.get(id(box.clickedButton()))

    def stop_run(self) -> None:
        self.trainer.stop()
        self.stop_button.setEnabled(False)
        self.show_message("Stopping after this batch (a checkpoint is saved)…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _on_trainer_finished(self, code: int, text: str) -> None:
        self._set_running(False)
        if self.follower is not None:
            self.follower.poll()  # the last lines, before the label says it ended
        self.show_message(f"Trainer {text}. {self._session_note}")

    def _on_register_requested(self, onnx: str) -> None:
        self.register_model(onnx)

    def register_model(self, onnx: str | Path, name: str | None = None) -> bool:
        """Copy the run's model into the user's models folder under its own (unique) name."""
        from desktop.core.models.detector import ModelError

        try:
            added = self.models.add(Path(onnx), name or None)
        except ModelError as exc:
            QMessageBox.warning(self, "Model not registered", str(exc))
            return False
        note = f" ({added.note})" if added.note else ""
        verb = "Already registered" if added.already else "Registered"
        self.show_message(f"{verb} as '{added.name}' — {added.title}{note}. The Scan menu lists it and "
                          "has it selected; the Models tab shows its card.")
        self.model_registered.emit(str(added.path))
        return True

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def append_log(self, text: str) -> None:
        self.log.appendPlainText(text)

    def shutdown(self) -> None:
        self.trainer.shutdown()
