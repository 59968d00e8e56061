"""The trainer as a child process (QProcess): stdout is the metrics protocol, stderr the human log.

Which trainer runs: a Python environment chosen in settings (``python -m training``), else
``pixelpatrol-train`` on PATH, else this interpreter when it has TensorFlow. The packaged app has
none of these, so it says how to get one instead of failing.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from desktop.core.run_follow import parse_line, request_stop
from desktop.qt.common.settings import open_settings

PYTHON_KEY = "training/python"
HOW_TO_GET = (
    "Training needs TensorFlow, which the app does not ship. Install it next to the app with "
    '`pip install -e ".[train]"` (in a checkout), or choose a Python that has the train extra '
    "in Training → Python environment."
)
SIGINT_AFTER_MS = 20_000  # a trainer that has not noticed the STOP file by then gets SIGINT
# TensorFlow's start-up chatter on stderr: C++ log lines (absl "I0000 00:00:..." or the older
# "2024-05-01 12:00:00.0: I file.cc:12]" form) from its CUDA probing and CPU feature checks. On a
# machine without a GPU they were most of the log pane; one line says what they meant instead.
_TF_LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: [IWEF] )\S+\.cc:\d+\] ")
_TF_NOISE = re.compile(
    r"cudart_stub|cuda_platform|cuda_driver|cuda_diagnostics|cuda_dnn|cuda_fft|cuda_blas|cuda_executor|"
    r"gpu_device|port\.cc|cpu_feature_guard|py_utils\.cc|TF-TRT|TensorRT|Unable to register cu"
)
_TF_PLAIN_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions:",
)
_TF_NO_GPU = re.compile(r"Could not find cuda drivers|cuInit|Cannot dlopen some GPU libraries|no GPU", re.I)
NO_GPU_NOTE = ("TensorFlow found no usable GPU here and trains on the CPU "
               "(its CUDA probe messages are left out of this log).")


def tensorflow_noise(line: str) -> str | None:
    """"no-gpu" or "noise" for a TensorFlow start-up line the log pane leaves out; None for a real line."""
    if line.startswith(_TF_PLAIN_NOISE):
        return "noise"
    if _TF_LOG_LINE.match(line) and _TF_NOISE.search(line):
        return "no-gpu" if _TF_NO_GPU.search(line) else "noise"
    return None


class TrainerUnavailable(Exception):
    pass


def configured_python() -> str:
    return str(open_settings().value(PYTHON_KEY, "") or "")


def set_configured_python(path: str) -> None:
    store = open_settings()
    store.setValue(PYTHON_KEY, path)
    store.sync()


def trainer_command() -> list[str]:
    """The argv prefix that runs the trainer; TrainerUnavailable says how to get one."""
    python = configured_python()
    if python:
        if not (Path(python).is_file() and os.access(python, os.X_OK)):
            raise TrainerUnavailable(f"the Python chosen for training ({python}) is not an executable. {HOW_TO_GET}")
        return [python, "-m", "training"]
    exe = shutil.which("pixelpatrol-train")
    if exe:
        return [exe]
    if importlib.util.find_spec("tensorflow") is not None and importlib.util.find_spec("training") is not None:
        return [sys.executable, "-m", "training"]
    raise TrainerUnavailable(HOW_TO_GET)


class TrainerProcess(QObject):
    event_received = Signal(dict)  # one protocol event from stdout
    log_line = Signal(str)  # one line of stderr (or a protocol problem)
    finished = Signal(int, str)  # exit code, one-line summary

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.process.readyReadStandardOutput.connect(self._on_process_stdout)
        self.process.readyReadStandardError.connect(self._on_process_stderr)
        self.process.finished.connect(self._on_process_finished)
        self.process.errorOccurred.connect(self._on_process_error)
        self.run_dir: Path | None = None
        self._out = b""
        self._err = b""
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.timeout.connect(self._send_sigint)
        self.stop_requested = False
        self._said_no_gpu = False

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, command: list[str], args: list[str], run_dir: str | Path, cwd: str | Path | None = None) -> None:
        """`cwd`: the folder to run in (a resumed run's own, for its relative paths); None: the app's."""
        if self.is_running():
            raise RuntimeError("a training run is already going; stop it first")
        self.process.setWorkingDirectory(str(cwd) if cwd else "")
        self.run_dir = Path(run_dir)
        self.stop_requested = False
        self._out = self._err = b""
        self._said_no_gpu = False
        env = self.process.processEnvironment()
        if env.isEmpty():
            from PySide6.QtCore import QProcessEnvironment

            env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.start(command[0], [*command[1:], *args])

    def stop(self) -> None:
        """Clean stop: the STOP file (the trainer saves a checkpoint and exits), then SIGINT if ignored."""
        if not self.is_running() or self.run_dir is None:
            return
        self.stop_requested = True
        try:
            request_stop(self.run_dir)
        except OSError as exc:
            self.log_line.emit(f"could not write the STOP file ({exc}); sending SIGINT")
            self._send_sigint()
            return
        self._stop_timer.start(SIGINT_AFTER_MS)

    def _send_sigint(self) -> None:
        pid = int(self.process.processId())
        if pid > 0 and self.is_running():
            if os.name == "nt":
                self.process.terminate()
            else:
                os.kill(pid, signal.SIGINT)

    def _on_process_stdout(self) -> None:
        self._out += bytes(self.process.readAllStandardOutput().data())
        *lines, self._out = self._out.split(b"\n")
        for raw in lines:
            if not raw.strip():
                continue
            try:
                self.event_received.emit(parse_line(raw.decode("utf-8", "replace")))
            except ValueError as exc:
                self.log_line.emit(f"[not protocol] {exc}: {raw[:200].decode('utf-8', 'replace')}")

    def _on_process_stderr(self) -> None:
        self._err += bytes(self.process.readAllStandardError().data())
        *lines, self._err = self._err.replace(b"\r", b"\n").split(b"\n")
        for raw in lines:
            if raw.strip():
                self._emit_log(raw.decode("utf-8", "replace"))

    def _emit_log(self, line: str) -> None:
        noise = tensorflow_noise(line)
        if noise == "no-gpu" and not self._said_no_gpu:
            self._said_no_gpu = True
            self.log_line.emit(NO_GPU_NOTE)
        if noise is None:
            self.log_line.emit(line)

    def _on_process_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._stop_timer.stop()
        self._on_process_stdout()
        if self._err.strip():
            self._emit_log(self._err.decode("utf-8", "replace"))
            self._err = b""
        if status == QProcess.ExitStatus.CrashExit:
            text = "the trainer crashed"
        else:
            text = {0: "finished", 3: "stopped; Resume continues from the last checkpoint",
                    2: "bad arguments (see the log)"}.get(code, f"failed with exit code {code} (see the log)")
        self.finished.emit(int(code), text)

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.finished.emit(-1, f"could not start the trainer ({self.process.errorString()}). {HOW_TO_GET}")

    def shutdown(self) -> None:
        if self.is_running():
            self.stop()
            if not self.process.waitForFinished(5000):
                self._send_sigint()
                self.process.waitForFinished(5000)
