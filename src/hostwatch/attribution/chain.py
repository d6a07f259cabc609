"""The attribution of a batch: from rows of (notice, host, addresses) to Attribution rows.

Everything heavy is done once per distinct value, over arrays: each distinct host is resolved
once (IP-literal hosts and addresses the reporter gave need no DNS), every distinct address is
parsed, screened for special-purpose space and looked up in the routing table in one call; AS
names, organisations and providers are then found per distinct origin AS, WHOIS chains per
distinct most-specific network, manual prefixes and contacts per distinct address. Rows are
assembled last from these small tables.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any

import numpy as np

from hostwatch.attribution.contacts import ContactHit, ContactIndex
from hostwatch.attribution.parties import party_chain, rdap_party
from hostwatch.attribution.platforms import Platform, classify_name
from hostwatch.attribution.prefix_index import PrefixIndex
from hostwatch.attribution.providers import AssetHit, ProviderBuilder, ProviderIndex
from hostwatch.attribution.record import (
    BOGON,
    DNS_FAILED,
    NO_ADDRESS,
    NO_CONTEMPORANEOUS_ADDRESS,
    OK,
    UNROUTED,
    holder_and_reseller,
    link_record,
    reseller_label,
)
from hostwatch.attribution.reference import ReferenceSet
from hostwatch.attribution.routes import RouteAnswers, route
from hostwatch.attribution.special_space import special_reasons
from hostwatch.attribution.staleness import (
    REPORTED,
    ReferenceTimes,
    TimeLimits,
    dns_origin,
    judge_reference,
)
from hostwatch.net.addresses import FAMILY_V4, FAMILY_V6, parse_addresses

if TYPE_CHECKING:
    from hostwatch.attribution.dns_in_time import RowAnswers
    from hostwatch.net.rdap import RdapClient, RdapNetwork
    from hostwatch.net.whois_tree import WhoisLink


@dataclass
class Targets:
    """The notices of one batch, as columns."""

    notice_id: list[int]
    url_id: list[int]
    host: list[str]
    host_type: list[str]
    reported_ip: list[str | None]
    at: list[datetime]
    stored_at: list[Any] | None = None  # ``at`` as the writer stores it, when it differs

    def __len__(self) -> int:
        return len(self.notice_id)


@dataclass(slots=True)
class _Address:
    """What is known about one distinct address (one row of :class:`_Facts`)."""

    status: str = OK
    reason: str | None = None
    prefix: str | None = None
    origin_asn: int | None = None
    origin_asns: Sequence[int] | None = None
    country: str | None = None
    country_source: str | None = None
    whois: Sequence[WhoisLink] = ()
    prefix_hit: AssetHit | None = None
    contact: ContactHit | None = None
    rdap_contact: str | None = None
    rdap_party: dict[str, Any] | None = None


class _Facts:
    """What is known about each distinct address of a batch, one list per field.

    A batch holds up to a million distinct addresses; one object per address cost more than
    describing them, and most fields are filled column-wise from array lookups anyway. Rows are
    made into an :class:`_Address` only where a network is described (a few per thousand).
    """

    def __init__(self, n: int) -> None:
        self.status: list[str] = [OK] * n
        self.reason: list[str | None] = [None] * n
        self.prefix: list[str | None] = [None] * n
        self.origin_asn: list[int | None] = [None] * n
        self.origin_asns: list[Sequence[int] | None] = [None] * n
        self.country: list[str | None] = [None] * n
        self.country_source: list[str | None] = [None] * n
        self.whois: list[Sequence[WhoisLink]] = [()] * n
        self.prefix_hit: list[AssetHit | None] = [None] * n
        self.contact: list[ContactHit | None] = [None] * n
        self.rdap_contact: list[str | None] = [None] * n
        self.rdap_party: list[dict[str, Any] | None] = [None] * n

    def __len__(self) -> int:
        return len(self.status)

    def at(self, k: int) -> _Address:
        return _Address(
            self.status[k], self.reason[k], self.prefix[k], self.origin_asn[k],
            self.origin_asns[k], self.country[k], self.country_source[k], self.whois[k],
            self.prefix_hit[k], self.contact[k], self.rdap_contact[k], self.rdap_party[k],
        )  # fmt: skip


@dataclass
class Context:
    """Everything a batch attributes against, loaded once."""

    reference: ReferenceSet
    providers: ProviderIndex
    builder: ProviderBuilder
    contacts: ContactIndex
    computed_at: datetime
    limits: TimeLimits
    rdap: RdapClient | None = None
    lab_networks: PrefixIndex | None = None  # settings.allow_networks: test and simulated space
    lookup_seconds: float = 0.0  # parsing, screening and routing the distinct addresses
    stored_computed_at: Any = None  # ``computed_at`` as the writer stores it, when it differs


@dataclass
class _HostAddresses:
    """Per row: all addresses, the one attributed, the failure, and where the address came from.

    ``via`` is the ``sources["ips"]`` value (literal, reported, dns:RESOLVER); ``origin`` the
    ``ip_origin`` column; ``dns_offset`` how far the DNS answer lies from the row's time
    (seconds, answer minus notice) and ``dns_part`` its stale part ('' if contemporaneous).
    """

    ips: list[tuple[str, ...]]
    primary: list[str | None]
    failure: list[str | None]
    via: list[str]
    cnames: list[tuple[str, ...]]
    origin: list[str | None]
    dns_offset: list[int | None]
    dns_part: list[str]


def _host_addresses(targets: Targets, dns: RowAnswers, limits: TimeLimits) -> _HostAddresses:
    n = len(targets)
    out = _HostAddresses([()] * n, [None] * n, [None] * n, [""] * n, [()] * n, [None] * n,
                         [None] * n, [""] * n)  # fmt: skip
    for i, (host, kind, reported, answer) in enumerate(
        zip(targets.host, targets.host_type, targets.reported_ip, dns.answers, strict=True)
    ):
        literal = kind in ("ipv4", "ipv6")
        if literal or reported:
            address = host.strip("[]") if literal else reported.strip()
            out.ips[i] = (address,)
            out.primary[i] = address
            out.via[i] = "literal" if literal else "reported"
            out.origin[i] = REPORTED  # the source gave the address, in the URL or beside it
            continue
        out.via[i] = f"dns:{answer.resolver}" if answer is not None else "dns"
        if answer is None:
            out.failure[i] = (
                _not_contemporaneous(host, targets.at[i], limits)
                if dns.not_contemporaneous[i]
                else f"{DNS_FAILED}|{host} was not resolved"
            )
            continue
        offset = round((answer.at - targets.at[i]).total_seconds())
        out.dns_offset[i] = offset
        out.origin[i], out.dns_part[i] = dns_origin(offset, limits)
        out.cnames[i] = answer.cname_chain
        out.ips[i] = answer.addresses
        if answer.addresses:
            v4 = next((a for a in answer.addresses if ":" not in a), None)
            out.primary[i] = v4 or answer.addresses[0]
        elif answer.error:
            code = answer.rcode or "no response"
            out.failure[i] = f"{DNS_FAILED}|{host}: {code} ({answer.error})"
        else:
            out.failure[i] = f"{NO_ADDRESS}|{host} has no A or AAAA record ({answer.rcode})"
    return out


def _not_contemporaneous(host: str, at: datetime, limits: TimeLimits) -> str:
    days = f"{limits.dns_seconds / 86400:g}"
    return (
        f"{NO_CONTEMPORANEOUS_ADDRESS}|no contemporaneous address: {host} has no reported "
        f"address and no DNS answer within {days} day(s) of the notice ({at:%Y-%m-%d %H:%M} UTC); "
        "today's answer would describe today's hosting (hostwatch attribute --resolve-historical)"
    )


def _describe_addresses(texts: list[str], ctx: Context) -> _Facts:
    """Route, country, WHOIS, manual prefix and contact per distinct address."""
    ref = ctx.reference
    parsed = parse_addresses(texts)
    facts = _Facts(len(texts))
    status, reason = facts.status, facts.reason
    for i, text in parsed.malformed:
        status[i] = NO_ADDRESS
        reason[i] = f"{text!r} is not an IP address"
    special = special_reasons(parsed)
    # Space an operator has declared is not bogus for this deployment: a manual network (an admin
    # said who holds it) or an allowed lab network (tests, the simulation). It is attributed like
    # any other space instead of being refused as loopback or private.
    prefix_hits = ctx.providers.by_prefix(parsed)
    declared = np.array([hit is not None for hit in prefix_hits], dtype=bool)
    if ctx.lab_networks is not None and len(ctx.lab_networks):
        declared |= ctx.lab_networks.match(parsed) >= 0
    special[declared] = ""
    for i in np.flatnonzero(special != "").tolist():
        status[i] = BOGON
        reason[i] = f"{texts[i]} is {special[i]}; no provider can be named for it"
    usable = (parsed.family != 0) & (special == "")
    answers: RouteAnswers = route(ref.routing, parsed)
    routed = usable & answers.matched
    prefix = np.array(answers.prefix, dtype=object)
    prefix[~routed] = None
    facts.prefix = prefix.tolist()
    facts.origin_asn = [asn or None for asn in np.where(routed, answers.origin_asn, 0).tolist()]
    facts.origin_asns = [
        origins if here and origins else None
        for origins, here in zip(answers.origins, routed.tolist(), strict=True)
    ]
    routing_tag = ref.tag("routing")
    for i in np.flatnonzero(usable & ~answers.matched).tolist():
        if prefix_hits[i] is not None:
            reason[i] = f"no route covers {texts[i]}; provider from {prefix_hits[i].via}"
        else:
            status[i] = UNROUTED
            reason[i] = (
                f"no route covers {texts[i]} in {routing_tag}"
                if routing_tag
                else "no routing snapshot is catalogued (hostwatch data import)"
            )
    _add_countries(parsed, usable, facts, ref)
    _add_whois(parsed, texts, usable, facts, ref)
    for i in np.flatnonzero(declared & usable).tolist():
        facts.prefix_hit[i] = prefix_hits[i]
    for i, contact in enumerate(ctx.contacts.by_network(parsed)):
        if contact is not None and usable[i]:
            facts.contact[i] = contact
    return facts


def _add_countries(parsed: Any, usable: np.ndarray, facts: _Facts, ref: ReferenceSet) -> None:
    stats = ref.delegated
    if stats is None:
        return
    tag = ref.tag("delegated")
    for family, lookup, values in (
        (FAMILY_V4, stats.lookup_v4, parsed.v4),
        (FAMILY_V6, stats.lookup_v6, parsed.v6[:, 0]),
    ):
        rows = np.flatnonzero(usable & (parsed.family == family))
        if not rows.size:
            continue
        matches = lookup(values[rows])
        for i, found, cc in zip(
            rows.tolist(), matches.found.tolist(), matches.country.tolist(), strict=True
        ):
            if found and cc and cc not in ("ZZ", ""):
                facts.country[i], facts.country_source[i] = str(cc).upper(), tag


def _add_whois(
    parsed: Any, texts: list[str], usable: np.ndarray, facts: _Facts, ref: ReferenceSet
) -> None:
    tree = ref.whois
    if tree is None or not tree.network_count:
        return
    rows4 = np.flatnonzero(usable & (parsed.family == FAMILY_V4))
    if rows4.size:
        networks = tree.most_specific_v4(parsed.v4[rows4])
        chains: dict[int, list[WhoisLink]] = {}
        for i, network in zip(rows4.tolist(), networks.tolist(), strict=True):
            if network < 0:
                continue
            chain = chains.get(network)
            if chain is None:
                chain = chains[network] = tree.chain_at_v4(network)
            facts.whois[i] = chain
    for i in np.flatnonzero(usable & (parsed.family == FAMILY_V6)).tolist():
        facts.whois[i] = tree.chain(texts[i])


def attribute(targets: Targets, ctx: Context, dns: RowAnswers) -> tuple[list[tuple], Counter[str]]:
    """Attribution rows (tuples in :data:`record.COLUMNS` order) and a count per status."""
    ref = ctx.reference
    hosts = _host_addresses(targets, dns, ctx.limits)
    primary, failure, ip_via, cnames = hosts.primary, hosts.failure, hosts.via, hosts.cnames
    distinct = list(dict.fromkeys(ip for ip in primary if ip is not None))
    position = {ip: k for k, ip in enumerate(distinct)}
    started = perf_counter()
    facts = _describe_addresses(distinct, ctx)
    ctx.lookup_seconds += perf_counter() - started

    asns = {asn for asn in facts.origin_asn if asn}
    infos = {asn: ref.asnames.get(asn) if ref.asnames is not None else None for asn in asns}
    names_tag = ref.tag("asnames", "as2org")
    aut_nums = _aut_nums(asns, ctx)
    ctx.builder.for_asns(
        infos,
        provenance=f"automatic from {names_tag or ref.tag('rpsl') or 'routing origin'}",
        whois_names={asn: aut.org_name or aut.as_name for asn, aut in aut_nums.items()},
    )
    _link_aut_num_orgs(aut_nums, ctx)
    _providers_for_unrouted_holders(facts, ctx)
    if ctx.rdap is not None:
        _add_rdap(distinct, facts, ctx)

    encoder = SourcesEncoder(tuple(r.tag for r in ref.refs))
    late_after = max((r.valid_at for r in ref.refs), default=None)
    times = np.fromiter((at.timestamp() for at in targets.at), dtype=np.float64, count=len(targets))
    reference_times = judge_reference(ref.refs, times, ctx.limits)
    in_time = _InTime(hosts, reference_times)
    networks: dict[tuple, _Network] = {}
    host_parts: dict[str, _HostPart | None] = {}
    statuses: Counter[str] = Counter()
    rows: list[tuple] = []
    append = rows.append
    computed_at = ctx.stored_computed_at or ctx.computed_at
    encode, asns_json = encoder.encode, encoder.asns
    blank = (None,) * 12
    plain_sources: dict[tuple, str] = {}
    stored = targets.stored_at or targets.at
    f_status, f_reason, f_prefix, f_asn = facts.status, facts.reason, facts.prefix, facts.origin_asn
    f_origins, f_country, f_whois = facts.origin_asns, facts.country, facts.whois
    f_prefix_hit, f_contact, f_rdap = facts.prefix_hit, facts.contact, facts.rdap_contact
    for i, (url, notice, host, kind, ip, at, at_value) in enumerate(
        zip(targets.url_id, targets.notice_id, targets.host, targets.host_type, primary,
            targets.at, stored, strict=True)
    ):  # fmt: skip
        late = ref.newer_than(at) if late_after is not None and at < late_after else ()
        part = None
        if kind == "domain":
            part = host_parts.get(host, False)
            if part is False:
                part = host_parts[host] = _host_part(host, cnames[i], ctx)
        platform = part.platform.domain if part is not None and part.platform else None
        if ip is None:
            status, _, reason = (failure[i] or f"{NO_ADDRESS}|no address").partition("|")
            statuses[status] += 1
            sources, time_columns = in_time.row(i, encode(None, ip_via[i], late), looked_up=False)
            append(
                (url, notice, at_value, computed_at, status, reason, host, *blank, False,
                 platform, None, sources, *time_columns)
            )  # fmt: skip
            continue
        k = position[ip]
        status = f_status[k]
        statuses[status] += 1
        ips_json = _ips_json(hosts.ips[i], status != NO_ADDRESS)
        if status in (NO_ADDRESS, BOGON):
            sources, time_columns = in_time.row(i, encode(None, ip_via[i], late), looked_up=False)
            append(
                (url, notice, at_value, computed_at, status, f_reason[k], host, ips_json, ip,
                 *blank[:10], False, platform, None, sources, *time_columns)
            )  # fmt: skip
            continue
        asn, country, whois = f_asn[k], f_country[k], f_whois[k]
        prefix_hit, contact, rdap_contact = f_prefix_hit[k], f_contact[k], f_rdap[k]
        if whois or prefix_hit or contact or rdap_contact or facts.rdap_party[k]:
            key = (
                asn,
                id(whois) if whois else None,
                id(prefix_hit),
                id(contact),
                country,
                rdap_contact,
                id(facts.rdap_party[k]),
                host if part else None,
            )
        else:  # most addresses: the network follows from the origin AS and country alone
            key = (asn, country, host if part else None)
        network = networks.get(key)
        if network is None:
            network = networks[key] = _network(facts.at(k), part, infos, aut_nums, ctx)
        prefix = f_prefix[k]
        if late:
            sources = encode(network.sources, ip_via[i], late, routed=prefix is not None)
        else:  # the common case: one JSON text per network and address origin, looked up here
            sources_key = (id(network), ip_via[i], prefix is not None)
            sources = plain_sources.get(sources_key)
            if sources is None:
                sources = plain_sources[sources_key] = encode(
                    network.sources, ip_via[i], (), routed=prefix is not None
                )
        sources, time_columns = in_time.row(i, sources, looked_up=True)
        origins = f_origins[k]
        append(
            (url, notice, at_value, computed_at, status, f_reason[k], host, ips_json, ip,
             prefix, asn,
             f"[{origins[0]}]" if origins and len(origins) == 1 else asns_json(origins),
             *network.values, sources, *time_columns)
        )  # fmt: skip
    return rows, statuses


class _InTime:
    """How far each row's data lies from its time: the offsets in ``sources`` and the columns.

    A row whose address was looked up (statuses ok and unrouted) used the reference snapshots;
    a row whose address came from DNS used that answer. The offsets are spliced into the
    ``sources`` JSON text, which is otherwise shared by many rows.
    """

    def __init__(self, hosts: _HostAddresses, reference: ReferenceTimes) -> None:
        self.origin, self.dns_offset, self.dns_part = hosts.origin, hosts.dns_offset, hosts.dns_part
        self.reference = reference

    def row(self, i: int, sources: str, *, looked_up: bool) -> tuple[str, tuple]:
        """The row's ``sources`` text with its offsets, and (ip_origin, stale, stale_reason)."""
        dns_offset = self.dns_offset[i]
        members = self.reference.offsets[i] if looked_up else ""
        if dns_offset is not None:
            members = f'{members}, "dns": {dns_offset}' if members else f'"dns": {dns_offset}'
        parts = self.reference.parts[i] if looked_up else ""
        dns_part = self.dns_part[i]
        if dns_part:
            parts = f"{parts} {dns_part}" if parts else dns_part
        text = f'{sources[:-1]}, "offsets": {{{members}}}}}'
        return text, (self.origin[i], bool(parts), parts or None)


def _ips_json(ips: Sequence[str], checked: bool) -> str | None:
    """JSON of the address list; a single address that parsed needs no escaping."""
    if not ips:
        return None
    if checked and len(ips) == 1:
        return f'["{ips[0]}"]'
    return json.dumps(list(ips))


class SourcesEncoder:
    """JSON of the ``sources`` column, encoded once per distinct content (a few per batch)."""

    def __init__(self, snapshots: tuple[str, ...]) -> None:
        self.snapshots = snapshots
        self._cache: dict[tuple, str] = {}
        self._asns: dict[int | tuple[int, ...], str] = {}

    def encode(
        self,
        network: tuple[tuple[str, str], ...] | None,
        ip_origin: str,
        late: Sequence[str],
        *,
        routed: bool = False,
    ) -> str:
        key = (id(network), ip_origin, tuple(late), routed)  # network tuples live all batch
        text = self._cache.get(key)
        if text is None:
            data: dict[str, Any] = {"snapshots": list(self.snapshots), "ips": ip_origin}
            data.update(network or ())
            if not routed:
                data.pop("prefix", None)
            if late:
                data["newer_than_notice"] = list(late)
            text = self._cache[key] = json.dumps(data)
        return text

    def asns(self, origins: list[int] | None) -> str | None:
        if not origins:
            return None
        key = origins[0] if len(origins) == 1 else tuple(origins)
        text = self._asns.get(key)
        if text is None:
            text = self._asns[key] = json.dumps(origins)
        return text


@dataclass(frozen=True, slots=True)
class _HostPart:
    """What the host name alone says: a shared platform, a CDN by CNAME, a manual domain."""

    platform: Platform | None
    cdn: Platform | None
    manual: AssetHit | None


def _host_part(host: str, cnames: Sequence[str], ctx: Context) -> _HostPart | None:
    platform, cdn = classify_name(host, cnames)
    manual = ctx.providers.by_domain(host, "manual")
    if platform is None and cdn is None and manual is None:
        return None
    return _HostPart(platform, cdn, manual)


@dataclass(frozen=True, slots=True)
class _Network:
    """The columns from ``as_name`` to ``parties``, and their sources."""

    values: tuple
    sources: tuple[tuple[str, str], ...]


def _aut_nums(asns: set[int], ctx: Context) -> dict[int, Any]:
    """aut-num objects of the origin ASes in the WHOIS snapshot."""
    tree = ctx.reference.whois
    if tree is None:
        return {}
    found = {asn: tree.aut_num(asn) for asn in asns}
    return {asn: aut for asn, aut in found.items() if aut is not None}


def _link_aut_num_orgs(aut_nums: dict[int, Any], ctx: Context) -> None:
    """An AS's own WHOIS organisation belongs to the AS's provider (its networks follow)."""
    tag = ctx.reference.tag("rpsl")
    for asn, aut in aut_nums.items():
        hit = ctx.providers.asn["manual"].get(asn) or ctx.providers.asn["auto"].get(asn)
        if aut.org_id and hit is not None:
            ctx.builder.link_org(hit.provider_id, aut.org_id, f"aut-num AS{asn} org in {tag}")


def _providers_for_unrouted_holders(facts: _Facts, ctx: Context) -> None:
    """Space with a WHOIS holder but no origin AS is attributed to the holder's organisation."""
    orgs: dict[str, str | None] = {}
    for asn, whois in zip(facts.origin_asn, facts.whois, strict=True):
        if asn or not whois:
            continue
        holder, _ = holder_and_reseller(whois)
        link = holder or whois[-1]
        if link.org_id:
            orgs.setdefault(link.org_id, link.org_name)
    if orgs:
        ctx.builder.for_orgs(orgs, f"automatic from WHOIS {ctx.reference.tag('rpsl')}")


def _add_rdap(texts: list[str], facts: _Facts, ctx: Context) -> None:
    """Ask RDAP, once per prefix, for an abuse contact where nothing better is known; where no
    WHOIS chain describes the address, its registrant is a party of the chain too."""
    from hostwatch.net.rdap import RdapError

    asked: dict[str, RdapNetwork | None] = {}
    for k, text in enumerate(texts):
        if facts.status[k] not in (OK, UNROUTED) or facts.contact[k] is not None:
            continue
        whois = facts.whois[k]
        if whois and whois[0].abuse_mailbox:
            continue
        key = facts.prefix[k] or text
        if key not in asked:
            try:
                asked[key] = ctx.rdap.ip(text)  # type: ignore[union-attr]
            except RdapError:
                asked[key] = None
        network = asked[key]
        if network is not None:
            facts.rdap_contact[k] = network.abuse_contact
            if not whois:
                facts.rdap_party[k] = rdap_party(network)


def _network(
    fact: _Address,
    part: _HostPart | None,
    infos: dict[int, Any],
    aut_nums: dict[int, Any],
    ctx: Context,
) -> _Network:
    """Everything that follows from the address's network (and the host's platform, if any)."""
    ref = ctx.reference
    sources: dict[str, str] = {}
    row: dict[str, Any] = {}
    info = infos.get(fact.origin_asn) if fact.origin_asn else None
    aut = aut_nums.get(fact.origin_asn) if fact.origin_asn else None
    if fact.prefix is not None:
        sources["prefix"] = ref.tag("routing") or ""
    if info is not None:
        row["as_name"] = info.name
        row["as_org"] = info.org_name or info.name
        sources["as_name"] = ref.tag("asnames", "as2org") or ""
    elif aut is not None:
        row["as_name"] = aut.as_name
        row["as_org"] = aut.org_name
        sources["as_name"] = ref.tag("rpsl") or ""
    reseller = None
    if fact.whois:
        row["whois_chain"] = json.dumps([link_record(link) for link in fact.whois])
        sources["whois_chain"] = ref.tag("rpsl") or ""
        _, reseller = holder_and_reseller(fact.whois)
    orgs: list[str | None] = [link.org_id for link in fact.whois]
    if info is not None and info.org_id:
        orgs.append(f"as2org:{info.org_id}")
    if aut is not None:
        orgs.append(aut.org_id)
    platform = part.platform if part else None
    hit = (part.manual if part else None) or ctx.providers.choose(
        prefix_hit=fact.prefix_hit,
        asn=fact.origin_asn,
        orgs=orgs,
        platform_hit=ctx.builder.for_platform(platform) if platform is not None else None,
    )
    provider = ctx.providers.providers.get(hit.provider_id) if hit is not None else None
    if hit is not None:
        row["provider_id"] = hit.provider_id
        sources["provider"] = hit.via
        if hit.provenance and hit.source == "manual":  # automatic provenance is on the asset
            sources["provider_provenance"] = hit.provenance
    if reseller is not None:
        row["reseller"] = reseller_label(reseller)
        sources["reseller"] = ref.tag("rpsl") or ""
    cdn_named = part.cdn if part else None
    as_cdn = info is not None and info.is_cdn
    if as_cdn:
        row["behind_cdn"], sources["behind_cdn"] = True, f"{ref.tag('asnames')} tag cdn"
    elif cdn_named is not None:
        row["behind_cdn"], sources["behind_cdn"] = True, f"CNAME into {cdn_named.domain}"
    elif provider is not None and provider.is_cdn:
        row["behind_cdn"], sources["behind_cdn"] = True, "provider flagged as CDN"
    _country(row, sources, fact, info, ref)
    _abuse(row, sources, fact, hit, aut, ctx)
    parties = party_chain(
        asn=fact.origin_asn,
        as_org=row.get("as_org"),
        as_country=info.country if info is not None else None,
        delegated_country=fact.country,
        whois=fact.whois,
        rdap=fact.rdap_party,
    )
    values = (
        row.get("as_name"),
        row.get("as_org"),
        row.get("whois_chain"),
        row.get("provider_id"),
        row.get("reseller"),
        row.get("country"),
        row.get("abuse_contact"),
        row.get("behind_cdn", False),
        platform.domain if platform is not None else None,
        json.dumps(parties) if parties else None,
    )
    return _Network(values, tuple(sources.items()))


def _country(
    row: dict[str, Any],
    sources: dict[str, Any],
    fact: _Address,
    info: Any,
    ref: ReferenceSet,
) -> None:
    """The most specific WHOIS country, else the RIR's statistics, else the AS's country."""
    whois_country = next((link.country for link in fact.whois if link.country), None)
    if whois_country and whois_country not in ("EU", "ZZ"):
        row["country"], sources["country"] = whois_country[:2], ref.tag("rpsl") or ""
    elif fact.country:
        row["country"], sources["country"] = fact.country[:2], fact.country_source or ""
    elif info is not None and info.country:
        row["country"], sources["country"] = info.country[:2], ref.tag("asnames", "as2org") or ""


def _abuse(
    row: dict[str, Any],
    sources: dict[str, Any],
    fact: _Address,
    hit: AssetHit | None,
    aut: Any,
    ctx: Context,
) -> None:
    """Manual network contact > manual provider contact > WHOIS (inherited) > aut-num > RDAP."""
    ref = ctx.reference
    provider_contact = ctx.contacts.by_provider.get(hit.provider_id) if hit is not None else None
    if fact.contact is not None:
        row["abuse_contact"] = fact.contact.email
        sources["abuse_contact"] = (
            f"manual-contact:{fact.contact.contact_id} ({fact.contact.network})"
        )
    elif provider_contact is not None:
        row["abuse_contact"] = provider_contact.email
        sources["abuse_contact"] = f"manual-contact:{provider_contact.contact_id}"
    elif fact.whois and fact.whois[0].abuse_mailbox:
        link = fact.whois[0]
        row["abuse_contact"] = link.abuse_mailbox
        inherited = (
            f", inherited from {link.abuse_inherited_from}" if link.abuse_inherited_from else ""
        )
        sources["abuse_contact"] = f"{ref.tag('rpsl')} {link.key}{inherited}"
    elif aut is not None and aut.abuse_mailbox:
        row["abuse_contact"] = aut.abuse_mailbox
        sources["abuse_contact"] = f"{ref.tag('rpsl')} aut-num AS{aut.asn}"
    elif fact.rdap_contact:
        row["abuse_contact"] = fact.rdap_contact
        sources["abuse_contact"] = "rdap"
