"""Settings from the environment (``HOSTWATCH_*``) and an optional TOML file.

Precedence, highest first: explicit overrides (command-line options), environment variables, the
TOML file named by ``HOSTWATCH_CONFIG`` (or ``hostwatch.toml`` in the working directory), defaults.
The defaults are the embedded setup: a SQLite file and an e-mail outbox folder in the working
directory, so that ``hostwatch demo`` needs nothing configured.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hostwatch.clock import Clock, parse_instant
from hostwatch.setting_sources import DEFAULT_STATE_DIR, NoDecode, from_sources


class Settings(BaseModel):
    """Everything a deployment can change; each field is documented for ``hostwatch settings``.

    ``Settings(**values)`` reads the environment and the TOML file under the values given.
    """

    model_config = ConfigDict(extra="ignore")

    #: False in a subclass whose settings must come from its arguments alone (the demo's).
    read_sources: ClassVar[bool] = True

    def __init__(self, **values: Any) -> None:
        sources = from_sources(type(self).model_fields) if self.read_sources else {}
        super().__init__(**{**sources, **values})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "settings_customise_sources" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__}: hostwatch settings do not use pydantic-settings sources; set "
                "read_sources = False for settings from the arguments alone"
            )
        super().__init_subclass__(**kwargs)

    database_url: str = Field(
        "sqlite:///hostwatch.db",
        description="SQLAlchemy URL: a SQLite file (embedded) or postgresql://... (service).",
    )
    state_dir: Path = Field(
        DEFAULT_STATE_DIR,
        description="Folder for stored reference snapshots (binary tables), caches, rejects.",
    )
    outbox_dir: Path = Field(
        Path("outbox"), description="Where messages are written as .eml files when no SMTP is set."
    )
    smtp_url: str | None = Field(
        None,
        description="smtp://[user:pass@]host:port[?starttls=1] or smtps://...; unset = outbox.",
    )
    now: datetime | None = Field(
        None, description="Pin the clock to this instant (ISO 8601); unset = the system clock."
    )
    allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs the liveness checker may reach despite the private-address rule.",
    )
    offline_after: int = Field(3, ge=1, description="Failed checks in a row before 'offline'.")
    offline_spacing_minutes: float = Field(
        60.0, ge=0, description="Minimum spacing between the failed checks that confirm offline."
    )
    check_interval_hours: float = Field(
        6.0, gt=0, description="How often an online URL is checked while its case is open."
    )
    renotice_hours: float = Field(24.0, gt=0, description="Re-notice interval while online.")
    resolver: str | None = Field(
        None, description="DNS server as host[:port] for attribution and checks; unset = system."
    )
    stale_routing_days: float = Field(
        31.0,
        gt=0,
        description="A routing table (or other reference snapshot) further than this from a "
        "notice's time makes its attribution stale.",
    )
    stale_dns_days: float = Field(
        1.0,
        gt=0,
        description="A DNS answer further than this from a notice's time is not contemporaneous: "
        "resolved later (stale) or, for a historical notice, not used at all.",
    )
    control_dns_name: str | None = Field(
        None,
        description="A name the resolver must resolve with each batch of checks, or the "
        "batch's failures are inconclusive; unset = no DNS control.",
    )
    control_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated URLs that must all be reachable with each batch of "
        "checks, or the batch's failures are inconclusive; empty = no URL control.",
    )
    notifier_name: str = Field("hostwatch hotline", description="Notifier identity (DSA art. 16).")
    notifier_email: str = Field("hotline@hostwatch.invalid", description="From: of notices.")
    country: str = Field("NL", description="The country whose national total the report uses.")
    referral_routes: Path | None = Field(
        None,
        description="Referral routing table (TOML): which authority, partner hotline or CERT a "
        "case goes to by category and hosting country; unset = the shipped referrals.toml.",
    )
    portal_url: str = Field(
        "https://hostwatch.invalid",
        description="Public base address of the portal and API, for the provider-feed link "
        "that notices carry.",
    )
    order_policy: Path | None = Field(
        None, description="Removal-order deadline policy (TOML); unset = the shipped orders.toml."
    )
    report_min_cases: int = Field(
        10,
        ge=1,
        description="Cases a provider needs in the period before the public report names it; "
        "the others are one group.",
    )
    report_publisher: str = Field(
        "hostwatch monitor",
        description="Publisher printed on the report's title page (the hotline or ministry).",
    )
    pseudonym_key: str = Field(
        "hostwatch-default-pseudonym-key",
        description="Secret for the keyed hashes of the researcher export; set your own.",
    )

    audit_key_file: Path | None = Field(
        None,
        description="Ed25519 key (PEM or raw 32-byte seed) that signs audit-log heads; keep it "
        "outside the database. Create one with `hostwatch audit keygen --out FILE`.",
    )

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    @field_validator("control_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("now", mode="before")
    @classmethod
    def _parse_now(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            return parse_instant(value)
        return value or None

    def clock(self) -> Clock:
        """The clock these settings describe: pinned (and running) at ``now`` or the system's."""
        return Clock.at(self.now, running=True) if self.now else Clock.system()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_overrides: dict[str, Any] = {}


def override(**overrides: Any) -> None:
    """Set command-line overrides for this process; settings are built when first asked for.

    The CLI calls this before every command, so a command that needs no settings (or only
    ``--help``) does not pay for building them.
    """
    _overrides.clear()
    _overrides.update({k: v for k, v in overrides.items() if v is not None})
    get_settings.cache_clear()


def configure(**overrides: Any) -> Settings:
    """Set command-line overrides for this process and return the resulting settings."""
    override(**overrides)
    return get_settings()


@cache
def get_settings() -> Settings:
    return Settings(**_overrides)
