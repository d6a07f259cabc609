"""Registered domain (eTLD+1) from the Public Suffix List, offline.

Cases, reports and concentration figures group hosts by the domain someone registered, so the
answer must not depend on the network: the list bundled with the ``publicsuffixlist`` package is
the default, and a deployment may pin another PSL file to reproduce an older analysis.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from publicsuffixlist import PSLFILE

PARENTS_KEPT = 1 << 16  # answers per parent domain: most new hosts share one
MAX_NAME = 253  # characters in a DNS name


class PublicSuffixes:
    """One version of the list, with answers cached per host (feeds repeat hosts heavily).

    The rules are kept as plain sets of dotted names (each IDN rule in Unicode and in punycode,
    so hosts match in either form). A million distinct hosts per ingest mostly share a few
    parents (``vercel.app``, ``co.uk``): unless the list names the host itself, or its parent as
    a wildcard, a host has its parent's answer (or is itself the answer, where the parent is a
    public suffix), so answers are kept per parent too and a new host costs two set probes.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.rules: set[str] = set()
        self.wildcards: set[str] = set()  # "ck" for the rule "*.ck"
        self.exceptions: set[str] = set()  # "www.ck" for the rule "!www.ck"
        text = Path(path or PSLFILE).read_text(encoding="utf-8")
        for line in text.splitlines():
            rule = line.strip().split(" ", 1)[0].lower()
            if not rule or rule.startswith("//"):
                continue
            for form in _forms(rule):
                if form.startswith("!"):
                    self.exceptions.add(form[1:])
                elif form.startswith("*."):
                    self.wildcards.add(form[2:])
                else:
                    self.rules.add(form)
        self.named = self.rules | self.exceptions
        self.parents: dict[str, str | None] = {}
        self.registered_domain = lru_cache(maxsize=1 << 15)(self.lookup)

    def lookup(self, host: str) -> str | None:
        """The registrable domain of ``host``; None for a public suffix itself or a bad name.

        Unlisted TLDs count as one-label suffixes (the PSL's ``*`` default rule), so
        ``a.b.example`` gives ``b.example``.
        """
        if not host or host.startswith(".") or ".." in host:
            return None
        return self._lookup(host.lower().rstrip("."))

    def _lookup(self, host: str) -> str | None:
        dot = host.find(".")
        # Past the longest DNS name, no shortcut: it would recurse once per label.
        if dot == -1 or len(host) > MAX_NAME or host in self.named:
            return self._match(host)
        parent = host[dot + 1 :]
        if parent in self.wildcards:
            return self._match(host)
        try:
            above = self.parents[parent]
        except KeyError:
            if len(self.parents) >= PARENTS_KEPT:
                self.parents.clear()
            above = self.parents[parent] = self._lookup(parent)
        return host if above is None else above

    def _match(self, host: str) -> str | None:
        """The longest matching rule decides: the list's algorithm, label by label."""
        labels = host.split(".")
        size = len(labels)
        public = 1
        for start in range(size):
            suffix = ".".join(labels[start:])
            if suffix in self.exceptions:
                public = size - start - 1
                break
            if suffix in self.rules or (
                start + 1 < size and ".".join(labels[start + 1 :]) in self.wildcards
            ):
                public = size - start
                break
        if size <= public:
            return None
        return ".".join(labels[-(public + 1) :])


def _forms(rule: str) -> set[str]:
    """The rule as written and, for IDN rules, in punycode."""
    if rule.isascii():
        return {rule}
    try:
        encoded = ".".join(
            label if label.isascii() else label.encode("idna").decode("ascii")
            for label in rule.split(".")
        )
    except UnicodeError:
        return {rule}
    return {rule, encoded}


@lru_cache(maxsize=4)
def public_suffixes(path: str | None = None) -> PublicSuffixes:
    """The shared list for ``path`` (None = the bundled one), loaded once per process."""
    return PublicSuffixes(path)


def registered_domain(host: str) -> str | None:
    """Registered domain of ``host`` by the bundled list."""
    return public_suffixes().registered_domain(host)


def registered_domain_uncached(host: str) -> str | None:
    """:func:`registered_domain` for callers that cache per host already (a second cache in
    front of a miss costs a fifth of the lookup)."""
    return public_suffixes().lookup(host)
