"""The Evidence box reads like text: XMP as named fields, errors without Python object reprs."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, PngImagePlugin

from desktop.qt.scan.detail.evidence_view import evidence_html, xmp_fields

XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Adobe Photoshop 25.0">'
    "<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    "</Iptc4xmpExt:DigitalSourceType><dc:creator><rdf:Seq><rdf:li>Jane &amp; Joe</rdf:li></rdf:Seq></dc:creator>"
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def test_xmp_in_a_png_is_shown_as_named_fields_not_xml(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP)
    path = tmp_path / "edited.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    text = evidence_html(str(path))
    assert "XMP metadata" in text
    assert "Creator tool: Adobe Photoshop 25.0" in text
    assert "Digital source type: trainedAlgorithmicMedia (made by a trained AI model)" in text
    assert "Creator: Jane &amp; Joe" in text  # escaped once for HTML, not twice
    assert "xmpmeta" not in text and "&lt;" not in text and "rdf:" not in text


def test_cut_short_xmp_still_gives_the_fields_before_the_cut() -> None:
    fields = xmp_fields(XMP[: XMP.index("<dc:creator>") + 20])
    assert ("Creator tool", "Adobe Photoshop 25.0") in fields
    assert len(fields) == 2


def test_an_unreadable_file_says_so_in_words(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff garbage")
    text = evidence_html(str(path))
    assert "BufferedReader" not in text and "_io" not in text
    assert "not an image that can be opened" in text
