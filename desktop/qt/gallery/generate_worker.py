"""Generation and judging off the GUI thread: a QRunnable that runs the Qt-free core and posts
chunks of images, then what the discriminator and the AI-image detector say about them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

from desktop.qt.common import verdict_style

CHUNK = 256


@dataclass(frozen=True)
class GenerateRequest:
    generator: str
    count: int
    seed: int
    label: int | None
    truncation: float | None
    discriminator: str = ""
    detector: str = ""
    interpolate_to: int | None = None  # seed B: an interpolation strip of `count` steps


class GenerateRelay(QObject):
    started = Signal(object)  # the Generator
    images_ready = Signal(list)  # list[GeneratedImage], in order
    judged = Signal(int, list)  # first row, texts
    failed = Signal(str)
    finished = Signal(int)  # images made


def judge(items: list[Any], discriminator: Any, detector: Any) -> list[str]:
    """One line per image, in words: 'discriminator: 38 % real · detector: 83 % AI (likely AI)'."""
    from PIL import Image

    from desktop.core.scan.decode import preprocess
    from desktop.core.scan.verdicts import decide

    parts: list[list[str]] = [[] for _ in items]
    for model, tag in ((discriminator, "D"), (detector, "AI")):
        if model is None:
            continue
        crops, grids = zip(*(preprocess(Image.fromarray(it.pixels), model.contract) for it in items), strict=True)
        scored = model.score_images(list(crops), list(grids))
        for i, (score, _map) in enumerate(scored):
            if tag == "D":  # the engine reports P(AI); D's own output is P(real)
                parts[i].append(f"discriminator: {100 * (1.0 - score):.0f} % real")
            else:
                # the scan's own rule: the model's trust cap and domain apply here too (no file, so no evidence)
                height, width = items[i].pixels.shape[:2]
                verdict = verdict_style.label(decide(score, model.thresholds, model.contract.trust,
                                                     model.in_domain(width, height), None)[0])
                parts[i].append(f"detector: {100 * score:.0f} % AI ({verdict})")
    return [" · ".join(p) or "not judged" for p in parts]


class GenerateTask(QRunnable):
    def __init__(self, request: GenerateRequest, relay: GenerateRelay, cancel: threading.Event) -> None:
        super().__init__()
        self.request, self.relay, self.cancel = request, relay, cancel

    def run(self) -> None:
        with contextlib.suppress(RuntimeError):  # the relay went away with the page
            try:
                self._run()
            except Exception as exc:
                from desktop.core.models.detector import first_line  # loaded already: _run imports it

                self.relay.failed.emit(first_line(exc))

    def _run(self) -> None:
        from desktop.core.models.detector import Detector
        from desktop.core.models.generate import Generator

        r = self.request
        gen = Generator.load(r.generator, device="cpu")
        self.relay.started.emit(gen)
        disc = Detector.load(r.discriminator, device="cpu") if r.discriminator else None
        det = Detector.load(r.detector, device="cpu") if r.detector else None
        chunks: Iterable[list[Any]]
        if r.interpolate_to is not None:
            chunks = [gen.interpolate(r.seed, r.interpolate_to, max(2, r.count), r.label, r.truncation)]
        else:
            chunks = (gen.generate(min(CHUNK, r.count - s), r.seed + s, r.label, r.truncation)
                      for s in range(0, r.count, CHUNK))
        done = 0
        for items in chunks:
            if self.cancel.is_set():
                break
            self.relay.images_ready.emit(items)
            if disc is not None or det is not None:
                self.relay.judged.emit(done, judge(items, disc, det))
            done += len(items)
        self.relay.finished.emit(done)


__all__ = ["GenerateRelay", "GenerateRequest", "GenerateTask", "judge"]
