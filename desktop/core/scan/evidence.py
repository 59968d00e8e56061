"""Provenance evidence from a file's metadata: EXIF camera/software, PNG text chunks, C2PA.

Evidence is shown next to the model's score; it is never a verdict. Metadata is easy to strip
or forge, so its absence means nothing and its presence is a hint, not proof.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from PIL import Image

from desktop.core.scan import decode as _decode  # noqa: F401  (registers the HEIF opener)

_EXIF_MAKE, _EXIF_MODEL, _EXIF_SOFTWARE, _EXIF_DATETIME = 0x010F, 0x0110, 0x0131, 0x0132
# PNG text keys written by popular generators: SD web UI ("parameters"), ComfyUI ("prompt",
# "workflow"), NovelAI ("Comment", "Software"), InvokeAI ("invokeai_metadata", "sd-metadata").
GENERATOR_TEXT_KEYS = {
    "parameters": "Stable Diffusion web UI parameters",
    "prompt": "ComfyUI prompt",
    "workflow": "ComfyUI workflow",
    "invokeai_metadata": "InvokeAI metadata",
    "sd-metadata": "InvokeAI metadata",
    "dream": "Stable Diffusion (dream) parameters",
}
AI_SOFTWARE_WORDS = ("stable diffusion", "midjourney", "dall-e", "dall·e", "firefly", "comfyui", "novelai",
                     "invokeai", "automatic1111", "imagen", "flux")
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")
TEXT_LIMIT = 4000


# Signer-credential codes (untrusted, expired, missing EKU) are not integrity failures: offline there is
# no trust list to check a signer against, so those say "signer not verified", not "tampered".
from desktop.core.scan.verdicts import INTEGRITY_FAILURE_PREFIXES  # noqa: E402


@dataclass(frozen=True)
class C2paInfo:
    claim_generator: str | None
    title: str | None
    digital_source_types: list[str]
    validation_state: str | None
    software_agents: list[str] = field(default_factory=list)  # c2pa.created/c2pa.edited actions' agents
    descriptions: list[str] = field(default_factory=list)  # the actions' descriptions
    failures: list[str] = field(default_factory=list)  # validation failure codes
    signer: str | None = None

    @property
    def tampered(self) -> bool:
        """True when a failure says the content or the manifest changed after signing."""
        return any(code.startswith(INTEGRITY_FAILURE_PREFIXES) for code in self.failures)


@dataclass(frozen=True)
class Evidence:
    camera: str | None = None
    software: str | None = None
    date_taken: str | None = None
    text: dict[str, str] = field(default_factory=dict)  # PNG/WebP text chunks, truncated
    c2pa: C2paInfo | None = None
    hints: list[str] = field(default_factory=list)  # human-readable lines, e.g. "PNG text: ComfyUI prompt"
    error: str | None = None


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip().strip("\x00").strip()
    return text or None


C2PA_PROBE_BYTES = 1 << 20


def _jpeg_has_app11(fh: Any) -> bool:
    """Walk a JPEG's marker segments up to the image data: C2PA lives in APP11 (0xFFEB) JUMBF segments."""
    fh.seek(2)
    while True:
        marker = fh.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            return False
        kind, length = marker[1], int.from_bytes(marker[2:4], "big")
        if kind == 0xDA or length < 2:  # start of scan: no more metadata segments
            return False
        if kind == 0xEB:
            return True
        fh.seek(length - 2, 1)


def _png_has_chunk(fh: Any, wanted: bytes) -> bool:
    """Walk a PNG's chunk headers (data skipped): C2PA lives in a caBX chunk."""
    fh.seek(8)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return False
        length, kind = int.from_bytes(head[:4], "big"), head[4:8]
        if kind == wanted:
            return True
        if kind == b"IEND":
            return False
        fh.seek(length + 4, 1)


def _riff_has_chunk(fh: Any, wanted: bytes) -> bool:
    """Walk a WebP's RIFF chunks (data skipped): C2PA lives in a C2PA chunk."""
    fh.seek(12)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return False
        if head[:4] == wanted:
            return True
        length = int.from_bytes(head[4:8], "little")
        fh.seek(length + (length & 1), 1)


def may_hold_c2pa(path: Path, fh: IO[bytes] | None = None) -> bool:
    """Whether the file can hold a C2PA manifest, read cheaply: JPEG APP11 segments, a PNG caBX chunk, a WebP
    C2PA chunk are found by walking the headers only; other formats by searching the first and last MiB for
    the JUMBF label "c2pa". Skips the C2PA reader, the slowest part of reading evidence, for the many files
    without a manifest. `fh`: the file already open (read from its start, left wherever)."""
    try:
        if fh is None:
            with open(path, "rb") as own:
                return _may_hold_c2pa(own)
        return _may_hold_c2pa(fh)
    except OSError:
        return True  # let the reader report it


def _may_hold_c2pa(fh: IO[bytes]) -> bool:
    fh.seek(0)
    magic = fh.read(12)
    if magic[:3] == b"\xff\xd8\xff":
        return _jpeg_has_app11(fh)
    if magic[:8] == b"\x89PNG\r\n\x1a\n":
        return _png_has_chunk(fh, b"caBX")
    if magic[:4] == b"RIFF" and magic[8:12] == b"WEBP":
        return _riff_has_chunk(fh, b"C2PA")
    fh.seek(0)
    head = fh.read(C2PA_PROBE_BYTES)
    if b"c2pa" in head or b"C2PA" in head:
        return True
    fh.seek(0, 2)
    size = fh.tell()
    if size <= C2PA_PROBE_BYTES:
        return False
    fh.seek(max(C2PA_PROBE_BYTES, size - C2PA_PROBE_BYTES))
    tail = fh.read()
    return b"c2pa" in tail or b"C2PA" in tail


def _c2pa(path: Path, fh: IO[bytes] | None = None) -> tuple[C2paInfo | None, str | None]:
    if not may_hold_c2pa(path, fh):
        return None, None
    try:
        import c2pa
    except ImportError:
        return None, None
    try:
        settings = c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
        reader = c2pa.Reader(str(path), context=c2pa.Context(settings))
    except Exception as exc:  # no manifest is the normal case; anything else is reported, not raised
        name = type(exc).__name__
        return None, None if "ManifestNotFound" in name or "NotSupported" in name else f"C2PA: {exc}"
    try:
        data = json.loads(reader.json())
        state = reader.get_validation_state()
    finally:
        reader.close()
    active = data.get("manifests", {}).get(data.get("active_manifest", ""), {})
    generator = active.get("claim_generator")
    if not generator and active.get("claim_generator_info"):
        generator = " ".join(str(i.get("name", "")) for i in active["claim_generator_info"]).strip() or None
    sources: list[str] = []
    agents: list[str] = []
    descriptions: list[str] = []
    for assertion in active.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                source = action.get("digitalSourceType") or (action.get("parameters") or {}).get("digitalSourceType")
                if source:
                    sources.append(str(source))
                agent = action.get("softwareAgent")
                if isinstance(agent, dict):
                    agent = agent.get("name")
                if agent:
                    agents.append(str(agent))
                if action.get("description"):
                    descriptions.append(str(action["description"]))
    results = data.get("validation_results", {}).get("activeManifest", {})
    failures = [str(f.get("code", "")) for f in results.get("failure", [])] if results else [
        str(f.get("code", "")) for f in data.get("validation_status", [])]
    signer = (active.get("signature_info") or {}).get("issuer")
    return C2paInfo(generator, active.get("title"), sources, str(state) if state else None, agents, descriptions,
                    failures, str(signer) if signer else None), None


def read_evidence(path: str | Path) -> Evidence:
    """Read metadata only (never pixels beyond the header); never raises for a bad file."""
    p = Path(path)
    try:
        fh = open(p, "rb")  # noqa: SIM115  (closed below, whatever happens)
    except OSError as exc:  # evidence is best effort; the scan reports decode errors itself
        return Evidence(error=f"cannot read metadata: {exc}")
    with fh:
        try:
            img = Image.open(fh)
        except Exception as exc:
            return Evidence(error=f"cannot read metadata: {exc}")
        with img:
            return evidence_of_open_file(p, img, img.info, fh)


def evidence_of_open_file(path: Path, img: Image.Image, info: dict[str | tuple[int, int], Any],
                          fh: IO[bytes]) -> Evidence:
    """`read_evidence` from a file the caller has open already (the scan, which has just decoded it): `img`
    opened on `fh`, `info` as Pillow had it before any pixel was decoded (PNG chunks after the image data
    are not read, whether decoded or not). Raises only what the C2PA reader raises unforeseen, as
    `read_evidence` does."""
    camera = software = date_taken = None
    text: dict[str, str] = {}
    hints: list[str] = []
    try:
        # Pillow finds a PNG eXIf chunk written after the image data only by decoding every pixel
        # (16 ms for a 1 MP PNG): only one before the data is read (where generators and cameras put it).
        exif = Image.Exif() if img.format == "PNG" and "exif" not in info else img.getexif()
        make, model = _clean(exif.get(_EXIF_MAKE)), _clean(exif.get(_EXIF_MODEL))
        camera = " ".join(x for x in (make, model) if x) or None
        software = _clean(exif.get(_EXIF_SOFTWARE))
        date_taken = _clean(exif.get(_EXIF_DATETIME))
        # img.info, not PNG's img.text: the latter decodes every pixel to reach chunks after the image
        # data; generators write their parameters before it
        for key, value in info.items():
            if isinstance(value, (str, bytes)) and key not in ("exif", "icc_profile", "xmp"):
                cleaned = _clean(value)
                if cleaned:
                    text[str(key)] = cleaned[:TEXT_LIMIT]
    except Exception as exc:  # evidence is best effort; the scan reports decode errors itself
        return Evidence(error=f"cannot read metadata: {exc}")
    if camera:
        hints.append(f"EXIF camera: {camera}")
    for source in (software, text.get("Software")):
        if source and any(w in source.lower() for w in AI_SOFTWARE_WORDS):
            hints.append(f"software field names an image generator: {source}")
    for key, label in GENERATOR_TEXT_KEYS.items():
        if key in text:
            hints.append(f"text chunk '{key}': {label}")
    info_c2pa, c2pa_error = _c2pa(path, fh)
    if info_c2pa is not None:
        ai = [s for s in info_c2pa.digital_source_types if s.rsplit("/", 1)[-1] in AI_SOURCE_TYPES]
        hints.append(f"C2PA manifest by {info_c2pa.claim_generator or 'unknown tool'}"
                     + (f"; declares AI source: {', '.join(s.rsplit('/', 1)[-1] for s in ai)}" if ai else ""))
    return Evidence(camera, software, date_taken, text, info_c2pa, hints, c2pa_error)
