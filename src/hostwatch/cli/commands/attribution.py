"""Attribution commands: ``hostwatch attribute`` and ``hostwatch providers list|show|add|link``."""

from __future__ import annotations

from typing import Annotated

import typer

providers_app = typer.Typer(
    help="Hosting providers: what they own, corrected by hand.", no_args_is_help=True
)

_PROVENANCE = typer.Option(
    "--provenance", help="Who says so and based on what (kept with the entry; required)."
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def attribute(
    recompute: Annotated[
        bool, typer.Option(help="Attribute every notice again (adds rows; the newest counts).")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(help="Attribute as of this instant instead of each notice's receipt time."),
    ] = None,
    rdap: Annotated[
        bool, typer.Option(help="Ask RDAP for abuse contacts no manual entry or WHOIS gives.")
    ] = False,
    resolve_historical: Annotated[
        bool,
        typer.Option(
            "--resolve-historical",
            help="Resolve hosts of historical notices that have no reported or contemporaneous "
            "address with today's DNS (their attributions are marked stale: resolved later).",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Attribute all notices without an attribution: host, IPs, prefix, AS, provider, contact."""
    from rich.console import Console
    from rich.table import Table

    from hostwatch.attribution.batch import attribute_pending
    from hostwatch.clock import parse_instant
    from hostwatch.model.db import migrate
    from hostwatch.settings import get_settings

    try:
        instant = parse_instant(at) if at else None
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 instant: {at!r}", param_hint="--at") from exc
    settings = get_settings()
    migrate(settings.database_url)
    from hostwatch.attribution.reference import UnusableReferenceError

    try:
        summary = attribute_pending(
            settings,
            at=instant,
            recompute=recompute,
            rdap=rdap,
            progress=progress,
            resolve_historical=resolve_historical,
        )
    except UnusableReferenceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--at") from exc
    table = Table("status", "notices")
    for status, count in sorted(summary.by_status.items()):
        table.add_row(status, f"{count:,}")
    console = Console()
    console.print(table)
    console.print(
        f"{summary.notices:,} notices attributed in {summary.seconds:.1f} s "
        f"({summary.rate:,.0f}/s); {summary.resolved_hosts:,} hosts resolved; "
        f"{summary.providers_created:,} providers created; snapshots: "
        f"{', '.join(sorted(summary.snapshots)) or 'none catalogued'}",
        markup=False,
    )
    origins = ", ".join(
        f"{origin} {count:,}" for origin, count in sorted(summary.by_ip_origin.items()) if origin
    )
    console.print(
        f"IP origin: {origins or 'none'}; {summary.stale:,} stale (a snapshot more than "
        f"{settings.stale_routing_days:g} days before the notice or after it, or resolved more "
        f"than {settings.stale_dns_days:g} days later)",
        markup=False,
    )


@providers_app.command("list")
def providers_list(
    search: Annotated[str | None, typer.Option(help="Only names containing this text.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
) -> None:
    """Providers, most attributed first."""
    from rich.console import Console
    from rich.table import Table

    from hostwatch.attribution.providers import list_providers
    from hostwatch.model.db import session_scope
    from hostwatch.settings import get_settings

    with session_scope(get_settings().database_url) as session:
        rows = list_providers(session, search=search, limit=limit)
    table = Table("id", "name", "kind", "country", "source", "flags", "assets", "attributions")
    for row in rows:
        flags = " ".join(
            f for f, on in (("cdn", row.is_cdn), ("shared", row.is_shared_platform)) if on
        )
        table.add_row(
            str(row.id), row.name, row.kind, row.country or "", row.source, flags,
            f"{row.assets:,}", f"{row.attributions:,}",
        )  # fmt: skip
    Console(markup=False).print(table)


@providers_app.command("show")
def providers_show(name: Annotated[str, typer.Argument(help="Provider name or id.")]) -> None:
    """One provider: its assets and contacts, each with source and provenance."""
    from rich.console import Console
    from rich.table import Table

    from hostwatch.attribution.providers import provider_detail
    from hostwatch.model.db import session_scope
    from hostwatch.settings import get_settings

    with session_scope(get_settings().database_url) as session:
        detail = provider_detail(session, name)
        if detail is None:
            raise _fail(f"no provider named {name!r}")
        console = Console(markup=False, highlight=False)
        p = detail.provider
        console.print(
            f"{p.name} (id {p.id}): {p.kind}, country {p.country or '-'}, source {p.source}"
        )
        if p.is_cdn or p.is_shared_platform:
            console.print("flags: " + ", ".join(
                f for f, on in (("CDN", p.is_cdn), ("shared platform", p.is_shared_platform)) if on
            ))  # fmt: skip
        console.print(f"provenance: {p.provenance or '-'}")
        assets = Table("kind", "value", "standing", "provenance")
        for a in detail.assets:
            assets.add_row(a.kind, a.value, a.standing, a.provenance or "")
        console.print(assets)
        if detail.contacts:
            contacts = Table("contact", "role", "email", "network", "source")
            for c in detail.contacts:
                contacts.add_row(c.name, c.role, c.email or "", c.network or "", c.source)
            console.print(contacts)


@providers_app.command("add")
def providers_add(
    name: Annotated[str, typer.Argument(help="The provider's name.")],
    provenance: Annotated[str, _PROVENANCE],
    kind: Annotated[str, typer.Option(help="hosting | network | cdn | platform | ...")] = "hosting",
    country: Annotated[str | None, typer.Option(help="ISO 3166 country code.")] = None,
    cdn: Annotated[bool, typer.Option("--cdn", help="A CDN: content is behind it.")] = False,
    shared_platform: Annotated[
        bool, typer.Option("--shared-platform", help="A platform hosting many tenants' sites.")
    ] = False,
) -> None:
    """Create a manual provider (or take over an automatic one of that name)."""
    from hostwatch.attribution.providers import add_provider
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            provider = add_provider(
                session, name, now=settings.clock().now(), provenance=provenance, kind=kind,
                country=country, is_cdn=cdn, is_shared_platform=shared_platform,
            )  # fmt: skip
            typer.echo(f"provider {provider.name!r} (id {provider.id}) is manual")
    except ValueError as exc:
        raise _fail(str(exc)) from exc


@providers_app.command("link")
def providers_link(
    name: Annotated[str, typer.Argument(help="Provider name or id.")],
    provenance: Annotated[str, _PROVENANCE],
    asn: Annotated[list[str], typer.Option("--asn", help="An AS number it operates.")] = [],  # noqa: B006
    prefix: Annotated[list[str], typer.Option("--prefix", help="A network it holds (CIDR).")] = [],  # noqa: B006
    org: Annotated[list[str], typer.Option("--org", help="A WHOIS organisation handle.")] = [],  # noqa: B006
    domain: Annotated[list[str], typer.Option("--domain", help="A domain it hosts under.")] = [],  # noqa: B006
    verified: Annotated[
        bool, typer.Option(help="Ownership confirmed by an admin: opens its cases to its users.")
    ] = False,
) -> None:
    """Give a provider assets by hand; they win over automatic data from then on."""
    from hostwatch.attribution.assets import AssetRules
    from hostwatch.attribution.providers import find_provider, link_asset
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    wanted = [("asn", v) for v in asn] + [("prefix", v) for v in prefix]
    wanted += [("org", v) for v in org] + [("domain", v) for v in domain]
    if not wanted:
        raise _fail("give at least one of --asn, --prefix, --org, --domain")
    settings = get_settings()
    migrate(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            provider = find_provider(session, name)
            if provider is None:
                raise _fail(f"no provider named {name!r} (create it with 'providers add')")
            for kind, value in wanted:
                asset = link_asset(
                    session, provider, kind, value, now=settings.clock().now(),
                    provenance=provenance, verified=verified,
                    rules=AssetRules.allowing(settings.allow_networks),
                )  # fmt: skip
                typer.echo(f"{provider.name}: {asset.kind} {asset.value} ({asset.standing})")
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    app.command("attribute")(attribute)
    app.add_typer(providers_app, name="providers")
