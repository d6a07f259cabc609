"""URL canonicalisation: one spelling per reported URL, or a clear reason why it is not one.

Reported URLs are written by criminals and copied by hand, so the same page arrives as
``hxxp://Example[.]com:80/a/../b#x`` and ``http://example.com/b``. Notices, cases and metrics
must agree that these are one URL; the canonical form is what :func:`hostwatch.identity.url_id`
hashes.

Decisions (documented here because they change which URLs count as "the same"):

- Schemes: ``http``, ``https`` and ``ftp`` only; anything else (``javascript:``, ``data:``,
  ``file:``, ``mailto:``...) is rejected. Input without a scheme (``example.com/x``) is taken as
  ``http``; like browsers, any run of ``/`` or ``\\`` after the scheme is accepted.
- Userinfo (``user:password@``) is dropped: credentials are not part of what is hosted, and
  keeping them would store secrets and split one URL into many.
- Hosts: lower-cased; one trailing dot removed; IDNs to punycode (IDNA 2008 with UTS 46 mapping,
  falling back to plain punycode per label for names IDNA 2008 refuses, such as emoji);
  ``_`` is allowed in labels (it occurs in real hostnames); IPv4 in decimal, hex, octal or short
  form becomes a dotted quad (the WHATWG rule: a host whose last label is numeric is an IPv4
  address or an error); IPv6 literals are compressed and zone ids refused.
- Paths: ``\\`` to ``/``; percent-encoding normalised (unreserved bytes decoded, hex upper-cased,
  stray ``%`` and characters outside RFC 3986 encoded as UTF-8) before dot segments are resolved;
  empty path becomes ``/``. An empty query (``?`` alone) is dropped; the fragment is dropped.
- Limits: input and result at most :data:`MAX_URL_LENGTH` characters; host at most 253
  characters and labels at most 63; control characters, NUL and U+FFFD (bytes that were not
  valid UTF-8) are refused.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple

import idna

from hostwatch.net.psl import registered_domain_uncached

MAX_URL_LENGTH = 8192
SCHEMES = {"http": 80, "https": 443, "ftp": 21}


class UrlRejected(ValueError):
    """The input is not a URL hostwatch can act on; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CanonicalUrl(NamedTuple):
    """A canonical URL and its parts (a tuple: millions are built per ingest)."""

    url: str
    scheme: str
    host: str  # without brackets for IPv6
    host_type: str  # domain | ipv4 | ipv6
    port: int | None  # None when it is the scheme's default
    registered_domain: str | None


# Already-canonical ASCII URLs (the bulk of every feed) skip the general parser. Anything unusual
# (upper case, %, port, userinfo, dot segments, fragment, empty query) takes the slow path.
_FAST = re.compile(r"(https?)://([a-z0-9._\-]+)(/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)\Z")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffd]")
_HOST = re.compile(r"[a-z0-9_\-]{1,63}(?:\.[a-z0-9_\-]{1,63})*\Z")
_IPV4_PART = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)\Z")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters allowed literally (RFC 3986 pchar plus "/" and "?"); "%" is handled separately.
_PATH_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/"
)
_QUERY_SAFE = _PATH_SAFE | {"?"}
_REFANG = (
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("[:]", ":"),
    ("[://]", "://"),
)


def canonicalize(raw: str) -> CanonicalUrl:
    """The canonical form of ``raw``; raises :class:`UrlRejected` and nothing else."""
    if len(raw) > MAX_URL_LENGTH:
        raise UrlRejected(f"URL longer than {MAX_URL_LENGTH} characters")
    match = _FAST.match(raw)
    if match is not None and "/." not in match[3] and not match[3].endswith("?"):
        scheme = match[1]
        host, host_type, domain = _host_info(match[2])
        if host == match[2]:
            return CanonicalUrl(raw, scheme, host, host_type, None, domain)
    return _canonicalize_slow(raw)


def _canonicalize_slow(raw: str) -> CanonicalUrl:
    text = raw.strip()
    if _CONTROL.search(text):
        if "\ufffd" in text:
            raise UrlRejected("undecodable bytes (invalid UTF-8) in URL")
        raise UrlRejected("control character or NUL in URL")
    if not text:
        raise UrlRejected("empty URL")
    text = _refang(text)
    scheme, rest = _split_scheme(text)
    rest = rest.lstrip("/\\")
    end = len(rest)
    for stop in "/?#\\":
        at = rest.find(stop)
        if at != -1 and at < end:
            end = at
    authority, tail = rest[:end], rest[end:]
    authority = authority.rpartition("@")[2]
    host_raw, port = _split_port(authority, scheme)
    if not host_raw:
        raise UrlRejected("no host")
    host, host_type, domain = _host_info(host_raw)
    tail = tail.partition("#")[0]
    path, has_query, query = tail.partition("?")
    path = _remove_dot_segments(_normalise_pct(path.replace("\\", "/"), _PATH_SAFE)) or "/"
    query = _normalise_pct(query, _QUERY_SAFE) if has_query else ""
    shown_host = f"[{host}]" if host_type == "ipv6" else host
    url = f"{scheme}://{shown_host}{'' if port is None else f':{port}'}{path}"
    if query:
        url = f"{url}?{query}"
    if len(url) > MAX_URL_LENGTH:
        raise UrlRejected(f"canonical URL longer than {MAX_URL_LENGTH} characters")
    return CanonicalUrl(url, scheme, host, host_type, port, domain)


def _refang(text: str) -> str:
    lowered = text[:6].lower()
    if lowered.startswith("hxxp"):
        text = "http" + text[4:]
    elif lowered.startswith("fxp"):
        text = "ftp" + text[3:]
    if "[" in text or "(" in text or "{" in text:
        for defanged, plain in _REFANG:
            if defanged in text:
                text = text.replace(defanged, plain)
            upper = defanged.upper()
            if upper != defanged and upper in text:
                text = text.replace(upper, plain)
    return text


def _split_scheme(text: str) -> tuple[str, str]:
    match = _SCHEME.match(text)
    if match is None:
        return "http", text
    after = text[match.end() :]
    # "example.com:8080/x" has a port, not a scheme
    if "." in match[1] and re.match(r"\d*(?:[/?#]|\Z)", after):
        return "http", text
    scheme = match[1].lower()
    if scheme not in SCHEMES:
        raise UrlRejected(f"scheme {scheme[:20]!r} not accepted (only http, https, ftp)")
    return scheme, after


def _split_port(authority: str, scheme: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise UrlRejected("unclosed '[' in IPv6 host")
        host, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            raise UrlRejected("characters after IPv6 host")
        port_text = after[1:]
    else:
        host, _, port_text = authority.partition(":")
    if not port_text:
        return host, None
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        raise UrlRejected("invalid port")
    port = int(port_text)
    if port > 65535:
        raise UrlRejected("port out of range")
    return host, None if port == SCHEMES[scheme] else port


@lru_cache(maxsize=1 << 16)
def _host_info(host: str) -> tuple[str, str, str | None]:
    """(canonical host, host type, registered domain) for a raw host, cached per host."""
    if host.startswith("["):
        return _ipv6(host[1:-1]), "ipv6", None
    if "%" in host:
        host = _pct_decode_host(host)
    if not host.isascii():
        host = _to_ascii(host)
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise UrlRejected("no host")
    last = host[host.rfind(".") + 1 :]
    if last and (last[0].isdigit() and _IPV4_PART.match(last)):
        return _ipv4(host.split(".")), "ipv4", None
    if len(host) > 253:
        raise UrlRejected("host longer than 253 characters")
    if not _HOST.match(host):
        raise UrlRejected(_host_problem(host.split(".")))
    return host, "domain", registered_domain_uncached(host)


def _host_problem(labels: list[str]) -> str:
    for label in labels:
        if not label:
            return "empty label in host"
        if len(label) > 63:
            return "host label longer than 63 characters"
    return "invalid character in host"


def _pct_decode_host(host: str) -> str:
    try:
        return _PCT.sub(lambda m: chr(int(m[1], 16)), host).encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise UrlRejected("invalid percent-encoding in host") from None


def _to_ascii(host: str) -> str:
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        pass
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        labels = [
            lab if lab.isascii() else "xn--" + lab.encode("punycode").decode("ascii")
            for lab in mapped.split(".")
        ]
    except (idna.IDNAError, UnicodeError, ValueError):
        raise UrlRejected("invalid internationalised host name") from None
    return ".".join(labels)


def _ipv4(labels: list[str]) -> str:
    if labels[-1] == "":
        labels = labels[:-1]
    if not 1 <= len(labels) <= 4:
        raise UrlRejected("invalid IPv4 address")
    numbers = []
    for part in labels:
        if not _IPV4_PART.match(part):
            raise UrlRejected("invalid IPv4 address")
        if part[:2] in ("0x", "0X"):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part[0] == "0":
            if not set(part) <= set("01234567"):
                raise UrlRejected("invalid IPv4 address")
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise UrlRejected("invalid IPv4 address")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return str(ipaddress.IPv4Address(value))


def _ipv6(text: str) -> str:
    if "%" in text:
        raise UrlRejected("IPv6 zone id not accepted")
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        raise UrlRejected("invalid IPv6 address") from None


def _normalise_pct(text: str, safe: frozenset[str]) -> str:
    if not text:
        return text
    if "%" not in text and all(ch in safe for ch in text):
        return text
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise UrlRejected("invalid character (lone surrogate) in URL") from None
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte == 0x25:  # "%"
            pair = data[i + 1 : i + 3]
            if len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair):
                value = int(pair, 16)
                out.append(chr(value) if value in _UNRESERVED else f"%{value:02X}")
                i += 3
                continue
            out.append("%25")
        elif byte < 0x80 and chr(byte) in safe:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    if "/." not in path and not path.startswith("."):
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result
