"""The default scan: each image goes to the installed detector made for images like it.

Detectors declare the images they are made for in their contract (`domain`, docs/model-contract.md).
For an image of a given size the router picks, among the detectors whose domain contains it, the one with
the narrowest domain (the most specific); if none contains it, the one with the widest domain, and the
row says the image is outside that model's domain. No model is named in code.

A :class:`Router` has the same face as a :class:`~desktop.core.models.detector.Detector` where the scan engine
needs it (name, digest, device, batch size, how to feed a file), plus `member(name)` for the detector
that scored a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.models.catalog import ModelEntry, list_models
from desktop.core.models.contract import Domain, ModelContract, Thresholds
from desktop.core.models.detector import Detector, ModelError

AUTO = "auto"


def routable(entries: Sequence[ModelEntry]) -> list[ModelEntry]:
    """Usable detectors that declare a domain; bundled ones first (a user model with the same domain
    does not silently replace a shipped one: it is chosen with --model)."""
    found = [e for e in entries if e.contract is not None and e.contract.kind == "detector"
             and e.contract.domain is not None]
    return sorted(found, key=lambda e: (e.source != "bundled", str(e.path)))


def _span(contract: ModelContract) -> float:
    return contract.domain.span if contract.domain is not None else float("inf")


def choose(contracts: Sequence[ModelContract], width: int, height: int) -> tuple[int, bool]:
    """(index of the chosen contract, whether the image is inside its domain)."""
    if not contracts:
        raise ValueError("no detectors to choose from")
    inside = [i for i, c in enumerate(contracts) if c.domain is not None and c.domain.contains(width, height)]
    if inside:
        return min(inside, key=lambda i: (_span(contracts[i]), i)), True
    return max(range(len(contracts)), key=lambda i: (_span(contracts[i]), -i)), False


@dataclass
class Router:
    """Several detectors behind one face; see the module docstring."""

    members: list[Detector]
    _by_name: dict[str, Detector] = field(init=False, repr=False)
    _primary: Detector = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.members:
            raise ModelError("no detector declares the images it is made for (contract 'domain'); "
                             "pass --model NAME to choose one")
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ModelError(f"two routed detectors share a name: {sorted(names)}")
        self._by_name = {m.name: m for m in self.members}
        self._primary = self.members[choose([m.contract for m in self.members], 1 << 30, 1 << 30)[0]]

    @classmethod
    def load(cls, entries: Sequence[ModelEntry] | None = None, device: str = "auto",
             threads: int | None = None) -> Router:
        chosen = routable(list_models() if entries is None else entries)
        seen: set[str] = set()
        members = []
        for e in chosen:
            if e.name in seen:  # a user copy of a bundled model: the bundled one routes
                continue
            seen.add(e.name)
            members.append(Detector.load(e.path, device=device, threads=threads))
        return cls(members)

    # --- the Detector face the engine uses ------------------------------------------------------
    @property
    def name(self) -> str:
        return AUTO

    @property
    def title(self) -> str:
        return "Automatic (" + ", ".join(m.name for m in self.members) + ")"

    @property
    def path(self) -> Path:
        return Path(AUTO)

    @property
    def digest(self) -> str:
        return hashlib.sha256(("auto:" + ",".join(sorted(m.digest for m in self.members))).encode()).hexdigest()

    @property
    def device(self) -> str:
        return self.members[0].device

    @property
    def device_reason(self) -> str:
        return self.members[0].device_reason

    @property
    def batch_size(self) -> int:
        return min(m.batch_size for m in self.members)

    @property
    def thresholds(self) -> Thresholds:
        return self.primary.thresholds

    @property
    def primary(self) -> Detector:
        """The member with the widest domain (most images go to it)."""
        return self._primary

    def contract_for(self, width: int, height: int) -> ModelContract:
        return self.member_for(width, height).contract

    def member_for(self, width: int, height: int) -> Detector:
        """The member an image of this size is routed to."""
        return self.members[choose([m.contract for m in self.members], width, height)[0]]

    def in_domain(self, width: int, height: int) -> bool:
        return choose([m.contract for m in self.members], width, height)[1]

    def member(self, name: str | None) -> Detector:
        return self._by_name.get(name or "", self.primary)

    @property
    def cache_digests(self) -> dict[str, str]:
        """digest -> member name: a file cached under a member's digest was routed to that member."""
        return {m.digest: m.name for m in self.members}


AnyDetector = Detector | Router


def load_for_scan(ref: str | Path | None, device: str = "auto", threads: int | None = None) -> AnyDetector:
    """What a scan runs: `None` or "auto" = per-image routing over the installed detectors that declare
    a domain (the default model alone when none does); anything else = that model (`resolve_model`)."""
    from desktop.core.models.catalog import resolve_model

    if ref is None or str(ref) == AUTO:
        entries = list_models()
        if routable(entries):
            return Router.load(entries, device=device, threads=threads)
        return Detector.load(resolve_model(None), device=device, threads=threads)
    return Detector.load(resolve_model(ref), device=device, threads=threads)


def trust_for_row(detector: AnyDetector, model: str | None, width: int | None, height: int | None) -> str:
    """One sentence for the detail pane: which model scored the image and how far to trust it there."""
    member = detector.member(model)
    inside = width is None or height is None or member.in_domain(width, height)
    where = "" if inside else " — this image is outside the images it was made for, so its verdict is 'likely' at most"
    return f"{member.contract.title} ({member.name}): {member.contract.trust.text()}{where}"


def describe(detector: AnyDetector) -> str:
    """Which model files a scan runs: "auto: a (a.onnx, 1a2b3c4d), b (…)" or "a (a.onnx, 1a2b3c4d)"."""
    parts = ", ".join(f"{m.name} ({m.path.name}, {m.digest[:8]})" for m in detector.members)
    return f"automatic per image: {parts}" if isinstance(detector, Router) else parts


def trust_summary(detector: AnyDetector) -> str:
    """The Scan page's trust line: each model in use, what it is for and how far it can be trusted."""
    return "Trust — " + "; ".join(trust_lines(detector))


def trust_lines(detector: AnyDetector) -> list[str]:
    """One line per model: what it is for and how far its verdicts can be trusted (CLI summary, app)."""
    lines = []
    for m in detector.members:
        lines.append(f"{m.name}: for {_made_for(m.contract.domain)}; {m.contract.trust.text()}")
    return lines


def _made_for(domain: Domain | None) -> str:
    """What images a model says it is made for, in words; a model that declares nothing is not said to be
    made for every image."""
    if domain is None:
        return "images of any size (it declares no domain)"
    if domain.description:
        return domain.description
    lo, hi = domain.long_side
    if hi is None:
        return f"images whose longer side is at least {lo or 1} px"
    return f"images whose longer side is {lo or 1}-{hi} px"

