"""RDAP for one-off lookups: which network holds an address, who registered it, whom to notify;
and, for a registered domain, its registrar and the registrar's abuse contact.

The IANA bootstrap files say which RIR's server answers for an address; answers are cached on disk
(with a time-to-live, on the project clock) because RIRs rate-limit hard, and requests per server
go through a token bucket; a 429 (or 503) with Retry-After is waited out and retried. The network
object is reduced to what attribution needs: range, CIDRs, country, parent handle and the contacts
by role, the abuse mailbox first.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from hostwatch.clock import Clock, parse_instant
from hostwatch.settings import Settings

USER_AGENT = "hostwatch-rdap/0.1 (+https://github.com/hostwatch)"


class RdapError(Exception):
    """An RDAP lookup failed: no server, HTTP error, rate limit not lifted, or a bad answer."""


class RdapNotFound(RdapError):
    """The server has no object for the query (HTTP 404)."""


@dataclass(frozen=True, slots=True)
class RdapEntity:
    """A contact or organisation attached to an object, with its roles and e-mail addresses."""

    handle: str | None
    roles: tuple[str, ...]
    name: str | None
    kind: str | None
    emails: tuple[str, ...]
    entities: tuple[RdapEntity, ...]


@dataclass(frozen=True, slots=True)
class RdapNetwork:
    """An RDAP ip network object, reduced to what attribution uses."""

    handle: str | None
    name: str | None
    type: str | None
    start_address: str | None
    end_address: str | None
    ip_version: int | None
    cidrs: tuple[str, ...]
    country: str | None
    parent_handle: str | None
    entities: tuple[RdapEntity, ...]
    abuse_emails: tuple[str, ...]
    port43: str | None
    url: str
    fetched_at: datetime | None
    from_cache: bool

    @property
    def abuse_contact(self) -> str | None:
        return self.abuse_emails[0] if self.abuse_emails else None

    def entities_with_role(self, role: str) -> list[RdapEntity]:
        """All entities (nested ones too) holding ``role``, outermost first."""
        return [entity for entity in _walk(self.entities) if role in entity.roles]

    @property
    def registrant(self) -> str | None:
        for entity in self.entities_with_role("registrant"):
            if entity.name:
                return entity.name
        return None


@dataclass(frozen=True, slots=True)
class RdapDomain:
    """An RDAP domain object, reduced to the registrar and whom to notify there."""

    name: str
    handle: str | None
    registrar: str | None
    registrar_iana_id: str | None
    abuse_emails: tuple[str, ...]
    url: str

    @property
    def abuse_contact(self) -> str | None:
        return self.abuse_emails[0] if self.abuse_emails else None


class RdapBootstrap:
    """IANA RFC 7484 bootstrap registries: IP block, ASN range or TLD -> RDAP base URLs."""

    def __init__(
        self,
        networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]],
        asn_ranges: list[tuple[int, int, str]],
        tlds: dict[str, str] | None = None,
    ) -> None:
        self._networks = sorted(networks, key=lambda item: -item[0].prefixlen)
        self._asn_ranges = asn_ranges
        self._tlds = tlds or {}

    @classmethod
    def load(cls, directory: Path | str) -> RdapBootstrap:
        """Read ``ipv4.json``, ``ipv6.json``, ``asn.json`` and ``dns.json`` from a folder (any
        may be absent)."""
        directory = Path(directory)
        networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
        asn_ranges: list[tuple[int, int, str]] = []
        for name in ("ipv4.json", "ipv6.json"):
            for entries, url in _services(directory / name):
                for entry in entries:
                    try:
                        networks.append((ipaddress.ip_network(entry, strict=False), url))
                    except ValueError as exc:
                        raise RdapError(f"{directory / name}: bad network {entry!r}") from exc
        for entries, url in _services(directory / "asn.json"):
            for entry in entries:
                low, _, high = entry.partition("-")
                try:
                    asn_ranges.append((int(low), int(high or low), url))
                except ValueError as exc:
                    raise RdapError(f"{directory / 'asn.json'}: bad range {entry!r}") from exc
        tlds = {
            entry.strip(".").lower(): url
            for entries, url in _services(directory / "dns.json")
            for entry in entries
        }
        return cls(networks, asn_ranges, tlds)

    def base_url_for_domain(self, name: str) -> str | None:
        """The server of the longest bootstrapped suffix of ``name`` (a TLD, or more labels)."""
        labels = name.strip(".").lower().split(".")
        for start in range(len(labels)):
            url = self._tlds.get(".".join(labels[start:]))
            if url is not None:
                return url
        return None

    def base_url_for_ip(self, address: str) -> str | None:
        ip = ipaddress.ip_address(clean_address(address))
        for network, url in self._networks:
            if network.version == ip.version and ip in network:
                return url
        return None

    def base_url_for_asn(self, asn: int) -> str | None:
        for low, high, url in self._asn_ranges:
            if low <= asn <= high:
                return url
        return None


def _services(path: Path) -> list[tuple[list[str], str]]:
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        out = []
        for entries, urls in document["services"]:
            https = [u for u in urls if u.startswith("https://")]
            out.append((list(entries), (https or urls)[0]))
        return out
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise RdapError(f"{path}: not an RDAP bootstrap file ({exc})") from exc


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts of up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds waited."""
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if wait:
                self._sleep(wait)
                self._tokens = 1.0
                self._stamp = self._monotonic()
            self._tokens -= 1
            return wait

    def pause(self, seconds: float) -> None:
        """Server said wait (Retry-After): no token until then, for every caller."""
        with self._lock:
            self._sleep(seconds)
            self._tokens = 0.0
            self._stamp = self._monotonic()


class RdapClient:
    """Cached, rate-limited RDAP lookups; ``base_url`` overrides the bootstrap for every query."""

    def __init__(
        self,
        *,
        bootstrap: RdapBootstrap | None = None,
        base_url: str | None = None,
        cache_dir: Path | None = None,
        ttl: timedelta = timedelta(hours=24),
        rate_per_second: float = 1.0,
        burst: int = 3,
        max_retries: int = 3,
        max_retry_after: float = 120.0,
        timeout: float = 15.0,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if bootstrap is None and base_url is None:
            raise ValueError("an RDAP client needs a bootstrap or a base_url")
        self.bootstrap = bootstrap
        self.base_url = base_url
        self.cache_dir = cache_dir
        self.ttl = ttl
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.clock = clock
        self._sleep = sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            headers={"Accept": "application/rdap+json", "User-Agent": USER_AGENT},
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> RdapClient:
        """A client caching under ``<state_dir>/rdap-cache`` and on the settings' clock."""
        options.setdefault("cache_dir", Path(settings.state_dir) / "rdap-cache")
        options.setdefault("clock", settings.clock())
        return cls(**options)

    def __enter__(self) -> RdapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def ip(self, address: str) -> RdapNetwork:
        """The most specific network the registry holds for ``address``."""
        try:
            address = str(ipaddress.ip_address(clean_address(address)))
        except ValueError as exc:
            raise RdapError(f"not an IP address: {address!r}") from exc
        base = self.base_url
        if base is None and self.bootstrap is not None:
            base = self.bootstrap.base_url_for_ip(address)
        if base is None:
            raise RdapError(f"no RDAP server is bootstrapped for {address}")
        url = base.rstrip("/") + "/ip/" + address
        document, fetched_at, from_cache = self._get_json(url)
        return parse_network(document, url=url, fetched_at=fetched_at, from_cache=from_cache)

    def domain(self, name: str) -> RdapDomain:
        """The registry's domain object for a registered domain: its registrar and abuse desk."""
        name = name.strip().strip(".").lower()
        if not name or "/" in name or any(c.isspace() for c in name):
            raise RdapError(f"not a domain name: {name!r}")
        try:
            ldh = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise RdapError(f"not a domain name: {name!r}") from exc
        base = self.base_url
        if base is None and self.bootstrap is not None:
            base = self.bootstrap.base_url_for_domain(ldh)
        if base is None:
            raise RdapError(f"no RDAP server is bootstrapped for {name}")
        url = base.rstrip("/") + "/domain/" + ldh
        document, _, _ = self._get_json(url)
        return parse_domain(document, url=url)

    def _get_json(self, url: str) -> tuple[dict[str, Any], datetime, bool]:
        cached = self._from_cache(url)
        if cached is not None:
            return cached[0], cached[1], True
        bucket = self._bucket(urlsplit(url).netloc)
        response = self._send(url, bucket)
        if response.status_code == 404:
            raise RdapNotFound(f"{url}: not found")
        if response.status_code != 200:
            raise RdapError(f"{url}: HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError as exc:
            raise RdapError(f"{url}: answer is not JSON") from exc
        if not isinstance(document, dict):
            raise RdapError(f"{url}: answer is not a JSON object")
        fetched_at = self.clock.now()
        self._to_cache(url, document, fetched_at)
        return document, fetched_at, False

    def _send(self, url: str, bucket: TokenBucket) -> httpx.Response:
        """GET through the server's token bucket, waiting out 429/503 Retry-After a few times."""
        attempt = 0
        while True:
            bucket.acquire()
            try:
                response = self._http.get(url)
            except httpx.HTTPError as exc:
                raise RdapError(f"{url}: {exc}") from exc
            if response.status_code not in (429, 503):
                return response
            if attempt == self.max_retries:
                raise RdapError(f"{url}: still rate limited after {attempt + 1} tries")
            bucket.pause(self._retry_after(response))
            attempt += 1

    def _retry_after(self, response: httpx.Response) -> float:
        value = response.headers.get("Retry-After", "").strip()
        seconds = 1.0
        if value.isdigit():
            seconds = float(value)
        elif value:
            try:
                seconds = (parsedate_to_datetime(value) - self.clock.now()).total_seconds()
            except (TypeError, ValueError):
                seconds = 1.0
        return min(max(seconds, 0.0), self.max_retry_after)

    def _bucket(self, host: str) -> TokenBucket:
        with self._lock:
            if host not in self._buckets:
                self._buckets[host] = TokenBucket(
                    self.rate_per_second, self.burst, sleep=self._sleep
                )
            return self._buckets[host]

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def _from_cache(self, url: str) -> tuple[dict[str, Any], datetime] | None:
        path = self._cache_path(url)
        if path is None or not path.exists():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            fetched_at = parse_instant(entry["fetched_at"])
            document = entry["document"]
        except (ValueError, KeyError, TypeError):
            return None  # a damaged cache entry is refetched and overwritten
        if entry.get("url") != url or self.clock.now() - fetched_at > self.ttl:
            return None
        return document, fetched_at

    def _to_cache(self, url: str, document: dict[str, Any], fetched_at: datetime) -> None:
        path = self._cache_path(url)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"url": url, "fetched_at": fetched_at.isoformat(), "document": document}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(entry), encoding="utf-8")
        temporary.replace(path)


def parse_network(
    document: dict[str, Any],
    *,
    url: str = "",
    fetched_at: datetime | None = None,
    from_cache: bool = False,
) -> RdapNetwork:
    """Reduce an RDAP ip network answer; tolerant of the RIRs' differing habits.

    Seen in real answers: '62.239.237.0/32' as a start address (RIPE), zero-padded octets
    '074.125.000.000' (ARIN), upper-case IPv6, entities without roles (AFRINIC).
    """
    if not isinstance(document, dict):
        raise RdapError("RDAP answer is not a JSON object")
    object_class = document.get("objectClassName")
    if object_class not in (None, "ip network"):
        raise RdapError(f"RDAP answer is a {object_class!r}, not an ip network")
    start = _address_or_none(document.get("startAddress"))
    end = _address_or_none(document.get("endAddress"))
    version = {"v4": 4, "v6": 6}.get(str(document.get("ipVersion", "")).lower())
    if version is None and start is not None:
        version = ipaddress.ip_address(start).version
    entities = tuple(_entity(e) for e in document.get("entities") or [] if isinstance(e, dict))
    abuse: list[str] = []
    for entity in _walk(entities):
        if "abuse" in entity.roles:
            for email in entity.emails:
                if email.lower() not in (known.lower() for known in abuse):
                    abuse.append(email)
    country = document.get("country")
    return RdapNetwork(
        handle=_text(document.get("handle")),
        name=_text(document.get("name")),
        type=_text(document.get("type")),
        start_address=start,
        end_address=end,
        ip_version=version,
        cidrs=_cidrs(document, start, end),
        country=country.upper() if isinstance(country, str) and country else None,
        parent_handle=_text(document.get("parentHandle")),
        entities=entities,
        abuse_emails=tuple(abuse),
        port43=_text(document.get("port43")),
        url=url,
        fetched_at=fetched_at,
        from_cache=from_cache,
    )


def parse_domain(document: dict[str, Any], *, url: str = "") -> RdapDomain:
    """Reduce an RDAP domain answer to its registrar (ICANN's RDAP profile: an entity with role
    ``registrar``, its IANA id in ``publicIds``, its abuse desk a nested ``abuse`` entity)."""
    if not isinstance(document, dict):
        raise RdapError("RDAP answer is not a JSON object")
    object_class = document.get("objectClassName")
    if object_class not in (None, "domain"):
        raise RdapError(f"RDAP answer is a {object_class!r}, not a domain")
    name = _text(document.get("ldhName")) or _text(document.get("unicodeName"))
    if name is None:
        raise RdapError("RDAP domain answer without a name")
    entities = tuple(_entity(e) for e in document.get("entities") or [] if isinstance(e, dict))
    registrar = next((e for e in _walk(entities) if "registrar" in e.roles), None)
    iana_id = None
    for raw in document.get("entities") or []:
        if isinstance(raw, dict) and "registrar" in (raw.get("roles") or []):
            for public in raw.get("publicIds") or []:
                if isinstance(public, dict) and "iana" in str(public.get("type", "")).lower():
                    iana_id = _text(str(public.get("identifier", "")))
    scope = registrar.entities if registrar is not None else entities
    abuse: list[str] = []
    for entity in _walk(scope):
        if "abuse" in entity.roles:
            abuse += [e for e in entity.emails if e.lower() not in (a.lower() for a in abuse)]
    return RdapDomain(
        name=name.lower().rstrip("."),
        handle=_text(document.get("handle")),
        registrar=registrar.name if registrar is not None else None,
        registrar_iana_id=iana_id,
        abuse_emails=tuple(abuse),
        url=url,
    )


def clean_address(text: str) -> str:
    """An address as RIRs write it, made parseable: no '/len' suffix, no zero-padded octets."""
    text = str(text).strip().split("/", 1)[0]
    if ":" not in text and text.count(".") == 3:
        octets = text.split(".")
        if all(octet.isdigit() for octet in octets):
            return ".".join(str(int(octet)) for octet in octets)
    return text


def _address_or_none(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return str(ipaddress.ip_address(clean_address(value)))
    except ValueError:
        return None


def _cidrs(document: dict[str, Any], start: str | None, end: str | None) -> tuple[str, ...]:
    out = []
    for item in document.get("cidr0_cidrs") or []:
        if not isinstance(item, dict):
            continue
        prefix = item.get("v4prefix") or item.get("v6prefix")
        if prefix and item.get("length") is not None:
            try:
                out.append(str(ipaddress.ip_network(f"{prefix}/{item['length']}", strict=False)))
            except ValueError:
                continue
    if out or start is None or end is None:
        return tuple(out)
    first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
    if first.version != last.version or first > last:
        return ()
    return tuple(str(n) for n in ipaddress.summarize_address_range(first, last))  # type: ignore[arg-type]


def _entity(data: dict[str, Any]) -> RdapEntity:
    name = kind = None
    emails: list[str] = []
    card = data.get("vcardArray")
    if isinstance(card, list) and len(card) == 2 and isinstance(card[1], list):
        for prop in card[1]:
            if not isinstance(prop, list) or len(prop) < 4:
                continue
            key, value = str(prop[0]).lower(), prop[3]
            if key == "fn" and isinstance(value, str):
                name = value
            elif key == "kind" and isinstance(value, str):
                kind = value
            elif key == "email" and isinstance(value, str) and value.strip():
                emails.append(value.strip())
    roles = tuple(str(r).lower() for r in data.get("roles") or [] if isinstance(r, str))
    children = tuple(_entity(e) for e in data.get("entities") or [] if isinstance(e, dict))
    return RdapEntity(_text(data.get("handle")), roles, name, kind, tuple(emails), children)


def _walk(entities: tuple[RdapEntity, ...]) -> list[RdapEntity]:
    """Breadth first, so a network's own abuse contact comes before one nested in a registrant."""
    out: list[RdapEntity] = []
    queue = list(entities)
    while queue:
        entity = queue.pop(0)
        out.append(entity)
        queue.extend(entity.entities)
    return out


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
