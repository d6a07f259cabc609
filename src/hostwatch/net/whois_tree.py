"""The WHOIS allocation tree: for an address, its inetnum/inet6num and all their parents.

Datacentres hold allocations from the RIR, rent parts to resellers (SUB-ALLOCATED PA), who assign
smaller blocks to customers (ASSIGNED PA). The party that can act on a notice is often one of the
upper links, so a lookup returns the whole chain, most specific first, each link with its
organisation, status and abuse mailbox; a link without its own abuse contact inherits the nearest
ancestor's, and says so.

Networks are kept sorted by (first, -last) with each one's parent index; a lookup is one binary
search plus a short walk up parents. RPSL ranges nest (a laminar family); a partial overlap is
reported and the offender hung under the nearest block that does contain it.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hostwatch.net.addresses import FAMILY_V4, FAMILY_V6, as_address_array
from hostwatch.net.asn_numbers import parse_asn
from hostwatch.net.load_warnings import WarningLog
from hostwatch.net.party_kind import rpsl_kind
from hostwatch.net.rpsl import RpslObject, read_rpsl

NETWORK_CLASSES = frozenset({"inetnum", "inet6num"})
CONTACT_CLASSES = frozenset({"role", "person"})
TREE_CLASSES = NETWORK_CLASSES | CONTACT_CLASSES | {"organisation", "irt", "aut-num"}
TREE_ATTRIBUTES = frozenset(
    {
        "netname",
        "descr",
        "country",
        "status",
        "org",
        "org-name",
        "abuse-c",
        "abuse-mailbox",
        "mnt-irt",
        "tech-c",
        "admin-c",
        "nic-hdl",
        "as-name",
        "org-type",
        "owner",
        "ownerid",
        "responsible",
    }
)

_HOLDER = {
    "ALLOCATED",
    "ALLOCATED PA",
    "ALLOCATED PI",
    "ALLOCATED UNSPECIFIED",
    "ALLOCATED-BY-RIR",
    "ALLOCATED-ASSIGNED PA",
    "ALLOCATED PORTABLE",
    "ALLOCATED NON-PORTABLE",
    "LIR-PARTITIONED PA",
    "LIR-PARTITIONED PI",
}
_RESELLER = {"SUB-ALLOCATED PA", "ALLOCATED-BY-LIR", "AGGREGATED-BY-LIR", "REALLOCATED"}


def allocation_level(status: str | None) -> str:
    """Where a status sits in the chain: 'holder', 'reseller', 'customer' or 'other'."""
    text = (status or "").strip().upper()
    if text in _HOLDER:
        return "holder"
    if text in _RESELLER:
        return "reseller"
    if text.startswith("ASSIGNED") or text in {"REASSIGNED", "LEGACY"}:
        return "customer"
    return "other"


@dataclass(frozen=True, slots=True)
class WhoisLink:
    """One network of a chain, with what a notice sender needs from it."""

    key: str
    first_address: str
    last_address: str
    netname: str | None
    status: str | None
    level: str
    country: str | None
    org_id: str | None
    org_name: str | None
    abuse_mailbox: str | None
    abuse_handle: str | None
    abuse_inherited_from: str | None
    source: str
    # The holder's kind (organisation, natural-person, unknown: hostwatch.net.party_kind) and
    # the country its organisation object is registered in (the inetnum's ``country`` says
    # where the network is used).
    kind: str = "unknown"
    org_country: str | None = None


@dataclass(frozen=True, slots=True)
class AutNum:
    """An aut-num object: AS name, organisation and abuse contact as the RIR database has them."""

    asn: int
    as_name: str | None
    org_id: str | None
    org_name: str | None
    abuse_mailbox: str | None
    source: str


@dataclass
class _Family:
    first: list[int] = field(default_factory=list)
    last: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    objects: list[RpslObject] = field(default_factory=list)
    own_abuse: list[tuple[str | None, str | None]] = field(default_factory=list)
    abuse: list[tuple[str | None, str | None, int]] = field(default_factory=list)

    def containing(self, value: int) -> int:
        """Index of the most specific network holding ``value``, or -1."""
        i = bisect.bisect_right(self.first, value) - 1
        while i >= 0 and self.last[i] < value:
            i = self.parent[i]
        return i


class WhoisTree:
    """Networks, organisations, contacts and aut-nums of one or more RPSL dumps."""

    def __init__(self, warnings: WarningLog | None = None) -> None:
        self.warnings = warnings if warnings is not None else WarningLog()
        self._networks: list[tuple[int, int, int, RpslObject]] = []
        self._contacts: dict[str, RpslObject] = {}
        self._organisations: dict[str, RpslObject] = {}
        self._irts: dict[str, RpslObject] = {}
        self._aut_nums: dict[int, RpslObject] = {}
        self._v4 = _Family()
        self._v6 = _Family()
        self._v4_first = np.zeros(0, dtype=np.uint64)
        self._v4_last = np.zeros(0, dtype=np.uint64)
        self._v4_parent = np.zeros(0, dtype=np.int64)

    @classmethod
    def load(cls, paths: Iterable[Path | str]) -> WhoisTree:
        """Read split dumps (or any RPSL files) and build the tree."""
        tree = cls()
        for path in paths:
            tree.add_objects(read_rpsl(path, tree.warnings, TREE_CLASSES, TREE_ATTRIBUTES))
        tree.build()
        return tree

    @classmethod
    def from_objects(
        cls, objects: Iterable[RpslObject], warnings: WarningLog | None = None
    ) -> WhoisTree:
        tree = cls(warnings)
        tree.add_objects(objects)
        tree.build()
        return tree

    def add_objects(self, objects: Iterable[RpslObject]) -> None:
        for obj in objects:
            kind = obj.object_class
            if kind in NETWORK_CLASSES:
                span = parse_range(obj.key)
                if span is None:
                    self.warnings.add(obj.source, obj.line, f"bad {kind} range {obj.key!r}")
                    continue
                self._networks.append((*span, obj))
            elif kind in CONTACT_CLASSES:
                handle = obj.get("nic-hdl")
                if not handle:
                    self.warnings.add(obj.source, obj.line, f"{kind} without nic-hdl; skipped")
                    continue
                self._contacts[handle.upper()] = obj
            elif kind == "organisation":
                self._organisations[obj.key.upper()] = obj
            elif kind == "irt":
                self._irts[obj.key.upper()] = obj
            elif kind == "aut-num":
                asn = parse_asn(obj.key)
                if asn is None:
                    self.warnings.add(obj.source, obj.line, f"bad aut-num {obj.key!r}")
                    continue
                self._aut_nums[asn] = obj

    def build(self) -> None:
        """Sort the networks, link each to its parent and resolve abuse contacts down the tree."""
        families = {4: _Family(), 6: _Family()}
        rows = sorted(self._networks, key=lambda n: (n[0], n[1], -n[2]))
        seen: set[tuple[int, int, int]] = set()
        for version, first, last, obj in rows:
            if (version, first, last) in seen:
                self.warnings.add(obj.source, obj.line, f"duplicate network {obj.key!r}; skipped")
                continue
            seen.add((version, first, last))
            family = families[version]
            family.first.append(first)
            family.last.append(last)
            family.objects.append(obj)
        for family in families.values():
            self._link(family)
        self._v4, self._v6 = families[4], families[6]
        self._v4_first = np.array(self._v4.first, dtype=np.uint64)
        self._v4_last = np.array(self._v4.last, dtype=np.uint64)
        self._v4_parent = np.array(self._v4.parent, dtype=np.int64)

    def _link(self, family: _Family) -> None:
        stack: list[int] = []
        for i, (first, last) in enumerate(zip(family.first, family.last, strict=True)):
            while stack and family.last[stack[-1]] < first:
                stack.pop()
            if stack and family.last[stack[-1]] < last:
                obj = family.objects[i]
                other = family.objects[stack[-1]].key
                self.warnings.add(obj.source, obj.line, f"{obj.key!r} overlaps {other!r} partly")
                while stack and family.last[stack[-1]] < last:
                    stack.pop()
            parent = stack[-1] if stack else -1
            family.parent.append(parent)
            own = self._own_abuse(family.objects[i])
            family.own_abuse.append(own)
            if own[0] is not None or parent < 0 or family.abuse[parent][0] is None:
                family.abuse.append((own[0], own[1], -1))
            else:
                mailbox, handle, origin = family.abuse[parent]
                family.abuse.append((mailbox, handle, parent if origin < 0 else origin))
            stack.append(i)

    def _own_abuse(self, obj: RpslObject) -> tuple[str | None, str | None]:
        """The object's own abuse contact.

        In order: its abuse-c, its organisation's abuse-c, its irt, an abuse-mailbox attribute on
        the object itself, and last (objects from before abuse-c existed) an abuse-mailbox on
        one of its tech-c/admin-c roles.
        """
        for handle in obj.get_all("abuse-c"):
            mailbox = self._mailbox_of(handle)
            if mailbox:
                return mailbox, handle
        org = self._organisations.get((obj.get("org") or "").upper())
        if org is not None:
            for handle in org.get_all("abuse-c"):
                mailbox = self._mailbox_of(handle)
                if mailbox:
                    return mailbox, handle
            if org.get("abuse-mailbox"):
                return org.get("abuse-mailbox"), org.key
        for handle in obj.get_all("mnt-irt"):
            irt = self._irts.get(handle.upper())
            if irt is not None and irt.get("abuse-mailbox"):
                return irt.get("abuse-mailbox"), irt.key
        if obj.get("abuse-mailbox"):
            return obj.get("abuse-mailbox"), None
        for handle in obj.get_all("tech-c") + obj.get_all("admin-c"):
            mailbox = self._mailbox_of(handle)
            if mailbox:
                return mailbox, handle
        return None, None

    def _mailbox_of(self, handle: str) -> str | None:
        contact = self._contacts.get(handle.upper())
        return contact.get("abuse-mailbox") if contact is not None else None

    def chain(self, address: str) -> list[WhoisLink]:
        """The networks holding ``address``, most specific first; empty when none or malformed."""
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return []
        family = self._v6 if ip.version == 6 else self._v4
        return self._chain_from(family, family.containing(int(ip)), ip.version)

    def most_specific(self, addresses: object) -> np.ndarray:
        """Per address, the id of its most specific network (-1: none), for :meth:`chain_of`.

        Takes whatever :func:`as_address_array` takes. IPv4 is one vectorised pass; IPv6 one
        binary search per address. Batch callers group by id and build each chain once.
        """
        parsed = as_address_array(addresses)
        out = np.full(len(parsed), -1, dtype=np.int64)
        is_v4 = parsed.family == FAMILY_V4
        out[is_v4] = self.most_specific_v4(parsed.v4[is_v4])
        offset = len(self._v4.first)
        for position in np.flatnonzero(parsed.family == FAMILY_V6).tolist():
            high, low = (int(x) for x in parsed.v6[position])
            index = self._v6.containing((high << 64) | low)
            out[position] = index + offset if index >= 0 else -1
        return out

    def chain_of(self, network_id: int) -> list[WhoisLink]:
        """The chain, most specific first, from an id given by :meth:`most_specific`."""
        if network_id < 0:
            return []
        offset = len(self._v4.first)
        if network_id < offset:
            return self._chain_from(self._v4, network_id, 4)
        return self._chain_from(self._v6, network_id - offset, 6)

    def most_specific_v4(self, addresses: np.ndarray) -> np.ndarray:
        """Vectorised: index of the most specific IPv4 network per address (uint32), -1 none."""
        values = np.asarray(addresses, dtype=np.uint64)
        idx = np.searchsorted(self._v4_first, values, side="right").astype(np.int64) - 1
        if not len(self._v4_first):
            return idx
        for _ in range(len(self._v4_first)):
            outside = (idx >= 0) & (self._v4_last[np.maximum(idx, 0)] < values)
            if not outside.any():
                break
            idx[outside] = self._v4_parent[idx[outside]]
        return idx

    def chain_at_v4(self, index: int) -> list[WhoisLink]:
        """The chain from an index given by :meth:`most_specific_v4` (same as its network id)."""
        return self._chain_from(self._v4, index, 4)

    def _chain_from(self, family: _Family, index: int, version: int) -> list[WhoisLink]:
        links = []
        while index >= 0:
            links.append(self._link_of(family, index, version))
            index = family.parent[index]
        return links

    def _link_of(self, family: _Family, index: int, version: int) -> WhoisLink:
        obj = family.objects[index]
        mailbox, handle, origin = family.abuse[index]
        org_id = obj.get("org") or obj.get("ownerid")  # LACNIC names the holder with owner/ownerid
        org = self._organisations.get((obj.get("org") or "").upper())
        org_name = (
            (org.get("org-name") if org is not None else None)
            or obj.get("owner")
            or obj.get("descr")
        )
        make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        country = obj.get("country")
        org_country = org.get("country") if org is not None else None
        return WhoisLink(
            key=obj.key,
            first_address=str(make(family.first[index])),
            last_address=str(make(family.last[index])),
            netname=obj.get("netname"),
            status=obj.get("status"),
            level=allocation_level(obj.get("status")),
            country=country.upper() if country else None,
            org_id=org_id,
            org_name=org_name,
            abuse_mailbox=mailbox,
            abuse_handle=handle,
            abuse_inherited_from=family.objects[origin].key if origin >= 0 else None,
            source=obj.where,
            kind=self._kind(obj, org, org_name),
            org_country=org_country.upper() if org_country else None,
        )

    def _kind(self, obj: RpslObject, org: RpslObject | None, holder_name: str | None) -> str:
        """The holder's kind from its organisation, status and contacts (net.party_kind)."""
        handles = obj.get_all("admin-c") + obj.get_all("tech-c")
        if org is not None:
            handles += org.get_all("admin-c") + org.get_all("tech-c")
        contacts = [self._contacts.get(handle.upper()) for handle in handles]
        persons = [c.key for c in contacts if c is not None and c.object_class == "person"]
        persons += obj.get_all("responsible")
        return rpsl_kind(
            level=allocation_level(obj.get("status")),
            holder_name=holder_name,
            org_type=org.get("org-type") if org is not None else None,
            has_organisation=org is not None or bool(obj.get("owner")),
            person_names=persons,
            has_role_contact=any(c is not None and c.object_class == "role" for c in contacts),
        )

    def organisation_name(self, org_id: str) -> str | None:
        org = self._organisations.get(org_id.upper())
        return org.get("org-name") if org is not None else None

    def aut_num(self, asn: int) -> AutNum | None:
        obj = self._aut_nums.get(int(asn))
        if obj is None:
            return None
        mailbox, _ = self._own_abuse(obj)
        org_id = obj.get("org")
        return AutNum(
            asn=int(asn),
            as_name=obj.get("as-name"),
            org_id=org_id,
            org_name=self.organisation_name(org_id) if org_id else None,
            abuse_mailbox=mailbox,
            source=obj.where,
        )

    @property
    def network_count(self) -> int:
        return len(self._v4.first) + len(self._v6.first)


def parse_range(text: str) -> tuple[int, int, int] | None:
    """(version, first, last) of an inetnum/inet6num key.

    Accepts 'a - b', CIDR, a single address and LACNIC's abbreviated '200.57.128/19'.
    """
    text = text.strip()
    try:
        if " - " in text or ("-" in text and "/" not in text and ":" not in text):
            low, high = (part.strip() for part in text.split("-", 1))
            first, last = ipaddress.ip_address(low), ipaddress.ip_address(high)
            if first.version != last.version or int(first) > int(last):
                return None
            return first.version, int(first), int(last)
        if "/" in text:
            address, length = text.split("/", 1)
            if ":" not in address:
                octets = address.split(".")
                address = ".".join(octets + ["0"] * (4 - len(octets)))
            network = ipaddress.ip_network(f"{address}/{length}", strict=False)
            return (
                network.version,
                int(network.network_address),
                int(network.broadcast_address),
            )
        ip = ipaddress.ip_address(text)
        return ip.version, int(ip), int(ip)
    except ValueError:
        return None
