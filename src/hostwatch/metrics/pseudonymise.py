"""Stable keyed pseudonyms for the researcher export.

A keyed hash (BLAKE2b with a key derived from ``settings.pseudonym_key``) maps the same URL,
host, domain or IP to the same token in every export made with the same key, so researchers can
link records, while without the key the token cannot be reversed by hashing candidate values.
"""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl

# Identifying columns: replaced by tokens. URLs are dropped outright.
PSEUDONYMISED = ("case_id", "url_id", "host", "registered_domain", "ip", "reseller")
DROPPED = ("url",)


def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _keyed(secret: str) -> Any:
    """The keyed hash before any value: copied per value, so the key is set up once per column
    (a million URLs, hosts, ids in a year's researcher export), not once per value."""
    return hashlib.blake2b(key=_key(secret), digest_size=8)


def _token(keyed: Any, value: str) -> str:
    hasher = keyed.copy()
    hasher.update(value.encode("utf-8"))
    return str(hasher.hexdigest())


def pseudonym(value: str, secret: str) -> str:
    """The token for one value (16 hex digits)."""
    return _token(_keyed(secret), value)


def pseudonymise_column(series: pl.Series, secret: str) -> pl.Series:
    keyed = _keyed(secret)
    text = series.cast(pl.Utf8)
    values = text.drop_nulls().unique()
    tokens = pl.Series([_token(keyed, v) for v in values.to_list()], dtype=pl.Utf8)
    return text.replace_strict(values, tokens, default=None, return_dtype=pl.Utf8).alias(
        series.name
    )


def pseudonymise_frame(frame: pl.DataFrame, secret: str) -> pl.DataFrame:
    """The frame without URLs, with identifying columns replaced by keyed tokens."""
    out = frame.drop([c for c in DROPPED if c in frame.columns])
    return out.with_columns(
        pseudonymise_column(out[c], secret) for c in PSEUDONYMISED if c in out.columns
    )
