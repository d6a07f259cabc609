"""The domain: records (immutable, timestamped, sourced) and the entities derived from them.

Records: Notice, Observation, Check, Message (+ Delivery), AuditEvent (the leaves of a Merkle tree:
AuditTree, AuditHead), Snapshot. They are inserted once and never updated. Derived: Url,
Attribution, Provider, Contact, Case; each can be recomputed from the records.
"""

from hostwatch.model.appointment import CheckAppointment
from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import AuditEvent, AuditTree
from hostwatch.model.audit_heads import AuditHead
from hostwatch.model.base import Base
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.inhibition import Inhibition
from hostwatch.model.message import Delivery, Message, MessageCase
from hostwatch.model.notice import IngestRun, Notice
from hostwatch.model.observation import Observation
from hostwatch.model.order import (
    Order,
    OrderCase,
    OrderEvent,
    OrderProposal,
    ProviderTurnover,
    SanctionRecord,
)
from hostwatch.model.party import Contact, Provider, ProviderAsset
from hostwatch.model.reply import ReportReply
from hostwatch.model.service import ApiToken, WatchlistEntry
from hostwatch.model.service_state import PortalSession, RateBucket
from hostwatch.model.snapshot import Snapshot
from hostwatch.model.triage import SourceTrust, TriageVerdict
from hostwatch.model.url import Url

__all__ = [
    "ApiToken",
    "Attribution",
    "AuditEvent",
    "AuditHead",
    "AuditTree",
    "Base",
    "Case",
    "Check",
    "CheckAppointment",
    "Contact",
    "Delivery",
    "IngestRun",
    "Inhibition",
    "Message",
    "MessageCase",
    "Notice",
    "Observation",
    "Order",
    "OrderCase",
    "OrderEvent",
    "OrderProposal",
    "PortalSession",
    "Provider",
    "ProviderAsset",
    "ProviderTurnover",
    "RateBucket",
    "ReportReply",
    "SanctionRecord",
    "Snapshot",
    "SourceTrust",
    "TriageVerdict",
    "Url",
    "WatchlistEntry",
]
