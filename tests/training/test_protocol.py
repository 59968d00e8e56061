from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from training.runs import EVENTS, PROTOCOL_VERSION, REQUIRED_FIELDS, Protocol, Run, validate_event

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_metrics.jsonl"


def golden_events() -> list[dict]:
    return [json.loads(line) for line in GOLDEN.read_text().splitlines()]


def test_golden_file_is_valid_and_covers_every_event() -> None:
    events = golden_events()
    for record in events:
        validate_event(record)
    assert {r["event"] for r in events} == set(EVENTS)
    assert all(r["v"] == PROTOCOL_VERSION for r in events)


def test_golden_resumed_run_continues_the_epoch_count() -> None:
    events = golden_events()
    starts = [r for r in events if r["event"] == "run_start"]
    assert [s["resumed"] for s in starts] == [False, True]
    assert starts[1]["initial_epoch"] == 1
    assert [r["epoch"] for r in events if r["event"] == "epoch_end"] == [1, 2]


def test_validate_event_rejects_missing_fields_and_bad_status() -> None:
    with pytest.raises(ValueError, match="lacks"):
        validate_event({"v": 1, "event": "batch", "time": 0.0, "epoch": 1})
    with pytest.raises(ValueError, match="status"):
        validate_event({"v": 1, "event": "finish", "time": 0.0, "status": "great", "elapsed_s": 1})
    with pytest.raises(ValueError, match="version"):
        validate_event({"v": 99, "event": "finish", "time": 0.0, "status": "completed", "elapsed_s": 1})


def test_protocol_writes_flushed_lines_to_file_and_stream(tmp_path: Path) -> None:
    stream = io.StringIO()
    p = Protocol(tmp_path / "m.jsonl", stream, batch_interval_s=3600)
    p.emit("export", path="x.onnx", value=float("nan"))
    assert p.batch(epoch=1, step=1, steps=10, metrics={"loss": 1.0})
    assert not p.batch(epoch=1, step=2, steps=10, metrics={"loss": 0.9})  # rate-limited
    assert p.batch(force=True, epoch=1, step=10, steps=10, metrics={"loss": 0.5})
    file_lines = (tmp_path / "m.jsonl").read_text().splitlines()  # readable before close: flushed
    assert file_lines == stream.getvalue().splitlines()
    assert [json.loads(line)["event"] for line in file_lines] == ["export", "batch", "batch"]
    assert json.loads(file_lines[0])["value"] is None  # NaN is not JSON
    p.close()


def test_run_refuses_to_overwrite_and_resume_needs_a_run(tmp_path: Path) -> None:
    Run(tmp_path / "r", "cifake-cnn", {"recipe": "cifake-cnn"})
    with pytest.raises(FileExistsError):
        Run(tmp_path / "r", "cifake-cnn", {"recipe": "cifake-cnn"})
    with pytest.raises(ValueError, match="not 'cifake-patchgan'"):
        Run(tmp_path / "r", "cifake-patchgan", {"recipe": "cifake-patchgan"}, resume=True)
    with pytest.raises(FileNotFoundError):
        Run(tmp_path / "other", "cifake-cnn", {"recipe": "cifake-cnn"}, resume=True)


def test_stop_file_requests_a_stop(tmp_path: Path) -> None:
    run = Run(tmp_path / "r", "x", {"recipe": "x"})
    assert not run.should_stop()
    (run.dir / "STOP").touch()
    assert run.should_stop()


def test_an_epoch_cut_short_by_a_stop_gets_no_epoch_end_event(tmp_path: Path) -> None:
    run = Run(tmp_path / "r", "x", {"recipe": "x"})
    run.start(15, ["loss", "val_loss"])
    for epoch in range(1, 6):
        run.on_batch(epoch, 10, 10, {"loss": 0.5})
        run.on_epoch(epoch, {"loss": 0.5, "val_loss": 0.6})
    run.on_batch(6, 3, 10, {"loss": 0.4})
    (run.dir / "STOP").touch()
    assert run.should_stop()
    run.on_epoch(6, {"loss": 0.4, "val_loss": 0.9})  # Keras validates the part-epoch after a stop
    run.finish("stopped", epochs=15, epochs_done=5)
    events = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [1, 2, 3, 4, 5]


def test_every_required_field_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics-protocol.md").read_text()
    for event, fields in REQUIRED_FIELDS.items():
        assert f"`{event}`" in doc
        for f in fields:
            assert f"`{f}`" in doc, (event, f)


def test_sigterm_requests_a_stop_instead_of_killing(tmp_path: Path) -> None:
    import os
    import signal

    run = Run(tmp_path / "r", "x", {"recipe": "x"})
    run.start(1, ["loss"])
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert run.should_stop()
    finally:
        run.finish("stopped")
    lines = [json.loads(x) for x in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["event"] for e in lines] == ["run_start", "finish"]
