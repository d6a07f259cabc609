"""Where each public source keeps its files, as URL layouts over overridable base URLs.

Layouts follow the real archives: RouteViews ``/bgpdata/YYYY.MM/RIBS/rib.YYYYMMDD.HHMM.bz2`` (other
collectors under ``/<collector>/bgpdata/...``), RIPE RIS ``/rrc00/YYYY.MM/bview.YYYYMMDD.HHMM.gz``,
CAIDA ``/datasets/routing/routeviews-prefix2as/YYYY/MM/routeviews-rv2-YYYYMMDD-HHMM.pfx2as.gz``
and ``/datasets/as-organizations/YYYYMMDD.as-org2info.txt.gz``, the RIRs'
``delegated-<rir>-extended-latest``, the RIPE database split dumps
``/ripe/dbase/split/ripe.db.<class>.gz`` and IANA's RDAP bootstrap ``/rdap/ipv4.json``. Base URLs
are overridable so mirrors (and tests on loopback) serve the same layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import httpx

from hostwatch.net.fetch.download import DownloadError, list_directory

DEFAULT_BASE_URLS = {
    "routeviews": "https://archive.routeviews.org",
    "ris": "https://data.ris.ripe.net",
    "caida": "https://publicdata.caida.org",
    "afrinic": "https://ftp.afrinic.net",
    "apnic": "https://ftp.apnic.net",
    "arin": "https://ftp.arin.net",
    "lacnic": "https://ftp.lacnic.net",
    "ripencc": "https://ftp.ripe.net",
    "ripedb": "https://ftp.ripe.net",
    "iana": "https://data.iana.org",
}
FETCH_KINDS = ("rib", "ris", "pfx2as", "as2org", "delegated", "ripedb", "rdap-bootstrap")
RDAP_BOOTSTRAP_FILES = ("ipv4.json", "ipv6.json", "asn.json")
RIRS = ("afrinic", "apnic", "arin", "lacnic", "ripencc")
RIR_STATS_PATHS = {
    "afrinic": "/pub/stats/afrinic",
    "apnic": "/stats/apnic",
    "arin": "/pub/stats/arin",
    "lacnic": "/pub/stats/lacnic",
    "ripencc": "/pub/stats/ripencc",
}
RIPE_SPLIT_CLASSES = ("inetnum", "inet6num", "organisation", "role", "aut-num", "irt")
ROUTEVIEWS_COLLECTORS = ("route-views2", "route-views6")
RIS_COLLECTORS = ("rrc00",)


@dataclass(frozen=True, slots=True)
class Wanted:
    """One file to fetch. ``filename`` None: named after download, from the file's own date.

    ``refresh``: a file kept under a fixed name that is asked for again (conditionally) on each
    run even when stored, because its publisher replaces it in place.
    """

    kind: str
    url: str
    filename: str | None
    snapshot: date | None
    refresh: bool = False


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """What a fetch run wants: per kind, which collectors, registries and dumps."""

    day: date
    base_urls: dict[str, str]
    collectors: tuple[str, ...] = ROUTEVIEWS_COLLECTORS
    ris_collectors: tuple[str, ...] = RIS_COLLECTORS
    rirs: tuple[str, ...] = RIRS
    ripe_classes: tuple[str, ...] = RIPE_SPLIT_CLASSES
    latest: bool = True

    def base(self, name: str) -> str:
        return self.base_urls.get(name, DEFAULT_BASE_URLS[name]).rstrip("/")


def wanted_files(plan: FetchPlan, kind: str, client: httpx.Client) -> list[Wanted]:
    """The files of one kind for the plan's day; archive kinds look at the directory listing."""
    if kind == "rib":
        return [_routeviews_rib(plan, collector, client) for collector in plan.collectors]
    if kind == "ris":
        return [_ris_bview(plan, collector, client) for collector in plan.ris_collectors]
    if kind == "pfx2as":
        return [_pfx2as(plan, family, client) for family in ("rv2", "rv6")]
    if kind == "as2org":
        return [_as2org(plan, client)]
    if kind == "delegated":
        return [_delegated(plan, rir) for rir in plan.rirs]
    if kind == "ripedb":
        base = plan.base("ripedb")
        return [
            Wanted("ripedb", f"{base}/ripe/dbase/split/ripe.db.{name}.gz", None, None)
            for name in plan.ripe_classes
        ]
    if kind == "rdap-bootstrap":
        base = plan.base("iana")
        return [
            Wanted("rdap-bootstrap", f"{base}/rdap/{name}", name, None, refresh=True)
            for name in RDAP_BOOTSTRAP_FILES
        ]
    raise ValueError(f"unknown kind {kind!r}; known: {', '.join(FETCH_KINDS)}")


def _routeviews_rib(plan: FetchPlan, collector: str, client: httpx.Client) -> Wanted:
    prefix = "" if collector == "route-views2" else f"/{collector}"
    folder = f"{plan.base('routeviews')}{prefix}/bgpdata/{plan.day:%Y.%m}/RIBS/"
    name = _first_of_day(client, folder, rf"rib\.{plan.day:%Y%m%d}\.(\d{{4}})\.bz2")
    return Wanted("rib", folder + name, f"{collector}.{name}", plan.day)


def _ris_bview(plan: FetchPlan, collector: str, client: httpx.Client) -> Wanted:
    folder = f"{plan.base('ris')}/{collector}/{plan.day:%Y.%m}/"
    name = _first_of_day(client, folder, rf"bview\.{plan.day:%Y%m%d}\.(\d{{4}})\.gz")
    return Wanted("ris", folder + name, f"{collector}.{name}", plan.day)


def _pfx2as(plan: FetchPlan, family: str, client: httpx.Client) -> Wanted:
    dataset = "routeviews-prefix2as" if family == "rv2" else "routeviews6-prefix2as"
    folder = f"{plan.base('caida')}/datasets/routing/{dataset}/{plan.day:%Y/%m}/"
    pattern = rf"routeviews-{family}-{plan.day:%Y%m%d}-(\d{{4}})\.pfx2as\.gz"
    name = _first_of_day(client, folder, pattern)
    return Wanted("pfx2as", folder + name, name, plan.day)


def _as2org(plan: FetchPlan, client: httpx.Client) -> Wanted:
    folder = f"{plan.base('caida')}/datasets/as-organizations/"
    best: tuple[str, str] | None = None
    for name in list_directory(client, folder):
        match = re.fullmatch(r"(\d{8})\.as-org2info\.(txt|jsonl)\.gz", name)
        if match and match.group(1) <= f"{plan.day:%Y%m%d}":
            best = max(best or (match.group(1), name), (match.group(1), name))
    if best is None:
        raise DownloadError(f"{folder}: no as-org2info file on or before {plan.day}")
    stamp = best[0]
    day = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    return Wanted("as2org", folder + best[1], best[1], day)


def _delegated(plan: FetchPlan, rir: str) -> Wanted:
    folder = plan.base(rir) + RIR_STATS_PATHS[rir]
    if plan.latest:
        return Wanted("delegated", f"{folder}/delegated-{rir}-extended-latest", None, None)
    stamp = f"{plan.day:%Y%m%d}"
    archived = {
        "afrinic": f"{folder}/{plan.day:%Y}/delegated-afrinic-extended-{stamp}",
        "apnic": f"{folder}/{plan.day:%Y}/delegated-apnic-extended-{stamp}.gz",
        "arin": f"{folder}/delegated-arin-extended-{stamp}",
        "lacnic": f"{folder}/delegated-lacnic-extended-{stamp}",
        "ripencc": f"{folder}/{plan.day:%Y}/delegated-ripencc-extended-{stamp}.bz2",
    }[rir]
    return Wanted("delegated", archived, archived.rsplit("/", 1)[-1], plan.day)


def _first_of_day(client: httpx.Client, folder: str, pattern: str) -> str:
    """The earliest file of the day in a listing (RIBs come every 2 or 8 hours)."""
    names = [name for name in list_directory(client, folder) if re.fullmatch(pattern, name)]
    if not names:
        raise DownloadError(f"{folder}: no file matching {pattern!r}")
    return min(names)
