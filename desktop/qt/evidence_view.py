"""Formats the engine's evidence for one file (`desktop.core.evidence.read_evidence`) as HTML."""

from __future__ import annotations

import html
from typing import Any

MAX_TEXT = 600


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
        parts.append(f"<p><i>{_esc(ev.error)}</i></p>")
    if not parts:
        return (
            "<i>No camera data, generator text or Content Credentials in this file. "
            "Missing metadata proves nothing either way: most sites strip it.</i>"
        )
    return "".join(parts)


def evidence_html(path: str) -> str:
    try:
        from desktop.core.evidence import read_evidence

        return render_evidence(read_evidence(path))
    except Exception as exc:
        return f"<i>Metadata could not be read: {html.escape(str(exc) or type(exc).__name__)}</i>"
