"""Every XML document hostwatch writes is serialised here, with the characters XML 1.0 forbids
removed.

ElementTree escapes ``<``, ``&`` and quotes, but writes control characters as they are: one
classification holding U+000B made a provider's whole Atom feed ill-formed, and feed readers
reject the document, not the entry. XML 1.0 allows TAB, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD and
U+10000-U+10FFFF; everything else (other C0 controls, lone surrogates, U+FFFE, U+FFFF) is dropped
from every text, tail and attribute before serialising. A test scans the source for XML
serialisation that bypasses this module.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` without the characters an XML 1.0 document may not contain."""
    return _FORBIDDEN.sub("", value)


def xml_document(root: ET.Element) -> bytes:
    """``root`` as a UTF-8 XML document (with declaration), every string made XML-safe."""
    for element in root.iter():
        if element.text:
            element.text = xml_text(element.text)
        if element.tail:
            element.tail = xml_text(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = xml_text(value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")
