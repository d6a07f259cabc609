"""Whose fault a failed check can be: the target's, or hostwatch's own.

A failed check is evidence of a takedown only when the failure can be the target's doing: its
name no longer exists, its server refuses or resets the connection, answers 404/410, fails TLS.
When the failure can be hostwatch's own (its resolver silent or failing, no route out, no file
descriptors left, the checker process starved), the check is kept as a record but marked
inconclusive: it never advances the "offline after N failed checks" count and never makes a
case reachable. So the monitor's own outage can never show up as a wave of takedowns.

Every failure kind the client can report is a row of ``FAILURES``; docs/DESIGN.md ("Check
outcomes and whose fault") holds the same table for people, and a test keeps the two in step.
The reason recorded in ``checks.inconclusive_reason`` is the kind's name, or a control probe's
failure (``control-dns-failed``, ``control-url-failed``) for target-side failures in a batch
whose controls failed.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from enum import StrEnum

from hostwatch.net.dns import DnsAnswer


class Side(StrEnum):
    """Who can have caused a failure."""

    TARGET = "target"
    """The target's doing: counts towards "removed" once the batch's controls passed."""
    OWN = "own"
    """hostwatch's own resolver, network or process: inconclusive."""
    WITHHELD = "withheld"
    """The target answered but would not tell (rate limit): inconclusive."""
    NOT_CHECKABLE = "not-checkable"
    """The URL may not or cannot be checked at all: inconclusive, case "not-checkable"."""


@dataclass(frozen=True, slots=True)
class Failure:
    side: Side
    meaning: str

    @property
    def counts(self) -> bool:
        return self.side is Side.TARGET


FAILURES: dict[str, Failure] = {
    "nxdomain": Failure(Side.TARGET, "the name does not exist (authoritative NXDOMAIN)"),
    "no-address": Failure(Side.TARGET, "the name exists but has no A/AAAA record"),
    "tcp-refused": Failure(Side.TARGET, "the target refused the TCP connection"),
    "tcp-reset": Failure(Side.TARGET, "the target reset or closed the connection unanswered"),
    "timeout": Failure(Side.TARGET, "the target did not connect or answer within the budget"),
    "tls": Failure(Side.TARGET, "TLS handshake or certificate failed at the target"),
    "http-gone": Failure(Side.TARGET, "HTTP 404 or 410"),
    "http-error": Failure(Side.TARGET, "another HTTP 4xx/5xx status (not 429)"),
    "malformed": Failure(Side.TARGET, "the target's response is not valid HTTP"),
    "bad-redirect": Failure(Side.TARGET, "a redirect loop or an unusable redirect location"),
    "rate-limited": Failure(Side.WITHHELD, "HTTP 429: the target withholds its answer"),
    "resolver-timeout": Failure(Side.OWN, "our resolver did not answer"),
    "resolver-servfail": Failure(Side.OWN, "our resolver answered SERVFAIL"),
    "resolver-refused": Failure(Side.OWN, "our resolver refused the query"),
    "resolver-unreachable": Failure(Side.OWN, "our resolver cannot be reached (port/host down)"),
    "resolver-error": Failure(Side.OWN, "our resolver answered another error or garbage"),
    "no-route": Failure(Side.OWN, "no route: network or host unreachable from here"),
    "local-resource": Failure(Side.OWN, "out of local resources (file descriptors, ports, memory)"),
    "checker-starved": Failure(Side.OWN, "the check took far longer than its budget"),
    "unclassified": Failure(Side.OWN, "a failure nobody has classified: not trusted"),
    "blocked-by-policy": Failure(Side.NOT_CHECKABLE, "private, reserved or forbidden target"),
    "invalid-url": Failure(Side.NOT_CHECKABLE, "the reported URL cannot be requested"),
}

CONTROL_DNS_FAILED = "control-dns-failed"
CONTROL_URL_FAILED = "control-url-failed"
STARVED = "checker-starved"
STARVED_FACTOR = 1.5
"""A failed check whose wall time exceeds its total budget by this factor was starved: the
budget's own timer could not fire on time, so the event loop (the process) was not running."""

STARVABLE = frozenset({"timeout", "tcp-reset"})
"""Failures made of waiting: a starved process can cause them (a target's answer read too late,
a server giving up on a client that stopped reading). A 404 or an NXDOMAIN read late is still
the target's answer, so starvation does not touch the other kinds."""
NOT_CHECKABLE = frozenset(k for k, f in FAILURES.items() if f.side is Side.NOT_CHECKABLE)

_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
_LOCAL = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.EADDRNOTAVAIL, errno.EAGAIN}
)
_RESET = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
_LOCAL_TEXT = ("Too many open files", "No buffer space", "Cannot allocate memory")
_RCODES = {"SERVFAIL": "resolver-servfail", "REFUSED": "resolver-refused"}


def socket_failure(code: int | None) -> str:
    """The kind of a socket error on the way to (or from) the target, by errno."""
    if code == errno.ECONNREFUSED:
        return "tcp-refused"
    if code in _RESET:
        return "tcp-reset"
    if code in _NO_ROUTE:
        return "no-route"
    if code in _LOCAL:
        return "local-resource"
    if code == errno.ETIMEDOUT:
        return "timeout"
    return "unclassified"


def dns_failure(answer: DnsAnswer) -> str:
    """The kind of a lookup that gave no address.

    NXDOMAIN is the name's own authority speaking (relayed by our resolver, whose health the
    control query checks). An empty NOERROR answer is the zone's doing too, unless one of the two
    questions (A, AAAA) got no answer at all. Everything else is our resolver failing us."""
    if answer.nxdomain:
        return "nxdomain"
    error = answer.error or ""
    if any(text in error for text in _LOCAL_TEXT):
        return "local-resource"
    if error.startswith("timeout") or (answer.rcode is None and "timeout" in error):
        return "resolver-timeout"
    if answer.rcode is None and error:
        return "resolver-unreachable"
    for rcode, kind in _RCODES.items():
        if rcode in error or answer.rcode == rcode:
            return kind
    if answer.rcode == "NOERROR" and not error:
        return "no-address"
    return "resolver-error"


def http_failure(status: int) -> str:
    if status in (404, 410):
        return "http-gone"
    if status == 429:
        return "rate-limited"
    return "http-error"


def own_reason(kind: str | None) -> str | None:
    """The inconclusive reason a failure kind carries by itself (None: the target's doing).

    An unknown kind is not trusted: only what this table names as the target's counts."""
    if kind is None:
        return None
    failure = FAILURES.get(kind)
    if failure is not None and failure.counts:
        return None
    return kind if failure is not None else "unclassified"
