"""What a run folder recorded about how it was started, so Resume can continue it as it was begun.

Qt-free. A run folder holds `config.json` (`command`, `args`, `cwd`: written by `pixelpatrol-train`)
and `metrics.jsonl`, whose `finish` event of a stopped run says `resume_with` (the command that
continues it). Resume runs that command (its data, epochs, batch size and options), in the folder it
was started from (relative paths), with `--out` pointing at the run folder where it is now.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.run_follow import RunHistory, read_history
from spec.metrics import METRICS_FILE

PROGRAM = "pixelpatrol-train"


@dataclass(frozen=True)
class RunRecord:
    """A run folder's recorded start: the trainer arguments that continue it, and where to run them."""

    run_dir: Path
    recipe: str
    args: list[str]  # trainer arguments after the program: RECIPE ... --out RUN_DIR --resume
    cwd: Path | None  # the folder the run was started in (relative --data paths), when known
    status: str  # the last session's end: completed | stopped | failed | running | unknown
    epochs: int | None  # the epochs it was asked for
    epochs_done: int | None
    source: str  # where the command came from: "resume_with" | "config command" | "config args"

    @property
    def command(self) -> str:
        return " ".join([PROGRAM, *(shlex.quote(a) for a in self.args)])

    def data(self) -> list[str]:
        return [self.args[i + 1] for i, a in enumerate(self.args[:-1]) if a == "--data"]

    def with_epochs(self, epochs: int) -> RunRecord:
        """The same command asking for `epochs` (a finished run trained on for longer)."""
        args = _without(self.args, "--epochs")
        return RunRecord(self.run_dir, self.recipe, [*args, "--epochs", str(epochs)], self.cwd, self.status,
                         epochs, self.epochs_done, self.source)


def _without(args: list[str], option: str) -> list[str]:
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == option:
            skip = True
            continue
        if a.startswith(option + "="):
            continue
        out.append(a)
    return out


def _value(args: list[str], option: str) -> str | None:
    found = None
    for i, a in enumerate(args):
        if a == option and i + 1 < len(args):
            found = args[i + 1]
        elif a.startswith(option + "="):
            found = a.split("=", 1)[1]
    return found


def _args_from_config(args: dict[str, Any]) -> list[str]:
    out = [str(args["recipe"])]
    for entry in args.get("data") or []:
        out += ["--data", str(entry)]
    for key in ("epochs", "batch_size", "lr", "limit", "seed", "time_limit_min", "threads"):
        if args.get(key) is not None:
            out += ["--" + key.replace("_", "-"), str(args[key])]
    for pair in args.get("set") or []:
        out += ["--set", str(pair)]
    if args.get("tune"):
        out.append("--tune")
    return out


def _split_command(command: str) -> list[str]:
    words = shlex.split(command)
    if words and Path(words[0]).name.startswith(PROGRAM):
        words = words[1:]
    elif len(words) > 2 and words[1:3] == ["-m", "training"]:
        words = words[3:]
    return words


def read_record(run_dir: str | Path) -> RunRecord | None:
    """The recorded command of the run in `run_dir`, or None when the folder holds no run."""
    run_dir = Path(run_dir).expanduser()
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        return None
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    history, _ = read_history(run_dir / METRICS_FILE)
    finish = _last_finish(run_dir / METRICS_FILE)
    args: list[str] = []
    source = ""
    if finish is not None and isinstance(finish.get("resume_with"), str):
        args, source = _split_command(finish["resume_with"]), "resume_with"
    elif isinstance(config.get("command"), str):
        args, source = _split_command(config["command"]), "config command"
    elif isinstance(config.get("args"), dict) and config["args"].get("recipe"):
        args, source = _args_from_config(config["args"]), "config args"
    if not args:
        return None
    args = [*_without(_without(args, "--out"), "--resume"), "--out", str(run_dir), "--resume"]
    cwd_text = config.get("cwd")
    cwd = Path(cwd_text) if isinstance(cwd_text, str) and Path(cwd_text).is_dir() else None
    epochs_text = _value(args, "--epochs")
    epochs = int(epochs_text) if epochs_text and epochs_text.isdigit() else (history.progress.epochs or None)
    done = finish.get("epochs_done") if finish is not None else None
    if not isinstance(done, int):
        done = max((int(s.x[-1]) for s in history.epoch.values() if s.size), default=None)
    status = history.status if history.status != "waiting" else "unknown"
    return RunRecord(run_dir, str(config.get("recipe") or args[0]), args, cwd, status, epochs, done, source)


def _last_finish(path: Path) -> dict[str, Any] | None:
    """The last `finish` event of the metrics file (a resumed run has one per session)."""
    last = None
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"finish"' not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("event") == "finish":
                    last = event
    except OSError:
        return None
    return last


def epochs_done(run_dir: Path, history: RunHistory) -> int:
    """Whole epochs a run has done: its last `finish` says (`epochs_done`), else its last `epoch_end`."""
    finish = _last_finish(Path(run_dir) / METRICS_FILE)
    done = finish.get("epochs_done") if finish is not None else None
    if isinstance(done, int) and not isinstance(done, bool):
        return done
    return max((int(s.x[-1]) for s in history.epoch.values() if s.size), default=int(history.progress.start_position))


def next_free_folder(run_dir: Path) -> Path:
    """`run_dir` with -2, -3, ... appended: the first one that holds no run."""
    n = 2
    while (candidate := run_dir.with_name(f"{run_dir.name}-{n}")).exists():
        n += 1
    return candidate
