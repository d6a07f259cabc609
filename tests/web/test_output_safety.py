"""CSV and XML that hostile text cannot break: one writer each, and every output uses it.

Field reports: ``export notices --format csv`` wrote a bare CR unquoted, so a reference
``r\\r=HYPERLINK(...)`` started a new row holding a formula; a classification with U+000B made a
provider's whole Atom feed ill-formed XML.
"""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import polars as pl

from hostwatch.csv_safety import (
    SafeDictWriter,
    SafeWriter,
    csv_text,
    safe_cell,
    write_frame_csv,
)
from hostwatch.settings import Settings
from hostwatch.xml_safety import xml_document, xml_text

SRC = Path(__file__).resolve().parents[2] / "src" / "hostwatch"
HYPERLINK = '=HYPERLINK("http://evil.example","x")'
HOSTILE = ["r\r" + HYPERLINK, "a\nb", HYPERLINK, "+1", "-cmd", "@SUM(A1)", "\tx", "|calc", "ok"]
WRITER_ALLOWED = {
    SRC / "csv_safety.py": "the one CSV writer",
    SRC / "xml_safety.py": "the one XML serialiser",
    # It writes the simulated hotline's partner CSV, an INPUT that hostwatch's own reader parses
    # back; an apostrophe there would change the references the simulation checks against.
    SRC / "simulation" / "feeds.py": "simulated intake input, read back by hostwatch",
}


def _assert_safe(text: str, expected_rows: int) -> list[list[str]]:
    """Parsed as a spreadsheet does (a CR or LF outside quotes ends the row): the row count is
    right, so no hostile cell started a row of its own, and no cell starts a formula."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == expected_rows, rows
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "|")), cell
    return rows


def test_writers_quote_cr_and_lf_and_defuse_formulas() -> None:
    for terminator in ("\n", "\r\n"):
        out = io.StringIO(newline="")
        SafeWriter(out, lineterminator=terminator).writerows(
            [["id", "value"]] + [[i, v] for i, v in enumerate(HOSTILE)]
        )
        rows = _assert_safe(out.getvalue(), len(HOSTILE) + 1)
        assert rows[1][1] == "r\r" + HYPERLINK and rows[3][1] == "'" + HYPERLINK
        assert rows[9][1] == "ok" and rows[1][0] == "0"  # numbers and plain text untouched
    out = io.StringIO(newline="")
    writer = SafeDictWriter(out, ["a", "b"])
    writer.writeheader()
    writer.writerow({"a": "r\r" + HYPERLINK})
    assert _assert_safe(out.getvalue(), 2)[1] == ["r\r" + HYPERLINK, ""]
    _assert_safe(csv_text([["v"], *([v] for v in HOSTILE)]), len(HOSTILE) + 1)
    frame = pl.DataFrame({"v": HOSTILE, "n": list(range(len(HOSTILE)))})
    _assert_safe(write_frame_csv(frame) or "", len(HOSTILE) + 1)


def test_notice_export_keeps_a_cr_reference_in_its_cell(settings: Settings, tmp_path: Path) -> None:
    from sqlalchemy import select

    from hostwatch.ingest.export import export_notices
    from hostwatch.ingest.pipeline import ingest_file
    from hostwatch.model import Notice
    from hostwatch.model.db import session_scope

    source = tmp_path / "hostile.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for i, reference in enumerate(HOSTILE):
            record = {"url": f"http://n{i}.example/p", "reference": reference}
            handle.write(json.dumps(record) + "\n")
    report = ingest_file(source, settings.database_url, format="jsonl", source="t")
    assert report.accepted == len(HOSTILE)
    out = tmp_path / "notices.csv"
    assert export_notices(settings.database_url, "csv", out) == len(HOSTILE)
    text = out.read_bytes().decode("utf-8")  # as written: no newline translation
    rows = _assert_safe(text, len(HOSTILE) + 1)
    column = rows[0].index("extra.reference")
    with session_scope(settings.database_url) as s:
        stored = list(s.scalars(select(Notice.reference)))  # as intake kept them
    assert "r\r" + HYPERLINK in stored and HYPERLINK in stored
    assert sorted(r[column] for r in rows[1:]) == sorted(safe_cell(v) for v in stored)


def test_xml_drops_what_xml_1_0_forbids() -> None:
    root = ET.Element("feed", title="a\x0bb")
    ET.SubElement(root, "entry").text = "csam\x0b\x00\x1f\ud800\ufffe ok\t\u00e9\U0001f600"
    document = xml_document(root)
    parsed = ET.fromstring(document)
    assert parsed.attrib["title"] == "ab"
    assert parsed[0].text == "csam ok\t\u00e9\U0001f600"
    assert xml_text("a\x0bb") == "ab"


def test_provider_atom_feed_stays_well_formed(client, world) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from hostwatch.model import Case
    from hostwatch.model.db import session_scope

    with session_scope(world.db_url) as s:
        s.execute(
            update(Case)
            .where(Case.id.in_(world.cases["beta"]))
            .values(classification="csam\x0bvertical-tab\r=HYPERLINK(1)")
        )
    headers = {"Authorization": f"Bearer {world.tokens['beta']}"}
    atom = client.get("/api/v1/feed.atom", headers=headers)
    assert atom.status_code == 200
    entries = ET.fromstring(atom.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert entries and all("\x0b" not in ET.tostring(e, encoding="unicode") for e in entries)
    assert "csamvertical-tab" in atom.text
    feed = client.get("/api/v1/feed.csv", headers=headers).text
    rows = _assert_safe(feed, len(list(csv.reader(io.StringIO(feed, newline="")))))
    column = rows[0].index("classification")
    assert {r[column] for r in rows[1:]} == {"csam\x0bvertical-tab\r=HYPERLINK(1)"}


def _calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of every call whose name ends in a CSV or XML writer."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        last = name.rsplit(".", 1)[-1]
        if (
            name in ("csv.writer", "csv.DictWriter", "writer", "DictWriter")
            or last in ("write_csv", "sink_csv", "tostring", "tostringlist")
            or name.endswith(("ElementTree.write", "ET.ElementTree"))
        ):
            found.append((node.lineno, name))
    return found


def test_every_csv_and_xml_writer_goes_through_the_safe_modules() -> None:
    """A new ``csv.writer``, Polars ``write_csv`` or ElementTree serialisation in src/ fails here
    unless it sits in the one module for its format."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path in WRITER_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_csv_writer = any(
            isinstance(n, ast.ImportFrom)
            and n.module == "csv"
            and any(a.name in ("writer", "DictWriter") for a in n.names)
            for n in ast.walk(tree)
        )
        for line, name in _calls(tree):
            bare = name in ("writer", "DictWriter")
            if bare and not imports_csv_writer:
                continue
            offenders.append(f"{path.relative_to(SRC)}:{line}: {name}")
    assert offenders == [], "write CSV/XML through hostwatch.csv_safety / xml_safety: " + ", ".join(
        offenders
    )
    assert all(path.exists() for path in WRITER_ALLOWED)
