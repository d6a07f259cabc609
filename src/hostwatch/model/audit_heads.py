"""Signed tree heads: the audit log's size and root, signed with an Ed25519 key kept outside it.

Why: whoever can write the database can rewrite the log and recompute every hash; a head signed
with a key the database never holds, once published (printed, put in a dossier or a report),
pins the first ``tree_size`` events forever. ``audit_verify`` checks a later log against it.

The key file (``HOSTWATCH_AUDIT_KEY_FILE``) is a PEM private key or a raw 32-byte seed;
``key_id`` is the hex SHA-256 of the raw public key, so a head names the key that signed it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import BigInteger, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hostwatch.model.audit import tree_state
from hostwatch.model.base import Base, IdType, UTCDateTime

SIGNED_PREFIX = b"hostwatch audit tree head v1\n"


class AuditHead(Base):
    """A head signed and handed out: kept so that ``audit verify`` checks the log against all."""

    __tablename__ = "audit_heads"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index(None, "tree_size"),)


@dataclass(frozen=True)
class SignedHead:
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        """The bytes signed: size, root and time, one per line, under a fixed prefix."""
        return SIGNED_PREFIX + f"{self.tree_size}\n{self.root_hash}\n{self.timestamp}\n".encode()

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> SignedHead:
        """Parse a head as ``audit head`` printed it; ValueError names what is missing or wrong."""
        if not isinstance(raw, dict):
            raise ValueError("a signed head is one JSON object")
        try:
            head = cls(
                tree_size=raw["tree_size"],
                root_hash=raw["root_hash"],
                timestamp=raw["timestamp"],
                key_id=raw["key_id"],
                signature=raw["signature"],
            )
        except KeyError as exc:
            raise ValueError(f"the head has no {exc.args[0]!r}") from exc
        if not isinstance(head.tree_size, int) or head.tree_size < 0:
            raise ValueError("tree_size must be a whole number >= 0")
        for name in ("root_hash", "timestamp", "key_id", "signature"):
            if not isinstance(getattr(head, name), str):
                raise ValueError(f"{name} must be a string")
        try:
            if len(bytes.fromhex(head.root_hash)) != 32:
                raise ValueError
        except ValueError as exc:
            raise ValueError("root_hash must be 64 hex digits") from exc
        return head

    @classmethod
    def of(cls, row: AuditHead) -> SignedHead:
        return cls(row.tree_size, row.root_hash, stamp(row.timestamp), row.key_id, row.signature)


def stamp(instant: datetime) -> str:
    """The one text form of a head's time (whole seconds, UTC), the same after a DB round trip."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat()


class HeadKey:
    """The Ed25519 key pair that signs and checks heads."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public: Ed25519PublicKey = private.public_key()
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()

    @classmethod
    def load(cls, path: Path) -> HeadKey:
        """A PEM private key or a raw 32-byte seed; ValueError says why the file is not one."""
        data = path.read_bytes()
        if len(data) == 32:
            return cls(Ed25519PrivateKey.from_private_bytes(data))
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: neither a PEM private key nor a 32-byte seed") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 key")
        return cls(key)

    @classmethod
    def generate(cls, path: Path) -> HeadKey:
        """Write a new key as PEM, readable by its owner only; refuse to overwrite a key."""
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return cls(key)

    def sign(self, tree_size: int, root_hash: str, now: datetime) -> SignedHead:
        unsigned = SignedHead(tree_size, root_hash, stamp(now), self.key_id, "")
        signature = base64.b64encode(self._private.sign(unsigned.message())).decode()
        return SignedHead(tree_size, root_hash, unsigned.timestamp, self.key_id, signature)

    def problem_with(self, head: SignedHead) -> str | None:
        """Why ``head`` was not signed by this key (None when it was)."""
        if head.key_id != self.key_id:
            return f"head signed by key {head.key_id}, the configured key is {self.key_id}"
        try:
            self.public.verify(base64.b64decode(head.signature, validate=True), head.message())
        except (InvalidSignature, ValueError):
            return "the head's signature does not verify with the configured key"
        return None


def sign_head(session: Session, key: HeadKey, now: datetime) -> SignedHead:
    """Sign the log's current size and root and keep the head in ``audit_heads``."""
    tree = tree_state(session)
    head = key.sign(tree.tree_size, tree.root_hash, now)
    session.add(
        AuditHead(
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            timestamp=datetime.fromisoformat(head.timestamp),
            key_id=head.key_id,
            signature=head.signature,
        )
    )
    session.flush()
    return head


def stored_heads(session: Session) -> list[SignedHead]:
    """Every head handed out, oldest first."""
    rows = session.scalars(select(AuditHead).order_by(AuditHead.tree_size, AuditHead.id))
    return [SignedHead.of(r) for r in rows]


def optional_key(path: Path | None) -> HeadKey | None:
    """The configured signing key, or None when ``HOSTWATCH_AUDIT_KEY_FILE`` is not set."""
    return HeadKey.load(path) if path is not None else None


def published_head(session: Session, key: HeadKey | None, now: datetime) -> dict[str, Any]:
    """The head an output (a dossier, a report) is built on, to be printed in it.

    Signed and kept when a key is configured; else the bare size and root, with ``key_id`` and
    ``signature`` null, so the reader sees that nothing vouches for them.
    """
    if key is not None:
        return sign_head(session, key, now).as_dict()
    tree = tree_state(session)
    return {
        "tree_size": tree.tree_size,
        "root_hash": tree.root_hash,
        "timestamp": stamp(now),
        "key_id": None,
        "signature": None,
    }
