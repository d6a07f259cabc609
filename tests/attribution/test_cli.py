"""The commands: ``hostwatch attribute`` and ``hostwatch providers``, through the real CLI app."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from hostwatch.cli.app import app

WHEN = datetime(2026, 7, 1, 12, tzinfo=UTC)


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


def test_attribute_then_correct_a_provider_by_hand(
    settings, tmp_path: Path, catalogue, add_notices
) -> None:
    folder = tmp_path / "tables_2026-06-01"
    folder.mkdir()
    table = folder / "routes.tsv"
    table.write_text("prefix\torigin_asn\n45.10.0.0/16\t64496\n")
    catalogue(routing=[table])
    add_notices([("http://45.10.20.7/", WHEN, None), ("http://10.0.0.1/", WHEN, None)])

    result = _run("attribute", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "2 notices attributed" in result.output
    assert "bogon" in result.output and "routing:1" in result.output

    listed = _run("providers", "list")
    assert "AS64496" in listed.output

    assert _run("providers", "add", "Datacentre B.V.", "--provenance", "KvK 1234").exit_code == 0
    linked = _run(
        "providers", "link", "Datacentre B.V.", "--asn", "AS64496", "--prefix", "45.10.0.0/16",
        "--provenance", "KvK 1234",
    )  # fmt: skip
    assert linked.exit_code == 0, linked.output
    shown = _run("providers", "show", "Datacentre B.V.")
    assert "64496" in shown.output and "45.10.0.0/16" in shown.output
    assert "KvK 1234" in shown.output and "manual" in shown.output

    assert _run("attribute", "--recompute", "--no-progress").exit_code == 0
    listed = _run("providers", "list", "--search", "Datacentre")
    assert "Datacentre B.V." in listed.output and "manual" in listed.output


def test_link_refuses_bad_assets_with_a_reason(settings) -> None:
    assert _run("providers", "add", "Shop", "--provenance", "x").exit_code == 0
    bad_prefix = _run("providers", "link", "Shop", "--prefix", "45.10.1.0/16", "--provenance", "x")
    assert bad_prefix.exit_code == 2 and "host bits set" in bad_prefix.output
    default = _run("providers", "link", "Shop", "--prefix", "0.0.0.0/0", "--provenance", "x")
    assert default.exit_code == 2 and "default route" in default.output
    bad_asn = _run("providers", "link", "Shop", "--asn", "ASX", "--provenance", "x")
    assert bad_asn.exit_code == 2 and "not an AS number" in bad_asn.output
    missing = _run("providers", "link", "Nobody", "--asn", "1", "--provenance", "x")
    assert missing.exit_code == 2 and "no provider named" in missing.output
    no_provenance = _run("providers", "add", "Other", "--provenance", " ")
    assert no_provenance.exit_code == 2 and "provenance" in no_provenance.output


def test_attribute_rejects_a_bad_instant(settings) -> None:
    result = CliRunner().invoke(app, ["attribute", "--at", "yesterday"])
    assert result.exit_code != 0
