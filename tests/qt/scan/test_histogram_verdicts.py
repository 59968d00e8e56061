"""The score histogram stacks each bin by the verdicts the table shows, so an Automatic scan (rows from two
models whose bands differ) is drawn as labelled, never in one model's bands."""

from __future__ import annotations

from typing import Any

import numpy as np

from desktop.core.scan.events import ScanRow
from desktop.qt.scan.results.results_panel import ResultsPanelWidget
from desktop.qt.scan.results.results_summary import BINS
from desktop.qt.scan.thumbnails import ThumbnailLoader


def _row(name: str, score: float, verdict: str, model: str) -> ScanRow:
    return ScanRow(f"/photos/{name}.jpg", score, verdict, 640, 480, "JPEG", 1000, 0, None, model=model)


def test_bars_stack_the_rows_own_verdicts_when_two_models_label_one_score_differently(qtbot: Any) -> None:
    panel = ResultsPanelWidget(ThumbnailLoader())
    qtbot.addWidget(panel)
    # the same score 0.62: "ai" for a small model with a low AI band, "likely_real" for a photo model
    panel.model.append_rows([
        _row("thumb", 0.62, "ai", "cifake-cnn"),
        _row("photo", 0.62, "likely_real", "realworld-detector"),
        _row("other", 0.10, "real", "realworld-detector"),
    ])
    panel.refresh_summary()
    hist = panel.histogram
    b = min(int(0.62 * BINS), BINS - 1)
    assert hist.stacks["ai"][b] == 1 and hist.stacks["likely_real"][b] == 1
    assert hist.stacks["real"][min(int(0.10 * BINS), BINS - 1)] == 1
    assert int(hist.counts.sum()) == 3 and hist.counts[b] == 2
    assert all(int(np.sum(hist.stacks[v])) == 0 for v in ("uncertain", "likely_ai"))
    # a filter to flagged rows: the histogram follows what is shown
    panel.proxy.set_verdicts({"ai", "likely_ai"})
    panel.refresh_summary()
    assert int(hist.counts.sum()) == 1 and hist.stacks["ai"][b] == 1 and hist.stacks["likely_real"][b] == 0


def test_bars_follow_a_relabel_and_more_rows(qtbot: Any) -> None:
    panel = ResultsPanelWidget(ThumbnailLoader())
    qtbot.addWidget(panel)
    panel.model.append_rows([_row("a", 0.62, "ai", "cifake-cnn"), _row("b", 0.10, "real", "realworld-detector")])
    panel.set_labeller(lambda row: "likely_ai" if row.score > 0.5 else "likely_real", 0.5)
    hist = panel.histogram
    b, r = min(int(0.62 * BINS), BINS - 1), min(int(0.10 * BINS), BINS - 1)
    assert hist.stacks["likely_ai"][b] == 1 and hist.stacks["likely_real"][r] == 1
    assert int(hist.stacks["ai"].sum()) == 0 and int(hist.stacks["real"].sum()) == 0
    panel.model.append_rows([_row("c", 0.63, "ai", "cifake-cnn")])  # labelled by the labeller as it arrives
    panel.refresh_summary()
    assert hist.stacks["likely_ai"][b] == 2 and int(hist.counts.sum()) == 3
