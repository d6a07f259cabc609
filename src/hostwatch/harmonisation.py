"""The field names hostwatch uses on the wire, in one place: IntelMQ's harmonisation.

Exports of notices, the API's attribution records, IntelMQ input, the simulated feeds and the
X-ARF type of a notice all take their names from here, so that CERT pipelines (IntelMQ, n6,
AbuseHelper) can exchange events with hostwatch without a mapping of their own. The standard
names are those of IntelMQ's ``harmonization.conf`` (event section); anything hostwatch adds that
IntelMQ does not define goes under ``extra.`` (:func:`extra`), never as a made-up top-level name.
tests/test_harmonisation.py fails on a dotted IntelMQ-style name written anywhere else.
"""

from __future__ import annotations

# --- standard IntelMQ event fields (harmonization.conf) ------------------------------------------
TIME_SOURCE = "time.source"
TIME_OBSERVATION = "time.observation"
SOURCE_URL = "source.url"
SOURCE_FQDN = "source.fqdn"
SOURCE_IP = "source.ip"
SOURCE_PORT = "source.port"
SOURCE_NETWORK = "source.network"
SOURCE_ASN = "source.asn"
SOURCE_AS_NAME = "source.as_name"
SOURCE_GEOLOCATION_CC = "source.geolocation.cc"
SOURCE_ABUSE_CONTACT = "source.abuse_contact"
CLASSIFICATION_TYPE = "classification.type"
CLASSIFICATION_TAXONOMY = "classification.taxonomy"
CLASSIFICATION_IDENTIFIER = "classification.identifier"
FEED_NAME = "feed.name"
FEED_PROVIDER = "feed.provider"
EVENT_DESCRIPTION_TEXT = "event_description.text"
EVENT_DESCRIPTION_URL = "event_description.url"
MISP_ATTRIBUTE_UUID = "misp.attribute_uuid"
MISP_EVENT_UUID = "misp.event_uuid"
RTIR_ID = "rtir_id"

STANDARD = frozenset(
    {
        TIME_SOURCE,
        TIME_OBSERVATION,
        SOURCE_URL,
        SOURCE_FQDN,
        SOURCE_IP,
        SOURCE_PORT,
        SOURCE_NETWORK,
        SOURCE_ASN,
        SOURCE_AS_NAME,
        SOURCE_GEOLOCATION_CC,
        SOURCE_ABUSE_CONTACT,
        CLASSIFICATION_TYPE,
        CLASSIFICATION_TAXONOMY,
        CLASSIFICATION_IDENTIFIER,
        FEED_NAME,
        FEED_PROVIDER,
        EVENT_DESCRIPTION_TEXT,
        EVENT_DESCRIPTION_URL,
        MISP_ATTRIBUTE_UUID,
        MISP_EVENT_UUID,
        RTIR_ID,
    }
)
"""The IntelMQ names hostwatch reads or writes."""


def extra(name: str) -> str:
    """A field IntelMQ does not define, under ``extra.`` as its harmonisation asks."""
    return f"extra.{name}"


# --- hostwatch's own fields, under extra. --------------------------------------------------------
EXTRA_REFERENCE = extra("reference")  # the reporter's reference for the notice
EXTRA_FORMAT = extra("format")  # the format the notice arrived in
EXTRA_REGISTERED_DOMAIN = extra("registered_domain")
EXTRA_NOTICE_KEY = extra("notice_key")
EXTRA_SOURCE_IPS = extra("source_ips")  # every address the host resolved to (source.ip: one)
EXTRA_SOURCE_AS_ORG = extra("source_as_org")  # the AS's organisation (source.as_name: its name)

EXTRAS = frozenset(
    {
        EXTRA_REFERENCE,
        EXTRA_FORMAT,
        EXTRA_REGISTERED_DOMAIN,
        EXTRA_NOTICE_KEY,
        EXTRA_SOURCE_IPS,
        EXTRA_SOURCE_AS_ORG,
    }
)
NAMES = STANDARD | EXTRAS
"""Every name hostwatch puts on the wire or reads from it."""


# --- classification.type -> the X-ARF v4 content report type -------------------------------------
XARF_TYPES = {
    "phishing": "phishing",
    "malware": "malware",
    "malware-distribution": "malware",
    "fraud": "fraud",
    "data-leak": "exposed_data",
    "exposed-data": "exposed_data",
    "brand-infringement": "brand_infringement",
}
XARF_DEFAULT_TYPE = "illegal_content"


def xarf_type(classification: str | None) -> str:
    """The X-ARF content type for a classification (IntelMQ's or hostwatch's spelling).

    CSAM is decided by the notice composer (its own X-ARF type with extra fields); anything
    without an X-ARF type of its own is ``illegal_content``.
    """
    key = (classification or "").strip().lower().replace("_", "-")
    return XARF_TYPES.get(key, XARF_DEFAULT_TYPE)
