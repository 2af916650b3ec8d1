"""Status replies (QCVN 102:2016): the receiver's "01 Đã đến", "03 Đã tiếp nhận" … as bytes.

``edXML:Status`` names the document it answers (ResponseFor: the sender's OrganId, Code,
PromulgationDate, DocumentId), who answers (From), the StatusCode with its Description, the
Timestamp and who handled it (StaffInfo). Written with the explicit ``edXML:`` prefix, checked
against status.xsd, read with the package's safe parser (no DTD, no entities, size-limited).
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from danvan.edxml import codes
from danvan.edxml.package import (
    DATE_FORMAT,
    NS,
    NSMAP,
    PROBLEM_PREFIX,
    TIMESTAMP_FORMAT,
    Organ,
    PackageError,
    _organ,
    _parse,
    _prefix_problems,
    _read_organ,
    _safe_parser,
    _sub,
)
from danvan.text import VN_TZ, clean_line, to_vn

SCHEMA_PATH = Path(__file__).with_name("status.xsd")
STATUS_PROBLEM_PREFIX = "Phản hồi edXML không hợp lệ: "
# A reply is a few hundred bytes; anything near this is not one.
MAX_STATUS_BYTES = 256 * 1024
DOCUMENT, STATUS = "document", "status"


@dataclass(frozen=True)
class StatusReply:
    """Everything a status reply says, as Python values."""

    sender_organ_id: str  # ResponseFor/OrganId: who sent the document answered
    number_symbol: str  # ResponseFor/Code: "01/BC-SXD"
    promulgation_date: date
    document_id: str
    responder: Organ  # From: the receiver that answers
    status_code: str
    description: str
    timestamp: datetime  # aware, Vietnam time, whole seconds
    department: str = ""
    staff: str = ""

    @property
    def status_label(self) -> str:
        """The code's Vietnamese name from codes.STATUS_CODES ("Đã tiếp nhận")."""
        return codes.STATUS_CODES.get(self.status_code, self.description or self.status_code)


_LOCAL = threading.local()


def _schema() -> etree.XMLSchema:
    schema = getattr(_LOCAL, "schema", None)
    if schema is None:  # one per thread, as package._schema; includes sit beside it
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        schema = _LOCAL.schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))
    return schema


def _line(value: str | None) -> str:
    return clean_line(value) or ""


def build_status(reply: StatusReply) -> bytes:
    """The reply's bytes (UTF-8, NFC, validated against status.xsd); PackageError if invalid."""
    if reply.timestamp.tzinfo is None:
        raise PackageError(["Thời điểm của phản hồi phải có múi giờ."])
    if reply.status_code not in codes.STATUS_CODES:
        raise PackageError([f"Mã trạng thái {reply.status_code} không có trong QCVN 102."])
    root = etree.Element(f"{{{NS}}}Status", nsmap={codes.PREFIX: NS})
    response = _sub(root, "ResponseFor")
    _sub(response, "OrganId", _line(reply.sender_organ_id))
    _sub(response, "Code", _line(reply.number_symbol))
    _sub(response, "PromulgationDate", reply.promulgation_date.strftime(DATE_FORMAT))
    _sub(response, "DocumentId", _line(reply.document_id))
    _organ(root, "From", reply.responder)
    _sub(root, "StatusCode", reply.status_code)
    _sub(root, "Description", _line(reply.description))
    _sub(root, "Timestamp", to_vn(reply.timestamp).strftime(TIMESTAMP_FORMAT))
    staff = _sub(root, "StaffInfo")
    _sub(staff, "Department", _line(reply.department))
    _sub(staff, "Staff", _line(reply.staff))
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    problems = validate_status(data, require_prefix=True)
    if problems:
        raise PackageError(problems)
    return data


def _root_name(root: etree._Element) -> tuple[str | None, str]:
    name = etree.QName(root)
    return name.namespace, name.localname


def validate_status(
    data: bytes, *, max_bytes: int = MAX_STATUS_BYTES, require_prefix: bool = False
) -> list[str]:
    """The problems of a status reply against status.xsd, in Vietnamese (empty: valid)."""
    root, problems = _parse(data, max_bytes)
    if root is None:
        return problems
    if _root_name(root) != (NS, "Status"):
        return [STATUS_PROBLEM_PREFIX + "phần tử gốc phải là edXML:Status."]
    schema = _schema()
    if not schema.validate(root):
        return [
            STATUS_PROBLEM_PREFIX + f"dòng {error.line}: {error.message}"
            for error in schema.error_log
        ]
    return _prefix_problems(root) if require_prefix else []


def _text(node: etree._Element, path: str) -> str:
    return unicodedata.normalize("NFC", node.findtext(path, default="", namespaces=NSMAP))


def parse_status(data: bytes, *, max_bytes: int = MAX_STATUS_BYTES) -> StatusReply:
    """Read a status reply (validated first; no DTD, no entities); PackageError if it is not."""
    problems = validate_status(data, max_bytes=max_bytes)
    if problems:
        raise PackageError(problems)
    root = etree.fromstring(bytes(data), _safe_parser())
    try:
        promulgated = datetime.strptime(
            _text(root, "edXML:ResponseFor/edXML:PromulgationDate"), DATE_FORMAT
        ).date()
        stamp = datetime.strptime(_text(root, "edXML:Timestamp"), TIMESTAMP_FORMAT)
    except ValueError as exc:
        raise PackageError(
            [STATUS_PROBLEM_PREFIX + "ngày tháng không có thật trong lịch."]
        ) from exc
    return StatusReply(
        sender_organ_id=_text(root, "edXML:ResponseFor/edXML:OrganId"),
        number_symbol=_text(root, "edXML:ResponseFor/edXML:Code"),
        promulgation_date=promulgated,
        document_id=_text(root, "edXML:ResponseFor/edXML:DocumentId"),
        responder=_read_organ(root.find("edXML:From", NSMAP)),
        status_code=_text(root, "edXML:StatusCode"),
        description=_text(root, "edXML:Description"),
        timestamp=stamp.replace(tzinfo=VN_TZ),
        department=_text(root, "edXML:StaffInfo/edXML:Department"),
        staff=_text(root, "edXML:StaffInfo/edXML:Staff"),
    )


def package_kind(data: bytes, *, max_bytes: int) -> tuple[str | None, list[str]]:
    """What an uploaded edXML file is: DOCUMENT (a package), STATUS (a reply), or the problems."""
    root, problems = _parse(data, max_bytes)
    if root is None:
        return None, problems
    name = _root_name(root)
    if name == (NS, "edXML"):
        return DOCUMENT, []
    if name == (NS, "Status"):
        return STATUS, []
    return None, [
        PROBLEM_PREFIX + "tệp không phải gói văn bản (edXML:edXML) hay phản hồi trạng thái "
        "(edXML:Status) theo QCVN 102:2016."
    ]
