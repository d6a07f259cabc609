"""Registered domain (eTLD+1) from the Public Suffix List, offline.

Cases, reports and concentration figures group hosts by the domain someone registered, so the
answer must not depend on the network: the list bundled with the ``publicsuffixlist`` package is
the default, and a deployment may pin another PSL file to reproduce an older analysis.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from publicsuffixlist import PSLFILE


class PublicSuffixes:
    """One version of the list, with answers cached per host (feeds repeat hosts heavily).

    The rules are kept as plain sets of dotted names (each IDN rule in Unicode and in punycode,
    so hosts match in either form): a lookup is a few set probes, which matters at a million
    distinct hosts per ingest.
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
        self.registered_domain = lru_cache(maxsize=1 << 15)(self._registered_domain)

    def _registered_domain(self, host: str) -> str | None:
        """The registrable domain of ``host``; None for a public suffix itself or a bad name.

        Unlisted TLDs count as one-label suffixes (the PSL's ``*`` default rule), so
        ``a.b.example`` gives ``b.example``.
        """
        if not host or host.startswith(".") or ".." in host:
            return None
        labels = host.lower().rstrip(".").split(".")
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
