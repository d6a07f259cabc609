"""Shared platforms and CDNs recognised by name, so that a report does not blame the wrong party.

A page on ``someone.github.io`` is hosted by GitHub Pages whatever network its addresses sit in,
and only the platform can remove it; a host whose name points (CNAME) into a CDN is fronted by
that CDN, whose network is not where the content lives. Both are recognised from the host name
and its CNAME chain against the short, documented lists below (the CDN networks themselves are
recognised from the bgp.tools ``cdn`` tag of the origin AS, see :mod:`.chain`).

Entries are registrable suffixes: ``github.io`` matches ``github.io`` and every name below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Platform:
    """A service whose many tenants share its names and addresses."""

    domain: str
    name: str
    kind: str  # static-hosting | site-builder | ipfs-gateway | cloud-storage | cdn


SHARED_PLATFORMS: tuple[Platform, ...] = (
    Platform("github.io", "GitHub Pages", "static-hosting"),
    Platform("gitlab.io", "GitLab Pages", "static-hosting"),
    Platform("vercel.app", "Vercel", "static-hosting"),
    Platform("netlify.app", "Netlify", "static-hosting"),
    Platform("pages.dev", "Cloudflare Pages", "static-hosting"),
    Platform("workers.dev", "Cloudflare Workers", "static-hosting"),
    Platform("r2.dev", "Cloudflare R2", "cloud-storage"),
    Platform("web.app", "Firebase Hosting", "static-hosting"),
    Platform("firebaseapp.com", "Firebase Hosting", "static-hosting"),
    Platform("herokuapp.com", "Heroku", "static-hosting"),
    Platform("onrender.com", "Render", "static-hosting"),
    Platform("fly.dev", "Fly.io", "static-hosting"),
    Platform("surge.sh", "Surge", "static-hosting"),
    Platform("glitch.me", "Glitch", "static-hosting"),
    Platform("azurewebsites.net", "Azure App Service", "static-hosting"),
    Platform("weebly.com", "Weebly", "site-builder"),
    Platform("weeblysite.com", "Weebly", "site-builder"),
    Platform("webflow.io", "Webflow", "site-builder"),
    Platform("wixsite.com", "Wix", "site-builder"),
    Platform("blogspot.com", "Blogger", "site-builder"),
    Platform("wordpress.com", "WordPress.com", "site-builder"),
    Platform("godaddysites.com", "GoDaddy Websites", "site-builder"),
    Platform("square.site", "Square Online", "site-builder"),
    Platform("000webhostapp.com", "000webhost", "site-builder"),
    Platform("sites.google.com", "Google Sites", "site-builder"),
    Platform("storage.googleapis.com", "Google Cloud Storage", "cloud-storage"),
    Platform("s3.amazonaws.com", "Amazon S3", "cloud-storage"),
    Platform("blob.core.windows.net", "Azure Blob Storage", "cloud-storage"),
    Platform("ipfs.io", "IPFS gateway (ipfs.io)", "ipfs-gateway"),
    Platform("dweb.link", "IPFS gateway (dweb.link)", "ipfs-gateway"),
    Platform("cloudflare-ipfs.com", "IPFS gateway (Cloudflare)", "ipfs-gateway"),
    Platform("w3s.link", "IPFS gateway (web3.storage)", "ipfs-gateway"),
    Platform("nftstorage.link", "IPFS gateway (nft.storage)", "ipfs-gateway"),
    Platform("fleek.co", "IPFS gateway (Fleek)", "ipfs-gateway"),
)

CDN_NAMES: tuple[Platform, ...] = (
    Platform("cdn.cloudflare.net", "Cloudflare", "cdn"),
    Platform("cloudfront.net", "Amazon CloudFront", "cdn"),
    Platform("akamaiedge.net", "Akamai", "cdn"),
    Platform("akamaized.net", "Akamai", "cdn"),
    Platform("edgekey.net", "Akamai", "cdn"),
    Platform("edgesuite.net", "Akamai", "cdn"),
    Platform("fastly.net", "Fastly", "cdn"),
    Platform("fastlylb.net", "Fastly", "cdn"),
    Platform("azureedge.net", "Azure CDN", "cdn"),
    Platform("b-cdn.net", "bunny.net", "cdn"),
    Platform("cdn77.org", "CDN77", "cdn"),
    Platform("stackpathdns.com", "StackPath", "cdn"),
    Platform("incapdns.net", "Imperva", "cdn"),
)

_SHARED = {p.domain: p for p in SHARED_PLATFORMS}
_CDN = {p.domain: p for p in CDN_NAMES}
_MAX_LABELS = max(p.domain.count(".") + 1 for p in (*SHARED_PLATFORMS, *CDN_NAMES))


def _suffixes(name: str) -> list[str]:
    """The name's suffixes of two up to the longest listed number of labels, longest first."""
    labels = name.lower().rstrip(".").rsplit(".", _MAX_LABELS)
    return [".".join(labels[-k:]) for k in range(min(len(labels), _MAX_LABELS), 1, -1)]


_LAST_TWO = {".".join(p.domain.rsplit(".", 2)[-2:]) for p in (*SHARED_PLATFORMS, *CDN_NAMES)}


def _last_two_labels(name: str) -> str:
    name = name.lower().rstrip(".")
    return name[name.rfind(".", 0, max(name.rfind("."), 0)) + 1 :]


def classify_name(host: str, cnames: Iterable[str] = ()) -> tuple[Platform | None, Platform | None]:
    """(shared platform, CDN) that the host's name or any name of its CNAME chain is under."""
    platform = cdn = None
    for name in (host, *cnames):
        if _last_two_labels(name) not in _LAST_TWO:  # the common case, decided cheaply
            continue
        for suffix in _suffixes(name):
            platform = platform or _SHARED.get(suffix)
            cdn = cdn or _CDN.get(suffix)
        if platform is not None and cdn is not None:
            break
    return platform, cdn


def shared_platform(host: str, cnames: Iterable[str] = ()) -> Platform | None:
    """The shared platform serving ``host``, by its name or any name in its CNAME chain."""
    return classify_name(host, cnames)[0]


def cdn_by_name(host: str, cnames: Iterable[str] = ()) -> Platform | None:
    """The CDN a host points into by CNAME (or is named in), if it is one of the listed ones."""
    return classify_name(host, cnames)[1]
