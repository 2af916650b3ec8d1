"""Build, validate and parse edXML packages (QCVN 102:2016/BTTTT) as plain bytes.

A package is one issued document for one or more recipients: the envelope (MessageHeader,
TraceHeaderList, manifest) and the attachments base64-encoded beside it. Everything here is
plain data in, bytes out: no request, no session, no network.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from danvan.edxml import codes
from danvan.text import VN_TZ, clean_line, clean_text, format_number, to_vn

NS = codes.NAMESPACE
XLINK = codes.XLINK_NAMESPACE
NSMAP = {codes.PREFIX: NS, "xlink": XLINK}
SCHEMA_PATH = Path(__file__).with_name("edxml.xsd")
PROBLEM_PREFIX = "Gói edXML không hợp lệ: "
# A package is read whole into memory: 40 MB covers a signed PDF, its .docx and the .p7s.
MAX_PACKAGE_BYTES = 40 * 1024 * 1024
# libxml2 without huge_tree refuses text nodes over 10,000,000 characters; base64 of 7 MB
# stays below that, so every package we write can be read back with the safe parser.
MAX_ATTACHMENT_BYTES = 7_000_000
DATE_FORMAT = "%Y/%m/%d"
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S"
# ContentIds are uuid5 of the attachment's SHA-256 in this namespace (deterministic packages).
CONTENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://danvan.invalid/edxml/content-id")


class PackageError(ValueError):
    """A package that cannot be read or written; ``problems`` are the Vietnamese messages."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# --- Plain data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Organ:
    """A sender or recipient: mã định danh, name, cơ quan chủ quản (address, e-mail optional)."""

    organ_id: str
    name: str
    organization_in_charge: str = ""
    address: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class DocumentType:
    """DocumentType: the numeric code and the name of the kind of document ("Báo cáo")."""

    code: str
    name: str


@dataclass(frozen=True)
class Signer:
    """SignerInfo: thẩm quyền ký ("KT." or ""), chức vụ and full name."""

    competence: str
    position: str
    full_name: str


@dataclass(frozen=True)
class Attachment:
    """One attached file; its ContentId follows from its bytes."""

    name: str
    content_type: str
    data: bytes
    description: str = ""

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def content_id(self) -> str:
        """The ContentId: uuid5 of the SHA-256, so the same file always gets the same one."""
        return str(uuid.uuid5(CONTENT_ID_NAMESPACE, self.sha256))


@dataclass
class EdxmlDocument:
    """Everything a package says about one document, as Python values."""

    sender: Organ
    recipients: list[Organ]
    code_number: str
    code_notation: str
    place: str
    promulgation_date: date
    document_type: DocumentType
    subject: str
    signer: Signer
    to_places: list[str]
    document_id: str
    trace_timestamp: datetime
    attachments: list[Attachment] = field(default_factory=list)
    priority: int = codes.PRIORITY_NORMAL
    page_amount: int = 0
    promulgation_amount: int = 1
    steering_type: int = codes.STEERING_TYPE
    content: str | None = None
    due_date: date | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None

    @property
    def number_symbol(self) -> str:
        """Số, ký hiệu as printed: "01/BC-SXD"."""
        return f"{self.code_number}/{self.code_notation}"


def document_id_for(organ_id: str, promulgated: date, number_symbol: str) -> str:
    """DocumentId: "<sender OrganId>,<yyyy/MM/dd>,<number>/<notation>"."""
    return f"{organ_id},{promulgated.strftime(DATE_FORMAT)},{number_symbol}"


def competence_for(title: str) -> str:
    """Thẩm quyền ký for a signer's title: "KT." for a deputy ("Phó Giám đốc"), else ""."""
    for prefix, competence in codes.COMPETENCE_BY_TITLE_PREFIX.items():
        if title.startswith(prefix):
            return competence
    return codes.COMPETENCE_HEAD


def trace_moment(now: datetime) -> datetime:
    """A TraceHeader time as the package keeps it: Vietnam time, whole seconds."""
    return to_vn(now).replace(microsecond=0)


# --- Writing ------------------------------------------------------------------------------


def _line(value: str | None) -> str:
    return clean_line(value) or ""


def _sub(parent: etree._Element, name: str, text: str | int | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        node.text = str(text) if isinstance(text, int) else text
    return node


def _organ(parent: etree._Element, name: str, organ: Organ) -> None:
    node = _sub(parent, name)
    _sub(node, "OrganId", _line(organ.organ_id))
    _sub(node, "OrganizationInCharge", _line(organ.organization_in_charge))
    _sub(node, "OrganName", _line(organ.name))
    if organ.address is not None:
        _sub(node, "OrganAdd", _line(organ.address))
    if organ.email is not None:
        _sub(node, "Email", _line(organ.email))


def _check_writable(document: EdxmlDocument) -> None:
    problems = []
    if not document.recipients:
        problems.append("Chưa chọn nơi nhận (To) nào cho gói edXML.")
    if not document.attachments:
        problems.append("Gói edXML phải có ít nhất một tệp đính kèm.")
    if document.trace_timestamp.tzinfo is None:
        problems.append("Thời điểm TraceHeader phải có múi giờ.")
    seen: set[str] = set()
    for attachment in document.attachments:
        if len(attachment.data) > MAX_ATTACHMENT_BYTES:
            problems.append(
                f"Tệp {attachment.name} quá lớn để đóng gói edXML "
                f"({format_number(len(attachment.data))} byte, tối đa "
                f"{format_number(MAX_ATTACHMENT_BYTES)} byte)."
            )
        if attachment.content_id in seen:
            problems.append(f"Tệp {attachment.name} được đính kèm hai lần.")
        seen.add(attachment.content_id)
    if problems:
        raise PackageError(problems)


def build_package(document: EdxmlDocument) -> bytes:
    """The package's bytes (UTF-8, NFC, validated against edxml.xsd); ValueError if invalid."""
    _check_writable(document)
    root = etree.Element(f"{{{NS}}}edXML", nsmap=NSMAP)
    envelope = _sub(root, "edXMLEnvelope")
    header = _sub(envelope, "edXMLHeader")
    message = _sub(header, "MessageHeader")
    _organ(message, "From", document.sender)
    for recipient in document.recipients:
        _organ(message, "To", recipient)
    code = _sub(message, "Code")
    _sub(code, "CodeNumber", _line(document.code_number))
    _sub(code, "CodeNotation", _line(document.code_notation))
    promulgation = _sub(message, "PromulgationInfo")
    _sub(promulgation, "Place", _line(document.place))
    _sub(promulgation, "PromulgationDate", document.promulgation_date.strftime(DATE_FORMAT))
    doc_type = _sub(message, "DocumentType")
    _sub(doc_type, "Type", _line(document.document_type.code))
    _sub(doc_type, "TypeName", _line(document.document_type.name))
    _sub(message, "Subject", _line(document.subject))
    if document.content is not None:
        _sub(message, "Content", clean_text(document.content))
    signer = _sub(message, "SignerInfo")
    _sub(signer, "Competence", _line(document.signer.competence))
    _sub(signer, "Position", _line(document.signer.position))
    _sub(signer, "FullName", _line(document.signer.full_name))
    if document.due_date is not None:
        _sub(message, "DueDate", document.due_date.strftime(DATE_FORMAT))
    places = _sub(message, "ToPlaces")
    for place in document.to_places:
        _sub(places, "Place", _line(place))
    other = _sub(message, "OtherInfo")
    _sub(other, "Priority", document.priority)
    if document.sphere_of_promulgation is not None:
        _sub(other, "SphereOfPromulgation", _line(document.sphere_of_promulgation))
    if document.typer_notation is not None:
        _sub(other, "TyperNotation", _line(document.typer_notation))
    _sub(other, "PromulgationAmount", document.promulgation_amount)
    _sub(other, "PageAmount", document.page_amount)
    _sub(message, "SteeringType", document.steering_type)
    _sub(message, "DocumentId", _line(document.document_id))

    traces = _sub(header, "TraceHeaderList")
    trace = _sub(traces, "TraceHeader")
    _sub(trace, "OrganId", _line(document.sender.organ_id))
    _sub(trace, "Timestamp", to_vn(document.trace_timestamp).strftime(TIMESTAMP_FORMAT))
    business = _sub(traces, "Bussiness")
    _sub(business, "BussinessDocType", codes.BUSINESS_NEW)
    _sub(business, "Paper", codes.PAPER_NONE)

    manifest = _sub(_sub(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", codes.MANIFEST_VERSION)
    encoded = _sub(root, "AttachmentEncoded")
    for attachment in document.attachments:
        content_id = attachment.content_id
        reference = _sub(manifest, "Reference")
        reference.set(f"{{{XLINK}}}href", f"cid:{content_id}")
        _sub(reference, "ContentId", content_id)
        _sub(reference, "AttachmentName", _line(attachment.name))
        _sub(reference, "ContentType", _line(attachment.content_type))
        _sub(reference, "Description", _line(attachment.description))
        node = _sub(encoded, "Attachment")
        _sub(node, "ContentId", content_id)
        _sub(node, "AttachmentName", _line(attachment.name))
        _sub(node, "ContentType", _line(attachment.content_type))
        _sub(node, "Description", _line(attachment.description))
        _sub(node, "ContentTransferEncoded", base64.b64encode(attachment.data).decode("ascii"))

    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    problems = validate_package(data, require_prefix=True)
    if problems:
        raise PackageError(problems)
    return data


# --- Checking -----------------------------------------------------------------------------


_LOCAL = threading.local()


def _schema() -> etree.XMLSchema:
    # One per thread: a validator keeps its error log on itself. The schema is ours; its one
    # import (xlink.xsd) sits beside it, so nothing is fetched.
    schema = getattr(_LOCAL, "schema", None)
    if schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        schema = _LOCAL.schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))
    return schema


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )


def _parse(data: bytes, max_bytes: int) -> tuple[etree._Element | None, list[str]]:
    """The root of a package after the checks that come before the schema, or the problems."""
    if not isinstance(data, bytes | bytearray):
        return None, [PROBLEM_PREFIX + "dữ liệu phải là tệp (byte)."]
    if len(data) > max_bytes:
        return None, [
            PROBLEM_PREFIX + f"tệp quá lớn ({format_number(len(data))} byte, tối đa "
            f"{format_number(max_bytes)} byte)."
        ]
    if not data.strip():
        return None, [PROBLEM_PREFIX + "tệp rỗng."]
    # Base64, names and text never hold "<!", so any DOCTYPE or ENTITY is markup: refused
    # before the parser sees it (XXE, billion laughs). The docinfo check below covers
    # encodings other than UTF-8, where these bytes would look different.
    upper = bytes(data).upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        return None, [PROBLEM_PREFIX + "tệp có khai báo DOCTYPE/ENTITY, không được chấp nhận."]
    try:
        root = etree.fromstring(bytes(data), _safe_parser())
    except etree.XMLSyntaxError as exc:
        return None, [PROBLEM_PREFIX + f"tệp không phải XML hợp lệ ({exc.msg})."]
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return None, [PROBLEM_PREFIX + "tệp có khai báo DOCTYPE/ENTITY, không được chấp nhận."]
    return root, []


def _prefix_problems(root: etree._Element) -> list[str]:
    problems = []
    for node in root.iter(etree.Element):
        if etree.QName(node).namespace == NS and node.prefix != codes.PREFIX:
            problems.append(
                PROBLEM_PREFIX + f"dòng {node.sourceline}: phần tử "
                f"{etree.QName(node).localname} thiếu tiền tố {codes.PREFIX}:."
            )
    return problems


def _semantic_problems(root: etree._Element) -> list[str]:
    """What the schema cannot say: each href names its ContentId, each file is in the manifest."""
    problems = []
    attachments = [
        node.findtext("edXML:ContentId", namespaces=NSMAP)
        for node in root.iterfind("edXML:AttachmentEncoded/edXML:Attachment", NSMAP)
    ]
    for node in root.iterfind(".//edXML:edXMLManifest/edXML:Reference", NSMAP):
        content_id = node.findtext("edXML:ContentId", namespaces=NSMAP)
        if node.get(f"{{{XLINK}}}href") != f"cid:{content_id}":
            problems.append(
                PROBLEM_PREFIX + f"dòng {node.sourceline}: xlink:href phải là cid:{content_id}."
            )
    referenced = {
        n.findtext("edXML:ContentId", namespaces=NSMAP)
        for n in root.iterfind(".//edXML:edXMLManifest/edXML:Reference", NSMAP)
    }
    for content_id in attachments:
        if content_id not in referenced:
            problems.append(
                PROBLEM_PREFIX + f"tệp đính kèm {content_id} không có trong edXMLManifest."
            )
    return problems


def validate_package(
    data: bytes, *, max_bytes: int = MAX_PACKAGE_BYTES, require_prefix: bool = False
) -> list[str]:
    """The problems of a package against edxml.xsd, in Vietnamese (empty: valid).

    ``require_prefix`` also asks for the explicit ``edXML:`` prefix on every element, which
    some receivers insist on (what we write always has it).
    """
    root, problems = _parse(data, max_bytes)
    if root is None:
        return problems
    schema = _schema()
    if not schema.validate(root):
        return [
            PROBLEM_PREFIX + f"dòng {error.line}: {error.message}" for error in schema.error_log
        ]
    problems = _semantic_problems(root)
    if require_prefix:
        problems += _prefix_problems(root)
    return problems


# --- Reading ------------------------------------------------------------------------------


def _text(node: etree._Element, path: str) -> str:
    return unicodedata.normalize("NFC", node.findtext(path, default="", namespaces=NSMAP))


def _optional(node: etree._Element, path: str) -> str | None:
    found = node.find(path, NSMAP)
    return None if found is None else unicodedata.normalize("NFC", found.text or "")


def _date(value: str) -> date:
    return datetime.strptime(value, DATE_FORMAT).date()


def _read_organ(node: etree._Element) -> Organ:
    return Organ(
        organ_id=_text(node, "edXML:OrganId"),
        name=_text(node, "edXML:OrganName"),
        organization_in_charge=_text(node, "edXML:OrganizationInCharge"),
        address=_optional(node, "edXML:OrganAdd"),
        email=_optional(node, "edXML:Email"),
    )


def parse_package(data: bytes, *, max_bytes: int = MAX_PACKAGE_BYTES) -> EdxmlDocument:
    """Read a package (validated first; no DTD, no entities); PackageError when it is not one."""
    problems = validate_package(data, max_bytes=max_bytes)
    if problems:
        raise PackageError(problems)
    root = etree.fromstring(bytes(data), _safe_parser())
    message = root.find("edXML:edXMLEnvelope/edXML:edXMLHeader/edXML:MessageHeader", NSMAP)
    trace = root.find(
        "edXML:edXMLEnvelope/edXML:edXMLHeader/edXML:TraceHeaderList/edXML:TraceHeader", NSMAP
    )
    try:
        promulgated = _date(_text(message, "edXML:PromulgationInfo/edXML:PromulgationDate"))
        due = _optional(message, "edXML:DueDate")
        due_date = _date(due) if due else None
        stamp = datetime.strptime(_text(trace, "edXML:Timestamp"), TIMESTAMP_FORMAT)
    except ValueError as exc:  # 2023/02/30 passes the pattern, not the calendar
        raise PackageError([PROBLEM_PREFIX + "ngày tháng không có thật trong lịch."]) from exc
    attachments = []
    for node in root.iterfind("edXML:AttachmentEncoded/edXML:Attachment", NSMAP):
        attachments.append(
            Attachment(
                name=_text(node, "edXML:AttachmentName"),
                content_type=_text(node, "edXML:ContentType"),
                data=base64.b64decode(node.findtext("edXML:ContentTransferEncoded", "", NSMAP)),
                description=_text(node, "edXML:Description"),
            )
        )
    # Manifest order is the document's order of attachments.
    order = [
        n.findtext("edXML:ContentId", namespaces=NSMAP)
        for n in root.iterfind(".//edXML:edXMLManifest/edXML:Reference", NSMAP)
    ]
    by_id = {a.content_id: a for a in attachments}
    ordered = [by_id[c] for c in order if c in by_id]
    ordered += [a for a in attachments if a.content_id not in order]
    return EdxmlDocument(
        sender=_read_organ(message.find("edXML:From", NSMAP)),
        recipients=[_read_organ(n) for n in message.iterfind("edXML:To", NSMAP)],
        code_number=_text(message, "edXML:Code/edXML:CodeNumber"),
        code_notation=_text(message, "edXML:Code/edXML:CodeNotation"),
        place=_text(message, "edXML:PromulgationInfo/edXML:Place"),
        promulgation_date=promulgated,
        document_type=DocumentType(
            code=_text(message, "edXML:DocumentType/edXML:Type"),
            name=_text(message, "edXML:DocumentType/edXML:TypeName"),
        ),
        subject=_text(message, "edXML:Subject"),
        signer=Signer(
            competence=_text(message, "edXML:SignerInfo/edXML:Competence"),
            position=_text(message, "edXML:SignerInfo/edXML:Position"),
            full_name=_text(message, "edXML:SignerInfo/edXML:FullName"),
        ),
        to_places=[
            unicodedata.normalize("NFC", n.text or "")
            for n in message.iterfind("edXML:ToPlaces/edXML:Place", NSMAP)
        ],
        document_id=_text(message, "edXML:DocumentId"),
        trace_timestamp=stamp.replace(tzinfo=VN_TZ),
        attachments=ordered,
        priority=int(_text(message, "edXML:OtherInfo/edXML:Priority")),
        page_amount=int(_text(message, "edXML:OtherInfo/edXML:PageAmount")),
        promulgation_amount=int(_text(message, "edXML:OtherInfo/edXML:PromulgationAmount")),
        steering_type=int(_text(message, "edXML:SteeringType")),
        content=_optional(message, "edXML:Content"),
        due_date=due_date,
        sphere_of_promulgation=_optional(message, "edXML:OtherInfo/edXML:SphereOfPromulgation"),
        typer_notation=_optional(message, "edXML:OtherInfo/edXML:TyperNotation"),
    )
