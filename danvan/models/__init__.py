"""Models, one module per aggregate; importing this package registers them all."""

from danvan.models.agency import Agency, Unit
from danvan.models.api import ApiToken  # noqa: F401 - registers the table
from danvan.models.campaigns import Campaign, ContentItem, Observance
from danvan.models.entries import ENTRY_FIELDS, Attachment, Blob, Entry, EntryApproval
from danvan.models.events import AuditLog, ChainHead, Event, OutboxMessage
from danvan.models.exchange import (
    CampaignRecipient,
    Delivery,
    IncomingDocument,
    ReportingAgency,
)
from danvan.models.previews import DraftPreview, DraftPreviewPage
from danvan.models.reports import (
    ArchivedDocument,
    ArchiveTimestamp,
    NumberSequence,
    RegisterEntry,
    Report,
)
from danvan.models.signatures import RequestState, SignatureRequest, SignerCertificate
from danvan.models.users import (
    Delegation,
    RateCounter,
    Role,
    User,
    UserRole,
    UserSession,
)

__all__ = [
    "ENTRY_FIELDS",
    "Agency",
    "ArchiveTimestamp",
    "ArchivedDocument",
    "Attachment",
    "AuditLog",
    "Blob",
    "Campaign",
    "CampaignRecipient",
    "ChainHead",
    "ContentItem",
    "Delegation",
    "Delivery",
    "DraftPreview",
    "DraftPreviewPage",
    "Entry",
    "EntryApproval",
    "Event",
    "IncomingDocument",
    "NumberSequence",
    "Observance",
    "RateCounter",
    "OutboxMessage",
    "RegisterEntry",
    "Report",
    "ReportingAgency",
    "RequestState",
    "Role",
    "SignatureRequest",
    "SignerCertificate",
    "Unit",
    "User",
    "UserRole",
    "UserSession",
]
