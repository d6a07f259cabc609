"""RPSL parsing: the real port-43 answers of data/10, and hand-written broken dumps."""

from __future__ import annotations

import gzip

from hostwatch.net.load_warnings import WarningLog
from hostwatch.net.rpsl import abuse_contacts_in_comments, parse_rpsl_text, read_rpsl


def test_real_ripe_answer(whois_answers):
    warnings = WarningLog()
    objects = parse_rpsl_text(whois_answers["62.239.237.1"], "ripe.txt", warnings)
    assert not warnings
    assert [o.object_class for o in objects] == ["inetnum", "role", "role", "person", "route"]
    inetnum = objects[0]
    assert inetnum.key == "62.239.237.0 - 62.239.237.255"
    assert inetnum.get("status") == "ASSIGNED PA"
    assert inetnum.get("source") == "RIPE"  # "RIPE # Filtered": end-of-line comment removed
    assert inetnum.get_all("admin-c") == ["BCER1-RIPE", "BTCR1-RIPE"]
    assert inetnum.where == "ripe.txt:14"
    roles = [o for o in objects if o.object_class == "role"]
    assert {r.get("nic-hdl"): r.get("abuse-mailbox") for r in roles} == {
        "BTCR1-RIPE": "protect@bt.com",
        "BTCR3-RIPE": "protect@bt.com",
    }
    assert roles[0].get("address") == "British Telecommunications"
    assert abuse_contacts_in_comments(whois_answers["62.239.237.1"]) == {
        "62.239.237.0 - 62.239.237.255": "protect@bt.com"
    }


def test_real_afrinic_answer_with_organisation(whois_answers):
    objects = parse_rpsl_text(whois_answers["196.11.240.215"], "afrinic.txt")
    by_class = {o.object_class: o for o in objects}
    assert by_class["inetnum"].get("org") == "ORG-VSA1-AFRINIC"
    assert by_class["inetnum"].get("parent") == "196.0.0.0 - 196.255.255.255"
    assert by_class["organisation"].get("org-name") == "MTN SA"
    assert by_class["organisation"].get("org-type") == "LIR"


def test_every_real_answer_parses_without_warnings(whois_answers):
    for address, text in whois_answers.items():
        warnings = WarningLog()
        objects = parse_rpsl_text(text, address, warnings)
        assert objects, address
        assert not warnings, warnings.summary()


def test_continuation_lines_join_values():
    text = (
        "inetnum: 192.0.2.0 - 192.0.2.255\n"
        "descr:   first line\n"
        "         second line\n"
        "+\n"
        "\tthird line # a comment\n"
        "netname: EXAMPLE\n"
    )
    (obj,) = parse_rpsl_text(text)
    assert obj.get("descr") == "first line\nsecond line\nthird line"
    assert obj.get("netname") == "EXAMPLE"


def test_broken_objects_are_reported_with_line_and_skipped(tmp_path):
    dump = tmp_path / "ripe.db.inetnum"
    dump.write_text(
        "# RIPE split dump header\n"
        "\n"
        "inetnum: 192.0.2.0 - 192.0.2.255\n"
        "netname: GOOD-ONE\n"
        "\n"
        "inetnum: 198.51.100.0 - 198.51.100.255\n"
        "this line has no colon\n"
        "netname: BROKEN\n"
        "\n"
        "   continuation with nothing before it\n"
        "netname: ALSO-BROKEN\n"
        "\n"
        "inetnum:\n"
        "netname: NO-KEY\n"
        "\n"
        "inetnum: 203.0.113.0 - 203.0.113.255\n"
        "netname: GOOD-TWO\n"
    )
    warnings = WarningLog()
    objects = list(read_rpsl(dump, warnings))
    assert [o.get("netname") for o in objects] == ["GOOD-ONE", "GOOD-TWO"]
    reasons = [(w.file, w.line, w.reason) for w in warnings]
    assert reasons[0][:2] == (str(dump), 6)
    assert "line 7: not 'attribute: value'" in reasons[0][2]
    assert reasons[1][:2] == (str(dump), 10)
    assert "continuation line" in reasons[1][2]
    assert reasons[2][:2] == (str(dump), 13)
    assert "without a key" in reasons[2][2]


def test_class_filter_and_gzip_dump(tmp_path):
    dump = tmp_path / "ripe.db.gz"
    dump.write_bytes(
        gzip.compress(
            b"person: Jane Doe\nnic-hdl: JD1-TEST\n\n"
            b"role: Abuse desk\nnic-hdl: AB1-TEST\nabuse-mailbox: abuse@example.net\n"
        )
    )
    objects = list(read_rpsl(dump, classes={"role"}))
    assert [(o.object_class, o.get("abuse-mailbox")) for o in objects] == [
        ("role", "abuse@example.net")
    ]
    (slim,) = read_rpsl(dump, classes={"role"}, keep={"abuse-mailbox"})
    assert slim.attributes == (("role", "Abuse desk"), ("abuse-mailbox", "abuse@example.net"))


def test_truncated_gzip_dump_keeps_objects_before_the_break(tmp_path):
    body = b"".join(
        f"inetnum: 10.{i}.0.0 - 10.{i}.255.255\nnetname: NET-{i}\n\n".encode() for i in range(200)
    )
    packed = gzip.compress(body)
    dump = tmp_path / "ripe.db.inetnum.gz"
    dump.write_bytes(packed[: len(packed) * 2 // 3])
    warnings = WarningLog()
    objects = list(read_rpsl(dump, warnings))
    assert 0 < len(objects) < 200
    assert objects[0].get("netname") == "NET-0"
    assert any("truncated" in w.reason for w in warnings)


def test_missing_dump_is_a_warning_not_a_traceback(tmp_path):
    warnings = WarningLog()
    assert list(read_rpsl(tmp_path / "ripe.db.inetnum.gz", warnings)) == []
    (issue,) = warnings
    assert issue.line == 0 and issue.reason == "cannot read: No such file or directory"
