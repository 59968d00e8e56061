"""The Training tab follows a growing metrics.jsonl, runs and stops a trainer process, reports bad lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from desktop.qt.training import trainer_process
from desktop.qt.training.metrics_follower import MetricsFollower
from desktop.qt.training.training_page import TrainingPage

HERE = Path(__file__).parent
GOLDEN = HERE.parents[1] / "data" / "golden_metrics.jsonl"


def _page(qtbot: Any) -> TrainingPage:
    page = TrainingPage()
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


def test_following_a_run_written_line_by_line_updates_the_curves(qtbot: Any, tmp_path: Path) -> None:
    run = tmp_path / "patchgan-demo"
    page = _page(qtbot)
    follower = page.follow(run)  # before the file exists, as when following a run about to start
    writer = subprocess.Popen([sys.executable, str(HERE / "replay_metrics.py"), str(GOLDEN), str(run), "0.04"])
    try:
        qtbot.waitUntil(lambda: follower.history.status not in ("waiting",), timeout=10_000)
        qtbot.waitUntil(lambda: follower.history.status == "completed", timeout=20_000)
    finally:
        writer.wait(timeout=30)
    history = follower.history
    assert history.events_seen == len(GOLDEN.read_text().splitlines())
    assert follower.problems == []
    # the resumed session replaced epoch 2's points: 2 batch points of epoch 1, 1 of epoch 2
    assert list(history.batch["loss"].x) == [0.25, 1.0, 2.0]
    assert list(history.epoch["val_loss"].x) == [1.0, 2.0]
    def val_points() -> int:
        curve = page.curves.curves.get(("patchgan-demo", "epoch", "val_loss"))
        return 0 if curve is None or curve.xData is None else len(curve.xData)

    qtbot.waitUntil(lambda: val_points() == 2, timeout=2000)
    qtbot.waitUntil(lambda: list(page.curves.curves[("patchgan-demo", "batch", "loss")].xData) == [0.25, 1.0, 2.0],
                    timeout=2000)
    assert "completed" in page.run_label.text()
    assert page.result.isVisible()
    assert "roc_auc 0.6188" in page.result.summary.text()
    assert "balanced_accuracy 59.73 %" in page.result.summary.text()
    assert "decision 0.503" in page.result.summary.text()
    assert "[run error] MemoryError" in page.log.toPlainText()


def test_malformed_metrics_line_is_skipped_and_reported(qtbot: Any, tmp_path: Path) -> None:
    good = '{"v":1,"event":"batch","epoch":1,"step":1,"steps":2,"metrics":{"loss":0.9}}\n'
    (tmp_path / "metrics.jsonl").write_text(good + "{this is not json\n" + '{"v":7,"event":"batch"}\n' + good[:30])
    follower = MetricsFollower(tmp_path, poll_ms=20)
    reported: list[str] = []
    follower.problem_found.connect(reported.append)
    follower.start()
    assert reported[0].startswith("metrics.jsonl line 2: not JSON")
    assert "line 3: protocol version 7" in reported[1]
    assert len(reported) == 2  # the partial last line is held back, not reported
    assert follower.history.batch["loss"].size == 1
    with (tmp_path / "metrics.jsonl").open("a") as fh:
        fh.write(good[30:])
    with qtbot.waitSignal(follower.events_read, timeout=2000):
        pass
    assert follower.history.batch["loss"].size == 2
    follower.stop()


def _data_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(data / "a.png")
    return data


def _fake_page(qtbot: Any, tmp_path: Path, epochs: int) -> TrainingPage:
    page = _page(qtbot)
    page.command_override = [sys.executable, str(HERE / "fake_trainer.py")]
    page.form.add_data(str(_data_folder(tmp_path)))
    page.form.out.setText(str(tmp_path / "run"))
    page.form.epochs.setValue(epochs)
    page.form.batch_size.setValue(16)
    return page


def test_stop_is_clean_and_resume_from_the_window_continues_with_the_recorded_data_and_options(
        qtbot: Any, tmp_path: Path) -> None:
    page = _fake_page(qtbot, tmp_path, epochs=3)
    assert page.start_run()
    assert page.follower is not None
    follower = page.follower
    qtbot.waitUntil(lambda: "loss" in follower.history.batch and follower.history.batch["loss"].size >= 3,
                    timeout=20_000)
    assert page.stop_button.isEnabled() and not page.start_button.isEnabled()
    with qtbot.waitSignal(page.trainer.finished, timeout=20_000) as finished:
        page.stop_button.click()
    assert finished.args[0] == 3
    assert (tmp_path / "run" / "STOP").exists()
    qtbot.waitUntil(lambda: follower.history.status == "stopped", timeout=5000)
    assert "stopped" in page.message.text()
    assert "fake trainer: noise-discriminator" in page.log.toPlainText()  # stderr went to the log pane
    assert page.start_button.isEnabled()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["event"] == "finish"
    # Resume from a fresh form (as after a restart): the run's own command supplies data and options.
    page.form.data.clear()
    page.form.epochs.setValue(1)
    page.form.batch_size.setValue(128)
    with qtbot.waitSignal(page.trainer.finished, timeout=30_000) as finished:
        assert page.start_run(resume=True)
    assert "with its recorded command: pixelpatrol-train noise-discriminator --data" in page.message.text()
    assert finished.args[0] == 0, page.log.toPlainText()
    assert f"on [{str(tmp_path / 'data')!r}] for 3 epochs" in page.log.toPlainText()
    assert page.form.data.count() == 1 and page.form.epochs.value() == 3 and page.form.batch_size.value() == 16
    resumed = page.follower
    assert resumed is not None
    starts = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
              if '"run_start"' in x]
    assert [s["resumed"] for s in starts] == [False, True]
    qtbot.waitUntil(lambda: resumed.history.status == "completed", timeout=5000)


def test_start_on_a_folder_holding_a_finished_run_offers_continue_or_a_new_folder(
        qtbot: Any, tmp_path: Path) -> None:
    page = _fake_page(qtbot, tmp_path, epochs=1)
    with qtbot.waitSignal(page.trainer.finished, timeout=30_000):
        assert page.start_run()
    asked: list[Any] = []
    page.ask_existing_run = lambda run_dir, record: asked.append((run_dir, record)) or None  # type: ignore[method-assign]
    assert not page.start_run()  # cancelled: nothing started, and said so
    assert "already holds a run" in page.message.text() and not page.trainer.is_running()
    run_dir, record = asked[-1]
    assert run_dir == tmp_path / "run" and record.status == "completed" and record.epochs == 1
    page.ask_existing_run = lambda run_dir, record: "new"  # type: ignore[method-assign]
    with qtbot.waitSignal(page.trainer.finished, timeout=30_000) as finished:
        assert page.start_run()
    assert finished.args[0] == 0 and (tmp_path / "run-2" / "metrics.jsonl").exists()
    assert page.form.out.text() == str(tmp_path / "run-2")
    # "continue" on a finished run with more epochs asked for trains it on with its recorded data
    page.form.out.setText(str(tmp_path / "run"))
    page.form.epochs.setValue(2)
    page.ask_existing_run = lambda run_dir, record: "continue"  # type: ignore[method-assign]
    with qtbot.waitSignal(page.trainer.finished, timeout=30_000) as finished:
        assert page.start_run()
    assert finished.args[0] == 0
    assert "Resumed run with its recorded command" in page.message.text() and "--epochs 2" in page.message.text()
    epochs = [json.loads(x)["epoch"] for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
              if '"epoch_end"' in x]
    assert epochs == [1, 2]


def test_overlaying_a_second_run_adds_its_curves_next_to_the_followed_one(qtbot: Any, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "metrics.jsonl").write_text(GOLDEN.read_text())
    page = _page(qtbot)
    page.follow(tmp_path / "main")
    (tmp_path / "main").mkdir()
    (tmp_path / "main" / "metrics.jsonl").write_text(GOLDEN.read_text())
    page.overlay(tmp_path / "other")
    qtbot.waitUntil(lambda: ("other", "batch", "loss") in page.curves.curves, timeout=3000)
    qtbot.waitUntil(lambda: ("main", "batch", "loss") in page.curves.curves, timeout=3000)
    assert page.curves.curves[("other", "batch", "loss")].name() == "other: loss"
    assert list(page.curves.curves[("other", "epoch", "val_loss")].xData) == [1.0, 2.0]


def test_start_is_refused_with_reasons_before_any_process(qtbot: Any, tmp_path: Path) -> None:
    page = _page(qtbot)
    page.form.add_data(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    page.form.add_data(str(empty))
    assert not page.start_run()
    assert "missing: does not exist" in page.message.text()
    assert "no images found" in page.message.text()
    assert not page.trainer.is_running()


def test_no_tensorflow_env_says_how_to_get_one(qtbot: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(data / "a.png")
    trainer_process.set_configured_python(str(tmp_path / "no-such-python"))
    page = _page(qtbot)
    page.form.add_data(str(data))
    assert not page.start_run()
    assert 'pip install -e ".[train]"' in page.message.text()
    assert not page.trainer.is_running()


def test_a_long_metrics_file_is_caught_up_in_slices(qtbot: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from desktop.qt.training import metrics_follower

    monkeypatch.setattr(metrics_follower, "SLICE_BYTES", 4096)
    line = '{"v":1,"event":"batch","epoch":1,"step":%d,"steps":3000,"metrics":{"loss":0.5}}\n'
    (tmp_path / "metrics.jsonl").write_text("".join(line % i for i in range(1, 3001)))
    follower = MetricsFollower(tmp_path)
    reads: list[set[str]] = []
    follower.events_read.connect(reads.append)
    follower.start()
    assert follower.history.batch["loss"].size < 3000  # the first slice only
    qtbot.waitUntil(lambda: follower.history.batch["loss"].size == 3000, timeout=10_000)
    assert len(reads) > 10
    follower.stop()


def test_a_moved_run_started_from_a_terminal_resumes_with_its_relative_paths_from_its_own_folder(
        tmp_path: Path) -> None:
    from desktop.qt.training.run_record import read_record

    started_in = tmp_path / "project"
    (started_in / "photos").mkdir(parents=True)
    moved = tmp_path / "elsewhere" / "newsroom"
    moved.mkdir(parents=True)
    command = "pixelpatrol-train cifake-cnn --data real=photos --data fake=ai.zip --out runs/newsroom --epochs 9"
    (moved / "config.json").write_text(json.dumps({"recipe": "cifake-cnn", "command": command,
                                                   "cwd": str(started_in)}))
    finish = {"v": 1, "event": "finish", "time": 1.0, "status": "stopped", "elapsed_s": 1.0, "epochs": 9,
              "epochs_done": 4, "resume_with": command + " --resume"}
    (moved / "metrics.jsonl").write_text(json.dumps(finish) + "\n")
    record = read_record(moved)
    assert record is not None and record.source == "resume_with"
    assert record.args == ["cifake-cnn", "--data", "real=photos", "--data", "fake=ai.zip", "--epochs", "9",
                           "--out", str(moved), "--resume"]
    assert record.cwd == started_in and record.status == "stopped"
    assert (record.epochs, record.epochs_done) == (9, 4)
    assert record.with_epochs(12).args[-2:] == ["--epochs", "12"]


TF_NOISE = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796399641.086924   12647 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors.
I0000 00:00:1796399641.087281   12647 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
I0000 00:00:1796399641.149343   12647 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1796399645.091006   12647 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
2024-05-01 12:00:00.000000: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered
2024-05-01 12:00:00.000000: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT Warning: Could not find TensorRT
12:00:01 training.detector.ship: train 320 / validation 80 samples
E0000 00:00:1796399645.091006   12647 some_op.cc:52] a real TensorFlow error stays visible
"""


def test_tensorflow_cuda_noise_is_left_out_of_the_log_pane_with_one_line_saying_so(
        qtbot: Any, tmp_path: Path) -> None:
    page = _page(qtbot)
    script = f"import sys; sys.stderr.write({TF_NOISE!r})"
    with qtbot.waitSignal(page.trainer.finished, timeout=20_000):
        page.trainer.start([sys.executable, "-c", script], [], tmp_path)
    assert page.log.toPlainText().splitlines() == [
        trainer_process.NO_GPU_NOTE,
        "12:00:01 training.detector.ship: train 320 / validation 80 samples",
        "E0000 00:00:1796399645.091006   12647 some_op.cc:52] a real TensorFlow error stays visible",
    ]


def test_a_stopped_run_says_the_epochs_it_finished_not_the_one_it_was_in(qtbot: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    lines = [{"event": "run_start", "recipe": "cifake-cnn", "run_dir": str(run), "epochs": 15, "initial_epoch": 0,
              "resumed": False, "metrics": ["loss"], "steps_per_epoch": 10}]
    for epoch in range(1, 6):
        lines += [{"event": "batch", "epoch": epoch, "step": 10, "steps": 10, "metrics": {"loss": 0.5}},
                  {"event": "epoch_end", "epoch": epoch, "epochs": 15, "metrics": {"val_loss": 0.6}, "elapsed_s": 1}]
    lines += [{"event": "batch", "epoch": 6, "step": 3, "steps": 10, "metrics": {"loss": 0.4}},
              {"event": "finish", "status": "stopped", "elapsed_s": 9, "epochs": 15, "epochs_done": 5,
               "resume_with": "pixelpatrol-train cifake-cnn --data x --out run --resume"}]
    (run / "metrics.jsonl").write_text("".join(json.dumps({"v": 1, "time": 1.0, **e}) + "\n" for e in lines))
    page = _page(qtbot)
    follower = page.follow(run)
    qtbot.waitUntil(lambda: follower.history.status == "stopped", timeout=5000)
    assert page.progress.format() == "stopped after 5 of 15 epochs"  # the log says "stopped after 5 epoch(s)"
    assert page.progress.value() == 33


def test_the_result_says_how_many_validation_images_the_thresholds_rest_on(qtbot: Any, tmp_path: Path) -> None:
    basis = "wide default bands around the decision threshold 0.035 (best balanced accuracy): only 32 validation images"
    events = [{"event": "evaluation", "split": "validation", "metrics": {"roc_auc": 1.0},
               "thresholds": {"real": 0.004, "likely_real": 0.021, "decision": 0.035, "likely_ai": 0.421, "ai": 0.904},
               "thresholds_from": basis},
              {"event": "finish", "status": "completed", "elapsed_s": 1}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"v": 1, "time": 1.0, **e}) + "\n" for e in events))
    page = _page(qtbot)
    follower = page.follow(tmp_path)
    qtbot.waitUntil(lambda: follower.history.status == "completed", timeout=5000)
    assert f"decision 0.035, likely_ai 0.421, ai 0.904 ({basis})" in page.result.summary.text()
