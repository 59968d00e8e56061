"""The verdicts the rows on screen show: their model's thresholds, the threshold slider, relabelling, trust.

A layer of the Scan page (scan_layout -> scan_thresholds -> scan_runs -> scan_history -> scan_page). When
the detector of the rows on screen is loaded, its thresholds set the slider (or the value remembered for
that model) and its model card the trust line; moving the slider relabels the rows through the engine.
"""

from __future__ import annotations

from typing import Any

from desktop.qt.scan.scan_layout import ScanPageLayout


class ScanPageThresholds(ScanPageLayout):
    # --- the rows' model -----------------------------------------------------------------------
    def _on_models_detector_ready(self, ref: str, detector: Any) -> None:
        if ref == self.toolbar.current_model():
            self.toolbar.set_device(detector.device.upper(), detector.device_reason)
        if not self._rows_model or ref == self._rows_model:
            self._rows_model = ref
            from desktop.core.models.routing import (  # onnxruntime: imported lazily
                trust_for_row,
                trust_summary,
            )

            self._detector = detector
            self._contract_thresholds = detector.thresholds
            self.detail.set_trust_lookup(lambda row: trust_for_row(detector, row.model, row.width, row.height))
            self.trust_label.setText(trust_summary(detector))
            default = detector.thresholds.decision
            saved = self.settings.threshold_for(ref)  # another model's threshold never carries over
            self.results.filter_bar.set_threshold(saved if saved is not None else default, default=default)
            self._apply_threshold()

    def _on_models_detector_failed(self, ref: str, reason: str) -> None:
        if ref == self.toolbar.current_model() or not ref:
            self.toolbar.set_device("—", "model not loaded")
            self.banner.show_message(f"The model cannot be used: {reason}", "error")

    # --- threshold -----------------------------------------------------------------------------
    def _on_threshold_changed(self, value: float) -> None:
        self.settings.threshold = value
        self.settings.threshold_model = self._rows_model
        self._apply_threshold()

    def _apply_threshold(self) -> None:
        from desktop.core.models.contract import remap_thresholds, verdict_for

        thresholds = self._contract_thresholds
        value = self.results.filter_bar.threshold()
        user = self.results.filter_bar.user_threshold()  # None at "(model)": every row in its own model's bands
        if thresholds is None:
            self.results.set_labeller(None, value)
            return
        detector = self._detector
        if detector is None:
            remapped = remap_thresholds(thresholds, user)  # once, not per row
            self.results.set_labeller(lambda row: verdict_for(float(row.score), remapped), value)
        else:
            from desktop.core.scan.verdicts import relabel

            self.results.set_labeller(
                lambda row: relabel(detector, float(row.score), row.model, row.width, row.height, row.reason,
                                    row.evidence, user)[0], value)
        self.detail.set_verdict(self._current_verdict())

    def _current_verdict(self) -> str:
        selected = self.results.selected_rows()
        return selected[0][1] if selected else ""
