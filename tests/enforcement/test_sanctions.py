"""Orders through the CLI contract, sanctions proposed from missed orders, the public register."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from regworld import T0, add_checks, provider_with_cases
from typer.testing import CliRunner

from hostwatch.cli.app import app as cli
from hostwatch.settings import Settings

ISSUE = T0 + timedelta(hours=1)


def hw(*args: str, now=ISSUE) -> object:
    result = CliRunner().invoke(cli, ["--now", now.isoformat(), *args])
    return result


def issue(provider: str, cases: list[int], hours: str = "12", now=ISSUE) -> str:
    args = ["orders", "issue", "--provider", provider, "--deadline-hours", hours]
    for case in cases:
        args += ["--case", str(case)]
    result = hw(*args, now=now)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_issue_prints_reference_last_and_refuses_what_the_law_does_not_allow(
    settings: Settings,
) -> None:
    _, cases = provider_with_cases(settings.database_url, "Slow Hosting", 2)
    _, other = provider_with_cases(settings.database_url, "Other Hosting", 1)
    _, phishing = provider_with_cases(
        settings.database_url, "Phish Hosting", 1, classification="phishing"
    )
    reference = issue("Slow Hosting", cases)
    assert reference == "ORD-2025-00001"
    assert issue("Slow Hosting", cases[:1], hours="1") == "ORD-2025-00002"
    bad = [
        (
            ["--provider", "Slow Hosting", "--case", str(cases[0]), "--deadline-hours", "13"],
            "outside the range",
        ),
        (["--provider", "Slow Hosting", "--case", str(other[0])], "is not attributed to"),
        (["--provider", "Phish Hosting", "--case", str(phishing[0])], "no removal order"),
        (["--provider", "Nobody", "--case", str(cases[0])], "no provider named"),
        (["--provider", "Slow Hosting", "--case", "999999"], "no case 999999"),
    ]
    for args, message in bad:
        result = hw("orders", "issue", *args)
        assert result.exit_code == 2, args
        assert message in result.stderr
    shown = json.loads(hw("orders", "show", reference).stdout)
    assert shown["reference"] == reference and shown["provider"] == "Slow Hosting"
    assert [c["case_id"] for c in shown["cases"]] == cases
    assert shown["deadline_at"] == "2025-03-03T22:00:00Z"
    # delivered to the provider's abuse address (no order contact registered): the outbox
    assert shown["delivery"].startswith("outbox accepted") or shown["delivery"] == "outbox accepted"
    assert list(Path(settings.outbox_dir).glob(f"{reference}.eml"))


def test_csv_neutralises_hostile_urls(settings: Settings) -> None:
    _, cases = provider_with_cases(settings.database_url, "Slow Hosting", 1)
    issue("Slow Hosting", cases)
    out = hw("orders", "list", "--format", "csv").stdout.splitlines()
    assert out[0].split(",")[:5] == ["reference", "provider", "issued_at", "deadline_at", "status"]
    assert len(out) == 2


def test_checker_outage_at_the_deadline_is_undetermined_never_missed(settings: Settings) -> None:
    _, cases = provider_with_cases(settings.database_url, "Slow Hosting", 1)
    reference = issue("Slow Hosting", cases)
    # online before; around the deadline only hostwatch's own failures; then target gone
    add_checks(
        settings.database_url,
        cases[0],
        ISSUE,
        [
            (0.5, True),
            (11, "resolver-timeout"),
            (12.5, "control-dns-failed"),
            (14, False),
            (15, False),
            (16, False),
        ],
    )
    shown = json.loads(hw("orders", "show", reference, now=ISSUE + timedelta(days=1)).stdout)
    assert shown["cases"][0]["outcome"] == "undetermined"
    assert shown["status"] == "undetermined"


def _missed_order(settings: Settings, cases: list[int], when) -> str:
    reference = issue("Slow Hosting", cases, now=when)
    for case in cases:
        add_checks(settings.database_url, case, when, [(0.5, True), (13, True), (20, True)])
    return reference


@pytest.mark.parametrize("turnover", [None, 400_000.0])
def test_sanction_proposal_from_missed_orders_with_evidence(
    settings: Settings, tmp_path: Path, turnover: float | None
) -> None:
    _, cases = provider_with_cases(settings.database_url, "Slow Hosting", 4)
    refs = [
        _missed_order(settings, [c], ISSUE + timedelta(days=i)) for i, c in enumerate(cases[:3])
    ]
    met = issue("Slow Hosting", cases[3:], now=ISSUE + timedelta(days=5))
    add_checks(
        settings.database_url,
        cases[3],
        ISSUE + timedelta(days=5),
        [(0.5, True), (2, False), (3, False), (4, False)],
    )
    later = ISSUE + timedelta(days=30)
    if turnover is not None:
        assert (
            hw(
                "sanctions",
                "turnover",
                "--provider",
                "Slow Hosting",
                "--year",
                "2025",
                "--amount",
                str(turnover),
                now=later,
            ).exit_code
            == 0
        )
    out = tmp_path / "proposal.json"
    result = hw(
        "sanctions",
        "propose",
        "--provider",
        "Slow Hosting",
        "--period",
        "2025",
        "--out",
        str(out),
        now=later,
    )
    assert result.exit_code == 0, result.output
    proposal = json.loads(out.read_text())
    assert result.stdout.strip().splitlines()[-1] == proposal["reference"]
    assert (proposal["orders"], proposal["orders_missed"], proposal["orders_met"]) == (4, 3, 1)
    assert [e["reference"] for e in proposal["evidence"]] == [*refs, met]
    # each missed URL was proven online 8 hours past its 12-hour deadline (check at 20 h)
    assert proposal["hours_online_past_deadline"] == pytest.approx(3 * 8.0)
    assert proposal["penalty_eur"] == 3 * 5000.0 + 24 * 250.0
    assert proposal["proposed"] == "fine"
    if turnover is None:
        assert proposal["fine_eur"] == 3 * 50_000.0 and "no turnover" in proposal["note"]
    else:
        assert proposal["fine_eur"] == pytest.approx(0.04 * turnover)  # capped at 4 %
    head = proposal["audit_head"]  # the log position the evidence was read at, its event included
    assert head["tree_size"] > 0 and len(head["root_hash"]) == 64

    # the regulator decides and publishes; the provider responds; the register shows no location
    decision = hw(
        "sanctions",
        "decide",
        proposal["reference"],
        "--outcome",
        "fine",
        "--reasons",
        "Three orders missed, e.g. http://slow-0.example/p?id=0 at 10.1.2.3",
        "--publish",
        now=later,
    )
    assert decision.exit_code == 0, decision.output
    again = hw("sanctions", "decide", proposal["reference"], "--outcome", "warning", now=later)
    assert again.exit_code == 2 and "decided already" in again.stderr
    register = json.loads(hw("sanctions", "register", now=later).stdout)
    assert [(e["provider"], e["sanction"], e["orders_missed"]) for e in register] == [
        ("Slow Hosting", "fine", 3)
    ]
    text = json.dumps(register)
    for secret in ("slow-0.example", "10.1.2.3", "http://"):
        assert secret not in text


def test_a_single_missed_order_draws_a_warning_and_repetition_a_fine(settings: Settings) -> None:
    _, cases = provider_with_cases(settings.database_url, "Slow Hosting", 2)
    _missed_order(settings, cases[:1], ISSUE)
    proposal = hw(
        "sanctions",
        "propose",
        "--provider",
        "Slow Hosting",
        "--period",
        "2025-03-01..2025-03-10",
        now=ISSUE + timedelta(days=9),
    )
    assert "proposed: warning" in proposal.stderr
    ref = proposal.stdout.strip().splitlines()[-1]
    assert (
        hw(
            "sanctions", "decide", ref, "--outcome", "warning", now=ISSUE + timedelta(days=10)
        ).exit_code
        == 0
    )
    _missed_order(settings, cases[1:], ISSUE + timedelta(days=20))
    repeated = hw(
        "sanctions",
        "propose",
        "--provider",
        "Slow Hosting",
        "--period",
        "2025-03-15..2025-04-01",
        now=ISSUE + timedelta(days=25),
    )
    assert "proposed: fine" in repeated.stderr


def test_amendment_and_withdrawal_are_new_records(settings: Settings) -> None:
    _, cases = provider_with_cases(settings.database_url, "Slow Hosting", 1)
    reference = issue("Slow Hosting", cases)
    add_checks(settings.database_url, cases[0], ISSUE, [(0.5, True), (7, True)])
    amended = hw("orders", "amend", reference, "--deadline-hours", "6")
    assert amended.exit_code == 0 and amended.stdout.strip() == f"{reference}-A1"
    assert hw("orders", "amend", reference, "--deadline-hours", "24").exit_code == 2
    shown = json.loads(hw("orders", "show", reference, now=ISSUE + timedelta(hours=8)).stdout)
    # online 7 hours after issue: the amended 6-hour deadline was missed
    assert (shown["deadline_hours"], shown["status"]) == (6.0, "missed")
    assert shown["amendments"] == [f"{reference}-A1"]
    withdrawn = hw("orders", "withdraw", reference, "--reason", "issued to the wrong provider")
    assert withdrawn.exit_code == 0
    shown = json.loads(hw("orders", "show", reference, now=ISSUE + timedelta(hours=8)).stdout)
    assert shown["status"] == "withdrawn"
    assert hw("orders", "amend", reference, "--deadline-hours", "6").exit_code == 2
    proposal = hw(
        "sanctions",
        "propose",
        "--provider",
        "Slow Hosting",
        "--period",
        "2025",
        now=ISSUE + timedelta(days=2),
    )
    assert "1 orders, 0 missed; proposed: none" in proposal.stderr
