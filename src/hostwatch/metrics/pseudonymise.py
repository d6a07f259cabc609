"""Stable keyed pseudonyms for the researcher export.

A keyed hash (BLAKE2b with a key derived from ``settings.pseudonym_key``) maps the same URL,
host, domain or IP to the same token in every export made with the same key, so researchers can
link records, while without the key the token cannot be reversed by hashing candidate values.
"""

from __future__ import annotations

import hashlib

import polars as pl

# Identifying columns: replaced by tokens. URLs are dropped outright.
PSEUDONYMISED = ("case_id", "url_id", "host", "registered_domain", "ip", "reseller")
DROPPED = ("url",)


def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def pseudonym(value: str, secret: str) -> str:
    """The token for one value (16 hex digits)."""
    return hashlib.blake2b(value.encode("utf-8"), key=_key(secret), digest_size=8).hexdigest()


def pseudonymise_column(series: pl.Series, secret: str) -> pl.Series:
    key = _key(secret)
    text = series.cast(pl.Utf8)
    mapping = {
        v: hashlib.blake2b(v.encode("utf-8"), key=key, digest_size=8).hexdigest()
        for v in text.drop_nulls().unique().to_list()
    }
    return text.replace_strict(mapping, default=None, return_dtype=pl.Utf8).alias(series.name)


def pseudonymise_frame(frame: pl.DataFrame, secret: str) -> pl.DataFrame:
    """The frame without URLs, with identifying columns replaced by keyed tokens."""
    out = frame.drop([c for c in DROPPED if c in frame.columns])
    return out.with_columns(
        pseudonymise_column(out[c], secret) for c in PSEUDONYMISED if c in out.columns
    )
