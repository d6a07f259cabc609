"""The domain: records (immutable, timestamped, sourced) and the entities derived from them.

Records: Notice, Observation, Check, Message (+ Delivery), AuditEvent, Snapshot. They are inserted
once and never updated. Derived: Url, Attribution, Provider, Contact, Case; each can be recomputed
from the records.
"""

from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import AuditEvent
from hostwatch.model.base import Base
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.message import Delivery, Message, MessageCase
from hostwatch.model.notice import IngestRun, Notice
from hostwatch.model.observation import Observation
from hostwatch.model.party import Contact, Provider, ProviderAsset
from hostwatch.model.service import ApiToken, WatchlistEntry
from hostwatch.model.service_state import PortalSession, RateBucket
from hostwatch.model.snapshot import Snapshot
from hostwatch.model.url import Url

__all__ = [
    "ApiToken",
    "Attribution",
    "AuditEvent",
    "Base",
    "Case",
    "Check",
    "Contact",
    "Delivery",
    "IngestRun",
    "Message",
    "MessageCase",
    "Notice",
    "Observation",
    "PortalSession",
    "Provider",
    "ProviderAsset",
    "RateBucket",
    "Snapshot",
    "Url",
    "WatchlistEntry",
]
