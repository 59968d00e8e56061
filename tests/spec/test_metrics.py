"""The metrics stream in spec/metrics.py: what the trainer writes is what the app reads."""

from __future__ import annotations

import json
from pathlib import Path

from spec.metrics import EVENTS, METRICS_FILE, PROTOCOL_VERSION, REQUIRED_FIELDS


def test_every_event_the_trainer_may_write_is_one_the_app_reads(tmp_path: Path) -> None:
    from desktop.core.run_follow import MetricsReader
    from training.runs import Protocol

    protocol = Protocol(tmp_path / METRICS_FILE)
    for event in EVENTS:
        fields = {name: {} if name == "metrics" else 1 for name in REQUIRED_FIELDS[event]}
        if event == "finish":
            fields["status"] = "completed"
        protocol.emit(event, **fields)
    protocol.close()

    events, problems = MetricsReader(tmp_path / METRICS_FILE).read_new()
    assert problems == []
    assert [e["event"] for e in events] == list(EVENTS)


def test_the_app_skips_an_event_or_version_outside_the_spec(tmp_path: Path) -> None:
    from desktop.core.run_follow import MetricsReader

    lines = [{"v": PROTOCOL_VERSION, "event": "checkpoint", "time": 1.0},
             {"v": PROTOCOL_VERSION + 1, "event": "batch", "time": 1.0}]
    (tmp_path / METRICS_FILE).write_text("".join(json.dumps(x) + "\n" for x in lines))
    events, problems = MetricsReader(tmp_path / METRICS_FILE).read_new()
    assert events == [] and len(problems) == 2
    assert "unknown event 'checkpoint'" in problems[0].reason
