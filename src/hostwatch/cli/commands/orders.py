"""The regulator's commands: removal orders, sanctions, turnovers and the public register."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

orders_app = typer.Typer(
    help="Removal orders: issue, list, show, amend, withdraw.", no_args_is_help=True
)
sanctions_app = typer.Typer(
    help="Sanctions: propose from missed orders, decide, record responses and turnovers.",
    no_args_is_help=True,
)

_POLICY = typer.Option("--policy", help="Order policy TOML (default: the shipped orders.toml).")
_ACTOR = typer.Option("--actor", help="Who does this, for the audit log.")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@orders_app.command("issue")
def orders_issue(
    provider: Annotated[str, typer.Option(help="The hosting provider's name.")],
    case: Annotated[list[int], typer.Option("--case", help="A case id; repeat for more.")],
    deadline_hours: Annotated[
        float | None,
        typer.Option(help="Hours to comply (default and allowed range: the order policy)."),
    ] = None,
    basis: Annotated[str | None, typer.Option(help="The legal basis, as stated.")] = None,
    policy: Annotated[Path | None, _POLICY] = None,
    actor: Annotated[str, _ACTOR] = "cli:regulator",
) -> None:
    """Issue a removal order and send it; prints the order's reference on the last line."""
    from hostwatch.enforcement.deadlines import OrderPolicyError, load_order_policy
    from hostwatch.enforcement.orders import OrderError, issue_order
    from hostwatch.model.db import migrate, session_factory, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.notify import deliver_pending
    from hostwatch.takedown.policy import load_policy
    from hostwatch.takedown.send import Transport

    settings = get_settings()
    migrate(settings.database_url)
    clock = settings.clock()
    try:
        order_policy = load_order_policy(policy or settings.order_policy)
        with session_scope(settings.database_url) as session:
            order = issue_order(
                session,
                provider_name=provider,
                case_ids=case,
                deadline_hours=deadline_hours,
                basis=basis,
                policy=order_policy,
                settings=settings,
                now=clock.now(),
                actor=actor,
            )
            reference, message = order.reference, order.message_id
            deadline = order.deadline_at
    except (OrderError, OrderPolicyError) as exc:
        raise _fail(str(exc)) from exc
    if message is None:
        typer.echo("warning: the provider has no order or abuse contact: not delivered", err=True)
    else:
        sent = deliver_pending(
            session_factory(settings.database_url),
            settings,
            load_policy(settings),
            Transport(settings),
            clock.now(),
            only=[message],
        )
        state = "sent" if sent.sent else "queued for retry" if sent.tempfail else "NOT delivered"
        typer.echo(
            f"order {reference}: deadline {deadline.isoformat()}, delivery {state}", err=True
        )
    typer.echo(reference)


def _views(reference: str | None = None) -> list[dict[str, object]]:
    from hostwatch.enforcement.orders import view_orders
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        views = view_orders(
            session,
            now=settings.clock().now(),
            offline_after=settings.offline_after,
            reference=reference,
        )
        return [v.as_json() for v in views]


@orders_app.command("list")
def orders_list(
    output: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
) -> None:
    """Every order with its status and each case's outcome, judged from the checks now."""
    rows = _views()
    if output == "json":
        typer.echo(json.dumps(rows, indent=2))
    elif output == "csv":
        _csv(rows)
    elif output == "table":
        _table(rows)
    else:
        raise _fail("--format is one of table, json, csv")


@orders_app.command("show")
def orders_show(reference: Annotated[str, typer.Argument(help="The order's reference.")]) -> None:
    """One order as JSON: cases, outcomes, delivery proof, acknowledgement, objections."""
    rows = _views(reference)
    if not rows:
        raise _fail(f"no order {reference!r}")
    typer.echo(json.dumps(rows[0], indent=2))


def _csv(rows: list[dict[str, object]]) -> None:
    import sys

    from hostwatch.csv_safety import SafeWriter

    writer = SafeWriter(sys.stdout)
    writer.writerow(
        [
            "reference",
            "provider",
            "issued_at",
            "deadline_at",
            "status",
            "case_id",
            "url",
            "outcome",
            "removed_at",
        ]
    )
    for row in rows:
        for case in row["cases"]:  # type: ignore[attr-defined]
            writer.writerow(
                (
                    row["reference"],
                    row["provider"],
                    row["issued_at"],
                    row["deadline_at"],
                    row["status"],
                    case["case_id"],
                    case["url"],
                    case["outcome"],
                    case["removed_at"],
                )
            )


def _table(rows: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("reference", "provider", "issued", "deadline", "status", "cases")
    for row in rows:
        outcomes = [c["outcome"] for c in row["cases"]]  # type: ignore[attr-defined]
        summary = ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes))
        table.add_row(
            str(row["reference"]),
            str(row["provider"]),
            str(row["issued_at"]),
            str(row["deadline_at"]),
            str(row["status"]),
            summary,
        )
    Console().print(table)


def _change(
    reference: str,
    deadline_hours: float | None,
    basis: str | None,
    withdraw: bool,
    policy: Path | None,
    actor: str,
) -> None:
    from hostwatch.enforcement.deadlines import OrderPolicyError, load_order_policy
    from hostwatch.enforcement.orders import OrderError, amend_order
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            change = amend_order(
                session,
                reference,
                deadline_hours=deadline_hours,
                basis=basis,
                withdraw=withdraw,
                policy=load_order_policy(policy or settings.order_policy),
                now=settings.clock().now(),
                actor=actor,
            )
            typer.echo(change.reference)
    except (OrderError, OrderPolicyError) as exc:
        raise _fail(str(exc)) from exc


@orders_app.command("amend")
def orders_amend(
    reference: Annotated[str, typer.Argument(help="The order to amend.")],
    deadline_hours: Annotated[float, typer.Option(help="The new deadline, from issue.")],
    basis: Annotated[str | None, typer.Option(help="A corrected legal basis.")] = None,
    policy: Annotated[Path | None, _POLICY] = None,
    actor: Annotated[str, _ACTOR] = "cli:regulator",
) -> None:
    """Amend an order's deadline or basis: a new record; the original stays as issued."""
    _change(reference, deadline_hours, basis, False, policy, actor)


@orders_app.command("withdraw")
def orders_withdraw(
    reference: Annotated[str, typer.Argument(help="The order to withdraw.")],
    reason: Annotated[str, typer.Option(help="Why the order is withdrawn.")],
    actor: Annotated[str, _ACTOR] = "cli:regulator",
) -> None:
    """Withdraw an order: a new record; the order no longer counts in compliance."""
    _change(reference, None, reason, True, None, actor)


@sanctions_app.command("propose")
def sanctions_propose(
    provider: Annotated[str, typer.Option(help="The hosting provider's name.")],
    period: Annotated[str, typer.Option(help="2025, 2025Q1 or FROM..TO: orders issued in it.")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Sanction policy TOML (default: shipped).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the proposal with its evidence as JSON here.")
    ] = None,
    actor: Annotated[str, _ACTOR] = "cli:regulator",
) -> None:
    """Propose a sanction from the provider's missed orders in a period; prints its reference."""
    from hostwatch.enforcement.sanctions import SanctionError, load_sanction_policy, propose
    from hostwatch.metrics.period import parse_period
    from hostwatch.model.audit_heads import optional_key
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    try:
        window = parse_period(period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    try:
        with session_scope(settings.database_url) as session:
            proposal = propose(
                session,
                provider_name=provider,
                period=(window.start, window.end),
                period_label=window.label,
                policy=load_sanction_policy(policy),
                now=settings.clock().now(),
                offline_after=settings.offline_after,
                actor=actor,
                audit_key=optional_key(settings.audit_key_file),
            )
            document = {"reference": proposal.reference, **(proposal.data or {})}
    except SanctionError as exc:
        raise _fail(str(exc)) from exc
    if out is not None:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    typer.echo(
        f"{document['provider']}: {document['orders']} orders, {document['orders_missed']} "
        f"missed; proposed: {document['proposed']} {document['amount_eur']:,.2f} EUR",
        err=True,
    )
    typer.echo(document["reference"])


@sanctions_app.command("decide")
def sanctions_decide(
    proposal: Annotated[str, typer.Argument(help="The proposal's reference.")],
    outcome: Annotated[str, typer.Option(help="none | warning | penalty | fine")],
    amount: Annotated[
        float | None, typer.Option(help="Amount in EUR (default: the proposal's).")
    ] = None,
    reasons: Annotated[str | None, typer.Option(help="The decision's reasons.")] = None,
    publish: Annotated[bool, typer.Option(help="Put it in the public register.")] = False,
    actor: Annotated[str, _ACTOR] = "cli:regulator",
) -> None:
    """Record the regulator's decision on a proposal; prints the decision's reference."""
    from hostwatch.enforcement.sanctions import SanctionError, decide
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            decision = decide(
                session,
                proposal,
                outcome=outcome,
                amount_eur=amount,
                text=reasons,
                publish=publish,
                now=settings.clock().now(),
                actor=actor,
            )
            typer.echo(decision.reference)
    except SanctionError as exc:
        raise _fail(str(exc)) from exc


@sanctions_app.command("turnover")
def sanctions_turnover(
    provider: Annotated[str, typer.Option(help="The hosting provider's name.")],
    year: Annotated[int, typer.Option(help="The financial year.")],
    amount: Annotated[float, typer.Option(help="Annual turnover in EUR.")],
    actor: Annotated[str, _ACTOR] = "cli:regulator",
) -> None:
    """Enter a provider's annual turnover: the base of the fine ceiling."""
    from hostwatch.enforcement.sanctions import SanctionError, set_turnover
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            set_turnover(session, provider, year, amount, settings.clock().now(), actor)
    except SanctionError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"{provider}: turnover {year} = {amount:,.2f} EUR")


@sanctions_app.command("scorecard")
def sanctions_scorecard(
    provider: Annotated[str, typer.Option(help="The hosting provider's name.")],
    period: Annotated[str, typer.Option(help="2025, 2025Q1 or FROM..TO.")],
) -> None:
    """The duty-of-care scorecard of a provider over a period, as JSON."""
    from sqlalchemy import select

    from hostwatch.metrics.duty_of_care import provider_scorecard
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.model.party import Provider
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        provider_id = session.scalar(select(Provider.id).where(Provider.name == provider))
        if provider_id is None:
            raise _fail(f"no provider named {provider!r}")
        try:
            card = provider_scorecard(
                session,
                provider_id,
                period,
                now=settings.clock().now(),
                offline_after=settings.offline_after,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--period") from exc
    typer.echo(json.dumps(card, indent=2, default=str))


@sanctions_app.command("register")
def sanctions_register() -> None:
    """The public register: published decisions, no URL, host or IP."""
    from hostwatch.enforcement.register import public_register
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        entries = [e.as_json() for e in public_register(session)]
    typer.echo(json.dumps(entries, indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(orders_app, name="orders")
    app.add_typer(sanctions_app, name="sanctions")
