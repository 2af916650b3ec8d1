"""edXML export (QCVN 102:2016): built from the archive, checked by our XSD, read back equal.

Packages are built from documents issued through the real operations (tests/factories.py);
the refusals are the ones a receiver's parser must make: no Code, a dd/mm/yyyy date, a package
outside the edXML namespace, a DOCTYPE (billion laughs, XXE), a file that is not XML, an
oversized one.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import fields, replace
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from danvan.edxml import (
    Attachment,
    DocumentType,
    EdxmlDocument,
    Organ,
    PackageError,
    Signer,
    build_package,
    codes,
    document_from_archive,
    parse_package,
    validate_package,
)
from danvan.edxml.archive import pdf_page_count
from danvan.edxml.package import NS, PROBLEM_PREFIX
from danvan.extensions import db
from danvan.models import Blob
from danvan.text import VN_TZ, format_number
from tests.factories import signed_report

SENDER_ID = "000.00.31.H23"
BAN_DAN_VAN = Organ("000.00.01.H23", "Ban Dân vận Tỉnh ủy Hà Nam", "Tỉnh ủy Hà Nam")
NOW = datetime(2023, 11, 3, 2, 15, 30, 123456, tzinfo=UTC)  # 09:15:30 in Hà Nội


def sample(**overrides) -> EdxmlDocument:
    """A document built by hand, for the tests that need no database."""
    values = dict(
        sender=Organ(
            SENDER_ID,
            "Sở Xây dựng tỉnh Hà Nam",
            "UBND tỉnh Hà Nam",
            address="Số 1 đường Lê Hoàn, Phủ Lý",
            email="sxd@hanam.gov.vn",
        ),
        recipients=[BAN_DAN_VAN],
        code_number="01",
        code_notation="BC-SXD",
        place="Hà Nam",
        promulgation_date=date(2023, 11, 3),
        document_type=DocumentType("1", "Báo cáo"),
        subject="Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2023",
        signer=Signer("KT.", "Phó Giám đốc", "Trần Thị Thu Hà"),
        to_places=["Ban Dân vận Tỉnh ủy", "Các phòng chuyên môn, đơn vị thuộc Sở"],
        document_id=f"{SENDER_ID},2023/11/03,01/BC-SXD",
        trace_timestamp=datetime(2023, 11, 3, 9, 15, 30, tzinfo=VN_TZ),
        attachments=[
            Attachment("2023-01-BC-SXD.pdf", "application/pdf", b"%PDF-1.7 test", "Bản PDF"),
        ],
        page_amount=3,
    )
    values.update(overrides)
    return EdxmlDocument(**values)


def assert_equal_fields(parsed: EdxmlDocument, original: EdxmlDocument) -> None:
    """Field by field, so that a failure names the field."""
    for f in fields(EdxmlDocument):
        assert getattr(parsed, f.name) == getattr(original, f.name), f.name
    assert parsed == original


def rebuild(data: bytes, edit) -> bytes:
    """The package with ``edit(root)`` applied, serialised again."""
    root = etree.fromstring(data)
    edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


@pytest.fixture
def organ_id(dept):
    """The department's mã định danh, as the administrator enters it."""
    dept.agency.organ_id = SENDER_ID
    db.session.commit()
    return SENDER_ID


@pytest.fixture
def issued_docx(dept, app, organ_id):
    """The issued 01/BC-SXD without LibreOffice: .docx + .p7s only."""
    return signed_report(dept, app, issue=True, make_pdf=False)


# --- From the archive ---------------------------------------------------------------------


def test_issued_docx_builds_validates_and_round_trips(dept, issued_docx):
    report, doc = issued_docx
    document = document_from_archive(doc, recipients=[BAN_DAN_VAN], now=NOW)

    assert document.sender == Organ(SENDER_ID, "Sở Xây dựng tỉnh Hà Nam", "UBND TỈNH HÀ NAM")
    assert (document.code_number, document.code_notation) == ("01", "BC-SXD")
    assert document.number_symbol == doc.number_symbol == "01/BC-SXD"
    assert document.place == "Hà Nam"
    assert document.promulgation_date == doc.doc_date
    assert document.document_type == DocumentType("1", "Báo cáo")
    assert document.subject == doc.subject
    assert document.signer == Signer("", "Giám đốc", dept.director.full_name)
    assert document.to_places == dept.campaign.recipient_lines
    assert document.priority == 0
    assert document.page_amount == 0  # no PDF without LibreOffice
    assert document.promulgation_amount >= 1
    assert document.document_id == f"{SENDER_ID},{doc.doc_date:%Y/%m/%d},01/BC-SXD"
    assert document.trace_timestamp.isoformat() == "2023-11-03T09:15:30+07:00"
    assert [a.name for a in document.attachments] == [
        "2023-01-BC-SXD.docx",
        "2023-01-BC-SXD.docx.p7s",
    ]
    assert [a.sha256 for a in document.attachments] == [doc.docx_sha256, doc.p7s_sha256]

    data = build_package(document)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>")
    assert validate_package(data) == []
    assert validate_package(data, require_prefix=True) == []
    text = data.decode()
    assert f"<edXML:PromulgationDate>{doc.doc_date:%Y/%m/%d}</edXML:PromulgationDate>" in text
    assert "<edXML:Timestamp>2023/11/03 09:15:30</edXML:Timestamp>" in text
    assert "<edXML:TypeName>Báo cáo</edXML:TypeName>" in text
    assert "<edXML:Competence></edXML:Competence>" in text or "<edXML:Competence/>" in text

    parsed = parse_package(data)
    assert_equal_fields(parsed, document)
    # The same document at the same moment: the same bytes (ContentIds from the SHA-256).
    again = document_from_archive(doc, recipients=[BAN_DAN_VAN], now=NOW)
    assert build_package(again) == data


def test_envelope_elements_all_carry_the_edxml_prefix(issued_docx):
    _, doc = issued_docx
    data = build_package(document_from_archive(doc, recipients=[BAN_DAN_VAN], now=NOW))
    root = etree.fromstring(data)
    assert root.tag == q("edXML")
    for node in root.iter(etree.Element):
        assert etree.QName(node).namespace == NS, node.tag
        assert node.prefix == "edXML", node.tag
    ref = root.find(".//edXML:Reference", {"edXML": NS})
    content_id = ref.findtext("edXML:ContentId", namespaces={"edXML": NS})
    assert ref.get("{http://www.w3.org/1999/xlink}href") == f"cid:{content_id}"


def test_several_recipients_each_get_a_to(issued_docx):
    _, doc = issued_docx
    other = Organ("000.00.02.H23", "Văn phòng UBND tỉnh Hà Nam", "UBND tỉnh Hà Nam")
    document = document_from_archive(doc, recipients=[BAN_DAN_VAN, other], now=NOW)
    data = build_package(document)
    assert data.count(b"<edXML:To>") == 2
    assert parse_package(data).recipients == [BAN_DAN_VAN, other]


def test_deputy_signer_gives_competence_kt(dept, app, organ_id):
    _, doc = signed_report(dept, app, issue=True, make_pdf=False, signer=dept.deputy)
    document = document_from_archive(doc, recipients=[BAN_DAN_VAN], now=NOW)
    assert document.signer == Signer("KT.", "Phó Giám đốc", dept.deputy.full_name)
    data = build_package(document)
    assert "<edXML:Competence>KT.</edXML:Competence>" in data.decode()
    assert "<edXML:Position>Phó Giám đốc</edXML:Position>" in data.decode()
    assert parse_package(data).signer == document.signer


def test_agency_without_organ_id_is_refused_in_vietnamese(dept, app):
    _, doc = signed_report(dept, app, issue=True, make_pdf=False)
    with pytest.raises(PackageError) as info:
        document_from_archive(doc, recipients=[BAN_DAN_VAN], now=NOW)
    assert "chưa có mã định danh" in str(info.value)


@pytest.mark.libreoffice
def test_pdf_attachment_decodes_to_the_archived_pdf(dept, app, organ_id, cached_conversion):
    _, doc = signed_report(dept, app, issue=True, make_pdf=True)
    document = document_from_archive(doc, recipients=[BAN_DAN_VAN], now=NOW)
    archived_pdf = db.session.get(Blob, doc.pdf_sha256).data
    assert document.page_amount == pdf_page_count(archived_pdf) >= 1
    assert [a.content_type for a in document.attachments][0] == "application/pdf"

    data = build_package(document)
    parsed = parse_package(data)
    assert_equal_fields(parsed, document)
    pdf = parsed.attachments[0]
    assert pdf.name == "2023-01-BC-SXD.pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == doc.pdf_sha256
    assert [a.sha256 for a in parsed.attachments] == [
        doc.pdf_sha256,
        doc.docx_sha256,
        doc.p7s_sha256,
    ]
    assert f"<edXML:PageAmount>{document.page_amount}</edXML:PageAmount>" in data.decode()


# --- Text ---------------------------------------------------------------------------------


def test_nfd_text_comes_out_nfc_and_controls_are_stripped():
    nfd = unicodedata.normalize("NFD", "Báo cáo kết quả Tháng cao điểm dân vận")
    assert nfd != unicodedata.normalize("NFC", nfd)
    document = sample(
        subject=nfd + "\x0b\x00",
        signer=Signer("KT.", unicodedata.normalize("NFD", "Phó Giám đốc"), "Trần Thị Thu Hà"),
    )
    data = build_package(document)
    parsed = parse_package(data)
    assert parsed.subject == "Báo cáo kết quả Tháng cao điểm dân vận"
    assert unicodedata.is_normalized("NFC", parsed.subject)
    assert parsed.signer.position == "Phó Giám đốc"
    assert "Báo cáo kết quả".encode() in data


def test_hand_built_document_round_trips_with_optional_fields():
    document = sample(
        content="Tóm tắt: hai dòng\nnội dung.",
        due_date=date(2023, 11, 30),
        sphere_of_promulgation="Toàn tỉnh",
        typer_notation="PTL",
        priority=1,
        promulgation_amount=5,
    )
    assert_equal_fields(parse_package(build_package(document)), document)


def test_build_refuses_what_cannot_be_a_package():
    with pytest.raises(PackageError, match="nơi nhận"):
        build_package(sample(recipients=[]))
    with pytest.raises(PackageError, match="ít nhất một tệp"):
        build_package(sample(attachments=[]))
    with pytest.raises(PackageError, match="hai lần"):
        twice = Attachment("a.pdf", "application/pdf", b"same")
        build_package(sample(attachments=[twice, replace(twice, name="b.pdf")]))
    # Its own output is validated: a mã định danh not of the QCVN form is a ValueError.
    with pytest.raises(ValueError, match="Gói edXML không hợp lệ"):
        build_package(sample(sender=Organ("SXD-HANAM", "Sở Xây dựng", "UBND")))


# --- The schema's refusals ----------------------------------------------------------------


def test_xsd_rejects_a_package_without_code():
    def drop_code(root):
        code = root.find(f".//{q('Code')}")
        code.getparent().remove(code)

    problems = validate_package(rebuild(build_package(sample()), drop_code))
    assert problems and all(p.startswith(PROBLEM_PREFIX) for p in problems)
    assert "Code" in problems[0]


def test_xsd_rejects_a_date_not_written_yyyy_mm_dd():
    def ddmmyyyy(root):
        root.find(f".//{q('PromulgationDate')}").text = "03/11/2023"

    problems = validate_package(rebuild(build_package(sample()), ddmmyyyy))
    assert problems and "PromulgationDate" in problems[0]
    with pytest.raises(PackageError) as info:
        parse_package(rebuild(build_package(sample()), ddmmyyyy))
    assert str(info.value).startswith(PROBLEM_PREFIX)


def test_impossible_date_is_refused_on_parse():
    def thirtieth_of_february(root):
        root.find(f".//{q('PromulgationDate')}").text = "2023/02/30"

    with pytest.raises(PackageError, match="ngày tháng không có thật"):
        parse_package(rebuild(build_package(sample()), thirtieth_of_february))


def _renamespace(data: bytes, namespace: str | None, prefix: str | None) -> bytes:
    """The same tree with every edXML element moved to ``namespace`` under ``prefix``."""
    src = etree.fromstring(data)
    nsmap = {"xlink": "http://www.w3.org/1999/xlink"}
    if namespace is not None:
        nsmap[prefix] = namespace

    def copy(node, parent):
        local = etree.QName(node).localname
        tag = f"{{{namespace}}}{local}" if namespace else local
        new = etree.Element(tag, nsmap=nsmap) if parent is None else etree.SubElement(parent, tag)
        new.text = node.text
        for key, value in node.attrib.items():
            new.set(key, value)
        for child in node:
            copy(child, new)
        return new

    return etree.tostring(copy(src, None), xml_declaration=True, encoding="UTF-8")


def test_xsd_rejects_no_namespace_and_a_wrong_namespace():
    data = build_package(sample())
    no_namespace = _renamespace(data, None, None)
    assert b"<edXML>" in no_namespace or b"<edXML " in no_namespace
    assert validate_package(no_namespace)
    assert validate_package(no_namespace)[0].startswith(PROBLEM_PREFIX)
    wrong = _renamespace(data, "http://www.mic.gov.vn/TBT/QCVN_102_2015", "edXML")
    assert validate_package(wrong)
    with pytest.raises(PackageError):
        parse_package(wrong)


def test_default_namespace_without_prefix_is_flagged_when_the_prefix_is_required():
    unprefixed = _renamespace(build_package(sample()), NS, None)
    assert b"<edXMLEnvelope>" in unprefixed
    # The same names in the same namespace: readable (some senders write it so) …
    assert validate_package(unprefixed) == []
    assert parse_package(unprefixed) == sample()
    # … but not what we send: receivers that want edXML: on every element would refuse it.
    problems = validate_package(unprefixed, require_prefix=True)
    assert problems and "thiếu tiền tố edXML:" in problems[0]


def test_reference_href_must_name_its_content_id():
    def bad_href(root):
        ref = root.find(f".//{q('Reference')}")
        ref.set("{http://www.w3.org/1999/xlink}href", "cid:00000000-0000-0000-0000-000000000000")

    problems = validate_package(rebuild(build_package(sample()), bad_href))
    assert problems and "xlink:href" in problems[0]


def test_attachment_without_reference_is_refused():
    def drop_reference(root):
        ref = root.find(f".//{q('Reference')}")
        ref.getparent().remove(ref)

    assert validate_package(rebuild(build_package(sample()), drop_reference))


# --- What a parser must refuse ------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol4;</edXML:edXML>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">&secret;</edXML:edXML>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_doctype_and_entities_are_refused(data):
    with pytest.raises(PackageError) as info:
        parse_package(data)
    assert info.value.problems == [
        PROBLEM_PREFIX + "tệp có khai báo DOCTYPE/ENTITY, không được chấp nhận."
    ]


def test_doctype_in_utf16_is_refused_too():
    data = BILLION_LAUGHS.replace(
        b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>'
    )
    with pytest.raises(PackageError) as info:
        parse_package(data.decode().encode("utf-16"))
    assert info.value.problems == [
        PROBLEM_PREFIX + "tệp có khai báo DOCTYPE/ENTITY, không được chấp nhận."
    ]


def test_a_file_that_is_not_xml_is_refused():
    with pytest.raises(PackageError) as info:
        parse_package(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n")
    assert str(info.value).startswith(PROBLEM_PREFIX + "tệp không phải XML hợp lệ")
    with pytest.raises(PackageError, match="tệp rỗng"):
        parse_package(b"  ")


def test_an_oversized_file_is_refused_before_parsing():
    data = build_package(sample())
    with pytest.raises(PackageError) as info:
        parse_package(data, max_bytes=1000)
    assert info.value.problems == [
        PROBLEM_PREFIX + f"tệp quá lớn ({format_number(len(data))} byte, tối đa 1.000 byte)."
    ]
    assert parse_package(data, max_bytes=len(data)) == sample()


def test_codes_table_holds_the_uncertain_values():
    assert codes.NAMESPACE == "http://www.mic.gov.vn/TBT/QCVN_102_2016"
    assert codes.DOCUMENT_TYPES["BC"] == ("1", "Báo cáo")
    assert codes.PRIORITIES[codes.PRIORITY_NORMAL] == "Thường"
    assert codes.STATUS_CODES["01"] == "Đã đến"
    assert codes.STATUS_CODES["03"] == "Đã tiếp nhận"


# --- The command and the archive's download ------------------------------------------------


def test_export_edxml_command_writes_a_package_that_reads_back(app, issued_docx, tmp_path):
    report, doc = issued_docx
    out = tmp_path / "goi.edxml"
    result = app.test_cli_runner().invoke(
        args=["danvan", "export-edxml", "--number", doc.number_symbol, "--year", str(doc.year),
              "--to", BAN_DAN_VAN.organ_id, "--out", str(out)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert validate_package(data, require_prefix=True) == []
    parsed = parse_package(data)
    assert parsed.recipients[0].organ_id == BAN_DAN_VAN.organ_id
    assert parsed.recipients[0].name == report.campaign.report_recipient
    assert f"{parsed.code_number}/{parsed.code_notation}" == doc.number_symbol
    missing = app.test_cli_runner().invoke(
        args=["danvan", "export-edxml", "--number", "99/BC-SXD", "--year", "2023",
              "--to", BAN_DAN_VAN.organ_id, "--out", str(out)]
    )  # fmt: skip
    assert missing.exit_code != 0 and "Không có văn bản số 99/BC-SXD" in missing.output


def test_archive_download_asks_for_the_recipient_and_refuses_unit_staff(
    dept, issued_docx, client, login
):
    _report, doc = issued_docx
    login(dept.staff_a)
    assert client.get(f"/luu-tru/{doc.id}/edxml").status_code == 403
    login(dept.clerk)
    form = client.get(f"/luu-tru/{doc.id}/edxml")
    assert form.status_code == 200 and 'id="edxml-form"' in form.get_data(as_text=True)
    # Producing a package records a delivery: a POST (a GET has no side effect).
    bad = client.post(f"/luu-tru/{doc.id}/edxml", data={"den": "khong-hop-le"})
    assert bad.status_code == 422 and 'id="edxml-problems"' in bad.get_data(as_text=True)
    package = client.post(
        f"/luu-tru/{doc.id}/edxml",
        data={"den": BAN_DAN_VAN.organ_id, "ten": "Ban Dân vận Tỉnh ủy Hà Nam"},
    )
    assert package.status_code == 200 and package.mimetype == "application/xml"
    assert "2023-01-BC-SXD.edxml" in package.headers["Content-Disposition"]
    parsed = parse_package(package.data)
    assert parsed.recipients[0].name == "Ban Dân vận Tỉnh ủy Hà Nam"
