"""Formats the engine's evidence for one file (`desktop.core.scan.evidence.read_evidence`) as HTML."""

from __future__ import annotations

import html
import re
from typing import Any

MAX_TEXT = 600
MAX_XMP_FIELDS = 24

# IPTC digital source types (the ones that matter here), as XMP and C2PA name them
SOURCE_TYPES = {
    "trainedAlgorithmicMedia": "made by a trained AI model",
    "compositeWithTrainedAlgorithmicMedia": "a composite with AI-generated parts",
    "algorithmicallyEnhanced": "enhanced by an algorithm",
    "algorithmicMedia": "computer-generated, without training data",
    "digitalCapture": "captured by a camera or scanner",
    "compositeCapture": "a composite of captures",
    "composite": "a composite",
    "digitalCreation": "made digitally by a person",
}
_TOKEN = re.compile(r"<(/?)([\w.-]+:[\w.-]+)([^>]*?)(/?)>|<[?!][^>]*>|([^<]+)")
_ATTRIBUTE = re.compile(r'([\w.-]+):([\w.-]+)\s*=\s*"([^"]*)"')
_CONTAINERS = {"rdf", "x"}  # rdf:RDF/Description/Seq/Bag/Alt/li and x:xmpmeta hold fields, they are none
_FILE_OBJECT = re.compile(r"<_io\.\w+ name=(['\"])(.*?)\1>")


def _label(local: str) -> str:
    """'CreatorTool' -> 'Creator tool'."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local).split()
    if not words:
        return local
    return " ".join([words[0][:1].upper() + words[0][1:], *(w if w.isupper() else w.lower() for w in words[1:])])


def _value(value: str) -> str:
    value = " ".join(value.split())
    tail = value.rstrip("/").rsplit("/", 1)[-1]
    if "digitalsourcetype" in value.lower() and tail in SOURCE_TYPES:
        return f"{tail} ({SOURCE_TYPES[tail]})"
    return value


def looks_like_xml(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("<") and ("xmpmeta" in head or "<?xpacket" in head or "<rdf:" in head or "<?xml" in head)


def xmp_fields(xml: str) -> list[tuple[str, str]]:
    """XMP (possibly cut short) as readable (field, value) pairs: 'Creator tool: Adobe Photoshop'. Read with
    a tolerant tokenizer, not an XML parser: the text comes from untrusted files and is truncated."""
    fields: list[tuple[str, str]] = []
    stack: list[str] = []
    xml = xml[: xml.rfind(">") + 1]  # a cut-off tail (half a tag or value) is no field
    for close, name, attrs, empty, text in _TOKEN.findall(xml):
        if text:
            value = text.strip()
            owner = next((n for n in reversed(stack) if n.split(":", 1)[0] not in _CONTAINERS), None)
            if value and owner is not None:
                fields.append((_label(owner.split(":", 1)[1]), _value(html.unescape(value))))
            continue
        if not name:
            continue
        if close:
            while stack and stack.pop() != name:
                pass
            continue
        for prefix, local, value in _ATTRIBUTE.findall(attrs):
            if prefix not in ("xmlns", *_CONTAINERS) and value.strip():
                fields.append((_label(local), _value(html.unescape(value))))
        if not empty:
            stack.append(name)
    seen: set[tuple[str, str]] = set()
    unique = [f for f in fields if not (f in seen or seen.add(f))]  # type: ignore[func-returns-value]
    return unique[:MAX_XMP_FIELDS]


def readable_error(text: str) -> str:
    """An exception's text for a person: no `<_io.BufferedReader name=...>`, plain words for Pillow's."""
    text = _FILE_OBJECT.sub("the file", text)
    text = text.replace("cannot identify image file the file", "the file is not an image that can be opened "
                        "(damaged, or another kind of file)")
    return text


def _esc(value: Any) -> str:
    text = str(value)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"… ({len(text):,} characters)"
    return html.escape(text).replace("\n", "<br>")


def render_evidence(ev: Any) -> str:
    parts: list[str] = []
    if ev.hints:
        parts.append("<ul>" + "".join(f"<li>{_esc(h)}</li>" for h in ev.hints) + "</ul>")
    facts = [("Camera (EXIF)", ev.camera), ("Software (EXIF)", ev.software), ("Date taken", ev.date_taken)]
    rows = [f"<tr><td><b>{k}</b></td><td>{_esc(v)}</td></tr>" for k, v in facts if v]
    for key, value in (ev.text or {}).items():
        if looks_like_xml(value):
            fields = xmp_fields(value)
            shown = "<br>".join(f"{_esc(k)}: {_esc(v)}" for k, v in fields) or "<i>no readable fields</i>"
            rows.append(f"<tr><td valign='top'><b>XMP metadata</b></td><td>{shown}</td></tr>")
            continue
        rows.append(f"<tr><td valign='top'><b>Text chunk “{_esc(key)}”</b></td><td>{_esc(value)}</td></tr>")
    c2pa = getattr(ev, "c2pa", None)
    if c2pa is not None:
        sources = ", ".join(s.rsplit("/", 1)[-1] for s in c2pa.digital_source_types) or "none declared"
        rows.append(
            f"<tr><td valign='top'><b>Content Credentials (C2PA)</b></td><td>made with "
            f"{_esc(c2pa.claim_generator or 'unknown tool')}; source type: {_esc(sources)}; "
            f"validation: {_esc(c2pa.validation_state or 'unknown')}</td></tr>"
        )
    if rows:
        parts.append("<table cellspacing='3'>" + "".join(rows) + "</table>")
    if ev.error:
        parts.append(f"<p><i>{_esc(readable_error(ev.error))}</i></p>")
    if not parts:
        return (
            "<i>No camera data, generator text or Content Credentials in this file. "
            "Missing metadata proves nothing either way: most sites strip it.</i>"
        )
    return "".join(parts)


def evidence_html(path: str) -> str:
    try:
        from desktop.core.scan.evidence import read_evidence

        return render_evidence(read_evidence(path))
    except Exception as exc:
        return f"<i>Metadata could not be read: {html.escape(readable_error(str(exc)) or type(exc).__name__)}</i>"
