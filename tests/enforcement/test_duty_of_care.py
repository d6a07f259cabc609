"""The duty-of-care scorecard from records: orders, repeat offences, a reseller after a warning."""

from __future__ import annotations

import json
from datetime import timedelta

from regworld import T0, add_checks, provider_with_cases
from test_sanctions import ISSUE, hw, issue

from hostwatch.model import Attribution, Case
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings


def _reseller(
    db_url: str, case_id: int, reseller: str, removed_after_h: float | None, opened_after_d: float
) -> None:
    with session_scope(db_url) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.reseller = reseller
        case.opened_at = T0 + timedelta(days=opened_after_d)
        if removed_after_h is not None:
            case.removed_at = case.opened_at + timedelta(hours=removed_after_h)


def _seen(db_url: str, case_id: int, provider_id: int, reseller: str, days: float) -> None:
    with session_scope(db_url) as session:
        case = session.get(Case, case_id)
        assert case is not None
        at = T0 + timedelta(days=days)
        session.add(
            Attribution(
                url_id=case.url_id,
                at=at,
                computed_at=at,
                status="ok",
                host="h",
                provider_id=provider_id,
                reseller=reseller,
            )
        )


def test_scorecard(settings: Settings) -> None:
    db = settings.database_url
    provider_id, cases = provider_with_cases(db, "Slow Hosting", 4)
    _reseller(db, cases[0], "Bulletproof Reseller", 10, 0)
    _reseller(db, cases[1], "Bulletproof Reseller", None, 5)  # after the first removal
    _reseller(db, cases[2], "Quiet Reseller", None, 0)
    reference = issue("Slow Hosting", cases[1:2])
    add_checks(db, cases[1], ISSUE, [(0.5, True), (13, True)])
    proposal = hw(
        "sanctions",
        "propose",
        "--provider",
        "Slow Hosting",
        "--period",
        "2025",
        now=ISSUE + timedelta(days=2),
    )
    assert "proposed: warning" in proposal.stderr
    decided = hw(
        "sanctions",
        "decide",
        proposal.stdout.strip().splitlines()[-1],
        "--outcome",
        "warning",
        now=ISSUE + timedelta(days=3),
    )
    assert decided.exit_code == 0, decided.output
    # the reseller is seen in the provider's space 10 days after the warning, then no more,
    # while the provider's newest attribution (another customer) is later still
    _seen(db, cases[1], provider_id, "Bulletproof Reseller", 13)
    _seen(db, cases[3], provider_id, "Someone Else", 40)

    card = json.loads(
        hw(
            "sanctions",
            "scorecard",
            "--provider",
            "Slow Hosting",
            "--period",
            "2025",
            now=T0 + timedelta(days=60),
        ).stdout
    )
    assert card["orders"]["missed"] == 1
    assert card["orders"]["urls_missed"] == 1
    assert card["repeat_offences"] == [
        {"reseller": "Bulletproof Reseller", "removals": 1, "cases_after": 1}
    ]
    (warning,) = card["warnings"]
    assert warning["outcome"] == "warning"
    (reseller,) = warning["resellers"]
    assert reseller["reseller"] == "Bulletproof Reseller" and not reseller["still_present"]
    assert 9.5 < reseller["days_warning_to_last_seen"] < 10.5
    assert card["orders"]["received"] == 1 and reference
