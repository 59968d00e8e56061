"""Live training curves (pyqtgraph): each curve is created once and fed with ``setData`` from a
≤10 Hz timer; the data are views of arrays that grow by doubling (desktop.core.run_follow)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.core.run_follow import GrowingSeries, RunHistory

REDRAW_MS = 100  # 10 Hz at most, however fast the events come
PLOTS = (
    ("loss", "Loss"),
    ("quality", "Accuracy / AUC"),
    ("pr", "Precision / recall"),
    ("gan", "D(x) vs D(G(z))"),
)
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def plot_for(metric: str) -> str | None:
    """Which plot a metric belongs on (None: not plotted, e.g. the learning rate)."""
    name = metric.removeprefix("val_")
    if name in ("d_real", "d_fake"):
        return "gan"
    if "loss" in name:
        return "loss"
    if "precision" in name or "recall" in name:
        return "pr"
    if any(k in name for k in ("accuracy", "auc", "f1")):
        return "quality"
    return None


class CurvesWidget(QWidget):
    """Plots one followed run plus any runs overlaid for comparison (dotted, named by run)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        layout.addWidget(self.canvas)
        self.plots: dict[str, Any] = {}  # made when their first curve is, so a GAN shows no empty accuracy plot
        self.curves: dict[tuple[str, str, str], Any] = {}  # (run label, table, metric) -> PlotDataItem
        self._runs: dict[str, tuple[RunHistory, bool]] = {}  # label -> (history, is the main run)
        self._dirty = False
        self.redraws = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def set_run(self, label: str, history: RunHistory, overlay: bool = False) -> None:
        if not overlay:
            for old, (_h, main) in list(self._runs.items()):
                if main:
                    self.remove_run(old)
        self._runs[label] = (history, not overlay)
        self.mark_dirty()

    def remove_run(self, label: str) -> None:
        self._runs.pop(label, None)
        for key in [k for k in self.curves if k[0] == label]:
            curve = self.curves.pop(key)
            self.plots[plot_for(key[2]) or "loss"].removeItem(curve)
        if not self.curves:
            self.canvas.clear()
            self.plots.clear()

    def clear(self) -> None:
        for label in list(self._runs):
            self.remove_run(label)

    def mark_dirty(self) -> None:
        self._dirty = True

    def _on_timer_timeout(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        for label, (history, main) in self._runs.items():
            shown_batch = set(history.batch)
            for metric, series in history.batch.items():
                self._draw(label, main, "batch", metric, series)
            for metric, series in history.epoch.items():
                if metric not in shown_batch:  # train metrics at epoch end repeat the last batch
                    self._draw(label, main, "epoch", metric, series)

    def _draw(self, label: str, main: bool, table: str, metric: str, series: GrowingSeries) -> None:
        where = plot_for(metric)
        if where is None:
            return
        key = (label, table, metric)
        curve = self.curves.get(key)
        if curve is None:
            curve = self._new_curve(where, label, main, table, metric)
            self.curves[key] = curve
        curve.setData(series.x, series.y)

    def _plot(self, where: str) -> Any:
        plot = self.plots.get(where)
        if plot is None:
            n = len(self.plots)
            plot = self.canvas.addPlot(row=n // 2, col=n % 2, title=dict(PLOTS)[where])
            plot.showGrid(x=True, y=True, alpha=0.25)
            # long runs: draw at most ~2 points per pixel (peak keeps spikes) and only what is in view
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.setLabel("bottom", "epoch")
            # Rates climb towards 1 (legend bottom right, under the curves); losses fall (top right).
            plot.addLegend(offset=(-5, -5) if where in ("quality", "pr") else (-5, 5), labelTextSize="8pt")
            self.plots[where] = plot
        return plot

    def _new_curve(self, where: str, label: str, main: bool, table: str, metric: str) -> Any:
        pg = self._pg
        color = COLORS[sum(map(ord, metric.removeprefix("val_"))) % len(COLORS)]
        style = Qt.PenStyle.SolidLine if main else Qt.PenStyle.DotLine
        if metric.startswith("val_") and main:
            style = Qt.PenStyle.DashLine
        pen = pg.mkPen(color, width=2 if table == "epoch" else 1.3, style=style)
        name = metric if main else f"{label}: {metric}"
        symbol = "o" if table == "epoch" else None
        return self._plot(where).plot(
            [], [], pen=pen, name=name, symbol=symbol, symbolSize=6, symbolBrush=color, symbolPen=None
        )
