"""The province's roll-up (Ban Dân vận Tỉnh ủy): Sở reports received as edXML, summed."""

from __future__ import annotations

from danvan.models import IncomingDocument


def attach_arrival(doc: IncomingDocument) -> None:
    """Link a newly registered incoming document to the roll-up campaign it reports on."""
    return None
