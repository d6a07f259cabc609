"""Field names on the wire come from one module, and they are IntelMQ's or under ``extra.``.

The source scan fails on any IntelMQ-style dotted name (``source.ip``, ``time.source``,
``extra.x`` ...) written as a literal outside :mod:`hostwatch.harmonisation`; the run-time
checks look at what the notice export and the API's attribution records actually emit.
"""

from __future__ import annotations

import ast
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from hostwatch import harmonisation as hw
from hostwatch.identity import url_id
from hostwatch.ingest.export import export_notices
from hostwatch.model import Attribution, Notice, Url
from hostwatch.model.db import session_scope
from hostwatch.takedown.compose import Item, xarf_report
from hostwatch.web.rows import attribution_row

SRC = Path(__file__).resolve().parents[1] / "src" / "hostwatch"
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
WIRE_NAME = re.compile(
    r"(time|source|destination|classification|feed|event_description|extra|misp|protocol|malware)"
    r"(\.[a-z0-9_]+)+"
)
FILE_SUFFIXES = (".html", ".csv", ".atom", ".json", ".j2", ".toml", ".txt", ".py")

# The event fields of IntelMQ's harmonization.conf that hostwatch could use (by name).
INTELMQ_EVENT_FIELDS = {
    "classification.identifier", "classification.taxonomy", "classification.type", "comment",
    "event_description.target", "event_description.text", "event_description.url",
    "feed.accuracy", "feed.code", "feed.documentation", "feed.name", "feed.provider", "feed.url",
    "misp.attribute_uuid", "misp.event_uuid", "protocol.application", "protocol.transport",
    "raw", "rtir_id", "screenshot_url", "source.abuse_contact", "source.account",
    "source.allocated", "source.as_name", "source.asn", "source.fqdn", "source.geolocation.cc",
    "source.geolocation.city", "source.geolocation.country", "source.ip", "source.local_hostname",
    "source.local_ip", "source.network", "source.port", "source.registry", "source.reverse_dns",
    "source.tor_node", "source.url", "source.urlpath", "status", "time.observation",
    "time.source", "tlp",
}  # fmt: skip


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_wire_name_is_written_outside_the_harmonisation_module() -> None:
    found = []
    scanned = 0
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "harmonisation.py" and path.parent == SRC:
            continue
        scanned += 1
        for line, text in _literals(path):
            if WIRE_NAME.fullmatch(text) and not text.endswith(FILE_SUFFIXES):
                found.append(f"{path.relative_to(SRC)}:{line}: {text!r}")
    assert scanned > 100
    assert found == [], "use hostwatch.harmonisation instead:\n" + "\n".join(found)


def test_the_scan_would_catch_a_stray_name(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text('ROW = {"source.ip": 1, "note": "see source.ip", "page": "feed.html"}\n')
    hits = [t for _, t in _literals(stray) if WIRE_NAME.fullmatch(t)]
    assert [t for t in hits if not t.endswith(FILE_SUFFIXES)] == ["source.ip"]


def test_every_name_is_intelmqs_or_under_extra() -> None:
    assert hw.STANDARD <= INTELMQ_EVENT_FIELDS, hw.STANDARD - INTELMQ_EVENT_FIELDS
    assert all(name.startswith("extra.") for name in hw.EXTRAS)
    assert not hw.EXTRAS & INTELMQ_EVENT_FIELDS
    constants = {v for k, v in vars(hw).items() if k.isupper() and isinstance(v, str)}
    assert constants - {hw.XARF_DEFAULT_TYPE} == hw.NAMES  # every constant is listed


def test_the_notice_export_and_the_api_emit_only_these_names(sqlite_url: str) -> None:
    url = "http://a.example/x"
    with session_scope(sqlite_url) as session:
        session.add(
            Url(
                id=url_id(url),
                url=url,
                scheme="http",
                host="a.example",
                host_type="domain",
                first_seen_at=T0,
            )
        )
        session.flush()
        session.add(
            Notice(
                notice_key="k1",
                url_id=url_id(url),
                source="hotline",
                format="csv",
                reference="R-1",
                classification="phishing",
                received_at=T0,
                raw=url,
                extra={hw.EVENT_DESCRIPTION_TEXT: "reported"},
            )
        )
    out = io.StringIO()
    assert export_notices(sqlite_url, "jsonl", out) == 1
    event = json.loads(out.getvalue())
    assert set(event) <= hw.NAMES and event[hw.SOURCE_URL] == url
    attribution = Attribution(
        id=1,
        url_id=url_id(url),
        at=T0,
        computed_at=T0,
        status="ok",
        host="a.example",
        ip="192.0.2.1",
        ips=["192.0.2.1"],
        prefix="192.0.2.0/24",
        origin_asn=64500,
        as_name="EXAMPLE",
        as_org="Example BV",
        country="NL",
        abuse_contact="abuse@example.net",
    )
    row = attribution_row(attribution, url, "Example", identifiers=True, pseudonym_key="k")
    dotted = {name for name in row if "." in name}
    assert dotted and dotted <= hw.NAMES
    assert row[hw.EXTRA_SOURCE_IPS] == ["192.0.2.1"]
    assert row[hw.EXTRA_SOURCE_AS_ORG] == "Example BV"


def test_x_arf_types_follow_intelmq_classifications() -> None:
    assert hw.xarf_type("malware-distribution") == "malware"
    assert hw.xarf_type("Phishing") == "phishing"
    assert hw.xarf_type("data-leak") == "exposed_data"
    assert hw.xarf_type("brand_infringement") == "brand_infringement"
    assert hw.xarf_type("ddos") == "illegal_content"
    assert hw.xarf_type(None) == "illegal_content"

    from hostwatch.settings import Settings

    item = Item(1, "http://a.example/x", None, "malware-distribution", "notice", None, T0)
    report = xarf_report(item, "HW-1", Settings(), T0)
    assert report["type"] == "malware"
