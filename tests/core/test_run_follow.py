"""desktop.core.run_follow without Qt: partial lines, replaced files, arrays that grow by doubling."""

from __future__ import annotations

from pathlib import Path

from desktop.core.run_follow import GrowingSeries, MetricsReader, RunHistory

LINE = '{"v":1,"event":"batch","epoch":1,"step":%d,"steps":1000,"metrics":{"loss":%f}}\n'


def test_series_grow_by_doubling_and_views_track_the_data() -> None:
    s = GrowingSeries(capacity=4)
    capacities = set()
    for i in range(1000):
        s.append(i, 2 * i)
        capacities.add(s.capacity)
    assert sorted(capacities) == [4 * 2**k for k in range(9)]
    assert s.size == 1000 and s.x[-1] == 999 and s.y[-1] == 1998
    s.truncate_after(499.5)
    assert s.size == 500


def test_reader_holds_a_partial_line_and_starts_over_when_the_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    assert reader.read_new() == ([], [])  # not there yet
    path.write_text(LINE % (1, 0.5) + (LINE % (2, 0.4))[:20])
    events, problems = reader.read_new()
    assert [e["step"] for e in events] == [1] and problems == [] and reader.waiting_partial
    with path.open("a") as fh:
        fh.write((LINE % (2, 0.4))[20:])
    assert [e["step"] for e in reader.read_new()[0]] == [2]
    path.unlink()
    path.write_text(LINE % (7, 0.1))  # a new run in the same folder
    assert [e["step"] for e in reader.read_new()[0]] == [7]


def test_history_keeps_a_thousand_batches_without_losing_any(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(LINE % (i, 1 / i) for i in range(1, 1001)))
    history = RunHistory()
    history.apply(MetricsReader(path).read_new()[0])
    assert history.batch["loss"].size == 1000
    assert history.progress.step == 1000


def test_reading_in_slices_loses_no_line_and_says_when_it_is_behind(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(LINE % (i, 1 / i) for i in range(1, 501)))
    reader = MetricsReader(path)
    steps: list[int] = []
    calls = 0
    while True:
        events, problems = reader.read_new(max_bytes=1000)
        assert problems == []
        steps += [e["step"] for e in events]
        calls += 1
        if not reader.behind:
            break
    assert steps == list(range(1, 501)) and calls > 10


def test_a_resume_with_nothing_left_to_train_stays_at_the_last_epoch_and_ends_completed() -> None:
    history = RunHistory()
    history.apply([
        {"v": 1, "event": "run_start", "time": 1.0, "epochs": 5, "initial_epoch": 0},
        {"v": 1, "event": "epoch_end", "time": 2.0, "epoch": 5, "epochs": 5, "metrics": {"loss": 0.1}},
        {"v": 1, "event": "finish", "time": 3.0, "status": "completed"},
        {"v": 1, "event": "run_start", "time": 4.0, "epochs": 5, "initial_epoch": 5, "resumed": True},
    ])
    assert history.status == "running" and (history.progress.epoch, history.progress.epochs) == (5, 5)
    history.apply([{"v": 1, "event": "finish", "time": 5.0, "status": "completed"}])
    assert history.status == "completed" and history.epoch["loss"].size == 1
