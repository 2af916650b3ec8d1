"""Electronic exchange of issued documents as edXML packages (QCVN 102:2016/BTTTT)."""

from danvan.edxml.archive import document_from_archive
from danvan.edxml.package import (
    Attachment,
    DocumentType,
    EdxmlDocument,
    Organ,
    PackageError,
    Signer,
    build_package,
    parse_package,
    validate_package,
)

__all__ = [
    "Attachment",
    "DocumentType",
    "EdxmlDocument",
    "Organ",
    "PackageError",
    "Signer",
    "build_package",
    "document_from_archive",
    "parse_package",
    "validate_package",
]
