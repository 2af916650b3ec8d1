"""The sổ văn bản đến: edXML packages received, verified on arrival, answered with QCVN 102 replies.

The receiving side is normally another installation; here it is a second Agency row (Ban Dân
vận Tỉnh ủy, its own office and users) in the same database, which is enough for everything
the register does: it only ever reads its own rows, keyed by agency. Packages are built from
documents the department issued through the real operations (tests/factories.py) and, where
a test needs many distinct documents, by hand.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from danvan.edxml import (
    Attachment,
    DocumentType,
    EdxmlDocument,
    Organ,
    Signer,
    build_package,
    document_from_archive,
    parse_package,
)
from danvan.edxml.archive import pdf_page_count
from danvan.edxml.package import MAX_PACKAGE_BYTES
from danvan.edxml.status import StatusReply, build_status, parse_status
from danvan.extensions import db
from danvan.incoming import NO_PDF, ImportRefused, accept, import_package, status_reply_for
from danvan.keys import trust_roots
from danvan.models import Agency, Blob, Delivery, IncomingDocument, Role, Unit
from danvan.operations import Conflict, NotAllowed
from danvan.receipts import apply_status_reply
from danvan.text import VN_TZ, utcnow
from tests.conftest import csrf_token_from
from tests.factories import create_user, signed_report

SENDER_ID = "000.00.31.H23"
RECEIVER_ID = "000.00.01.H23"
ARRIVAL = datetime(2023, 11, 4, 1, 0, tzinfo=UTC)  # 08:00 on 04/11/2023 in Hà Nội
ACCEPTED = ARRIVAL + timedelta(hours=2)
RECEIVER = Organ(RECEIVER_ID, "Ban Dân vận Tỉnh ủy Hà Nam", "Tỉnh ủy Hà Nam")


class Receiver:
    """The receiving agency (Ban Dân vận Tỉnh ủy) with its office, Văn thư and others."""

    def __init__(self):
        self.agency = Agency(
            name="BAN DÂN VẬN",
            full_name="Ban Dân vận Tỉnh ủy Hà Nam",
            parent_name="TỈNH ỦY HÀ NAM",
            abbreviation="BDVTU",
            place_name="Hà Nam",
            organ_id=RECEIVER_ID,
        )
        self.office_unit = Unit(
            agency=self.agency, name="Văn phòng Ban", abbreviation="VP", is_office=True
        )
        self.unit = Unit(agency=self.agency, name="Phòng Nghiệp vụ", abbreviation="NV")
        db.session.add_all([self.agency, self.office_unit, self.unit])
        self.clerk = create_user("vt.bdv", self.office_unit, Role.CLERK, full_name="Mai Thị Thu")
        self.office = create_user("vp.bdv", self.office_unit, Role.OFFICE, Role.STAFF)
        self.staff = create_user("cv.bdv", self.unit, Role.STAFF)
        db.session.commit()


@pytest.fixture
def roots(app):
    return trust_roots(app.config, app.instance_path)


@pytest.fixture
def receiver(dept):
    dept.agency.organ_id = SENDER_ID
    db.session.commit()
    return Receiver()


@pytest.fixture
def issued_docx(dept, app, receiver):
    """01/BC-SXD issued without LibreOffice (.docx + .p7s) and its package for the receiver."""
    _report, doc = signed_report(dept, app, issue=True, make_pdf=False)
    data = build_package(document_from_archive(doc, recipients=[RECEIVER], now=ARRIVAL))
    return doc, data


@pytest.fixture
def issued_pdf(dept, app, receiver, cached_conversion):
    """01/BC-SXD signed and issued as PDF/A (two signatures) and its package."""
    _report, doc = signed_report(dept, app, issue=True, make_pdf=True)
    document = document_from_archive(doc, recipients=[RECEIVER], now=ARRIVAL)
    return doc, document, build_package(document)


def hand_made(number: int, *, to: Organ = RECEIVER, **overrides) -> bytes:
    """A package of document ``number``/BC-STC built by hand (its PDF is not a real one)."""
    values = dict(
        sender=Organ("000.00.32.H23", "Sở Tài chính tỉnh Hà Nam", "UBND tỉnh Hà Nam"),
        recipients=[to],
        code_number=f"{number:02d}",
        code_notation="BC-STC",
        place="Hà Nam",
        promulgation_date=date(2023, 11, 2),
        document_type=DocumentType("1", "Báo cáo"),
        subject=f"Kết quả triển khai Tháng cao điểm dân vận năm 2023 (lần {number})",
        signer=Signer("KT.", "Phó Giám đốc", "Lê Văn Bình"),
        to_places=["Ban Dân vận Tỉnh ủy"],
        document_id=f"000.00.32.H23,2023/11/02,{number:02d}/BC-STC",
        trace_timestamp=datetime(2023, 11, 2, 9, 0, tzinfo=VN_TZ),
        attachments=[
            Attachment(f"{number}.pdf", "application/pdf", b"%PDF-1.7 " + bytes([number]))
        ],
        page_amount=2,
    )
    values.update(overrides)
    return build_package(EdxmlDocument(**values))


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(IncomingDocument)),
        db.session.scalar(select(func.count()).select_from(Blob)),
    )


def upload(client, data: bytes, name: str = "goi.edxml"):
    return client.post(
        "/van-ban-den/nhan",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


# --- Registering ---------------------------------------------------------------------------


@pytest.mark.libreoffice
def test_own_issued_pdf_round_trips_with_valid_signatures(dept, receiver, issued_pdf, roots):
    doc, document, data = issued_pdf
    incoming = import_package(
        data, agency=receiver.agency, actor=receiver.clerk, trust_roots=roots, now=ARRIVAL
    )
    db.session.commit()
    assert (incoming.year, incoming.number) == (2023, 1)
    assert incoming.number_symbol == doc.number_symbol == "01/BC-SXD"
    assert incoming.doc_date == doc.doc_date
    assert incoming.subject == doc.subject
    assert incoming.signer_name == doc.signer_name
    assert incoming.signer_position == doc.signer_title
    assert incoming.sender_organ_id == SENDER_ID
    assert incoming.sender_name == dept.agency.full_name
    assert incoming.sender_parent == dept.agency.parent_name
    assert incoming.doc_type_name == "Báo cáo"
    pdf = db.session.get(Blob, doc.pdf_sha256).data
    assert incoming.page_amount == pdf_page_count(pdf) >= 1
    assert incoming.document_key == document.document_id
    assert (incoming.pdf_sha256, incoming.docx_sha256, incoming.p7s_sha256) == (
        doc.pdf_sha256,
        doc.docx_sha256,
        doc.p7s_sha256,
    )
    assert incoming.signatures_valid is True
    assert incoming.verification["reasons"] == []
    signatures = incoming.verification["signatures"]
    assert [s["label"] for s in signatures] == ["Chữ ký người ký", "Chữ ký cơ quan (Văn thư)"]
    assert all(s["ok"] and s["signer"] and s["signing_time"] for s in signatures)
    assert incoming.verification["p7s"]["ok"] is True
    assert incoming.status_code == "01" and incoming.received_by_id == receiver.clerk.id


@pytest.mark.libreoffice
def test_tampered_pdf_is_registered_as_not_valid_with_the_reason(receiver, issued_pdf, roots):
    _doc, document, _data = issued_pdf
    pdf = document.attachments[0]
    flipped = bytearray(pdf.data)
    middle = len(flipped) // 3
    flipped[middle] ^= 0x01
    tampered = replace(pdf, data=bytes(flipped))
    data = build_package(replace(document, attachments=[tampered, *document.attachments[1:]]))

    incoming = import_package(
        data, agency=receiver.agency, actor=receiver.clerk, trust_roots=roots, now=ARRIVAL
    )
    assert incoming.signatures_valid is False
    reasons = incoming.verification["reasons"]
    assert reasons and any("Chữ ký người ký: chữ ký không hợp lệ" in r for r in reasons), reasons


def test_docx_only_package_is_registered_without_a_pdf_to_check(receiver, issued_docx, roots):
    doc, data = issued_docx
    incoming = import_package(
        data, agency=receiver.agency, actor=receiver.clerk, trust_roots=roots, now=ARRIVAL
    )
    assert incoming.number == 1 and incoming.pdf_sha256 is None
    assert incoming.signatures_valid is False
    assert incoming.verification["reasons"] == [NO_PDF]
    assert "không có bản PDF ký số để kiểm tra" in NO_PDF
    assert incoming.verification["p7s"]["ok"] is True  # the .docx's own signature, recorded
    assert incoming.docx_sha256 == doc.docx_sha256


def test_package_for_another_organ_is_refused_naming_it(receiver, roots):
    before = counts()
    other = Organ("000.00.99.H23", "Sở Nội vụ tỉnh Hà Nam")
    with pytest.raises(ImportRefused) as info:
        import_package(
            hand_made(1, to=other),
            agency=receiver.agency,
            actor=receiver.clerk,
            trust_roots=roots,
            now=ARRIVAL,
        )
    assert "Sở Nội vụ tỉnh Hà Nam (mã 000.00.99.H23)" in info.value.problems[0]
    assert "Ban Dân vận Tỉnh ủy Hà Nam (mã 000.00.01.H23)" in info.value.problems[0]
    db.session.rollback()
    assert counts() == before


def test_agency_without_organ_id_is_told_to_ask_the_admin(receiver, roots):
    receiver.agency.organ_id = None
    with pytest.raises(ImportRefused) as info:
        import_package(
            hand_made(1), agency=receiver.agency, actor=None, trust_roots=roots, now=ARRIVAL
        )
    assert "chưa có mã định danh" in info.value.problems[0]
    assert "quản trị viên" in info.value.problems[0]


def test_second_import_of_the_same_package_names_the_number(receiver, roots):
    data = hand_made(7)
    import_package(data, agency=receiver.agency, actor=None, trust_roots=roots, now=ARRIVAL)
    db.session.commit()
    before = counts()
    with pytest.raises(ImportRefused) as info:
        import_package(data, agency=receiver.agency, actor=None, trust_roots=roots, now=ARRIVAL)
    assert "đã vào sổ văn bản đến: số đến 1/2023 ngày 04/11/2023" in info.value.problems[0]
    db.session.rollback()
    assert counts() == before


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "tệp rỗng"),
        (b"%PDF-1.7 not xml", "không phải XML hợp lệ"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&e;</edXML>',
            "DOCTYPE/ENTITY",
        ),
        (b"<" + b"a" * MAX_PACKAGE_BYTES + b"/>", "tệp quá lớn"),
        (b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>', "dòng 1"),
    ],
    ids=["empty", "garbage", "xxe", "oversize", "not-valid"],
)
def test_what_is_not_a_package_is_refused_and_nothing_stored(receiver, roots, data, expected):
    before = counts()
    with pytest.raises(ImportRefused) as info:
        import_package(data, agency=receiver.agency, actor=None, trust_roots=roots, now=ARRIVAL)
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert all(p.startswith("Gói edXML không hợp lệ: ") for p in info.value.problems)
    db.session.rollback()
    assert counts() == before


def test_numbers_run_from_one_each_year_of_arrival_in_vietnam_time(receiver, roots):
    def take(number, now):
        return import_package(
            hand_made(number), agency=receiver.agency, actor=None, trust_roots=roots, now=now
        )

    assert [take(n, ARRIVAL).number for n in (1, 2, 3)] == [1, 2, 3]
    # 31/12/2023 17:30 UTC is already 01/01/2024 in Hà Nội: the 2024 register starts again.
    first_of_2024 = take(4, datetime(2023, 12, 31, 17, 30, tzinfo=UTC))
    assert (first_of_2024.year, first_of_2024.number) == (2024, 1)
    last_of_2023 = take(5, datetime(2023, 12, 31, 16, 59, tzinfo=UTC))
    assert (last_of_2023.year, last_of_2023.number) == (2023, 4)
    # Another agency's register is its own.
    db.session.commit()
    assert take(6, ARRIVAL).number == 5


def test_accept_is_for_the_clerk_once_and_version_checked(receiver, roots):
    doc = import_package(
        hand_made(1), agency=receiver.agency, actor=receiver.clerk, trust_roots=roots, now=ARRIVAL
    )
    db.session.commit()
    with pytest.raises(NotAllowed):
        accept(doc, actor=receiver.office, expected_version=doc.version, now=ACCEPTED)
    with pytest.raises(Conflict):
        accept(doc, actor=receiver.clerk, expected_version=doc.version - 1, now=ACCEPTED)
    accept(doc, actor=receiver.clerk, expected_version=doc.version, now=ACCEPTED)
    db.session.commit()
    assert doc.status_code == "03" and doc.accepted_by_id == receiver.clerk.id
    with pytest.raises(Exception, match="đã được tiếp nhận"):
        accept(doc, actor=receiver.clerk, expected_version=doc.version, now=ACCEPTED)


# --- Status replies ----------------------------------------------------------------------------


def test_status_reply_round_trips_through_the_schema(receiver, roots):
    doc = import_package(
        hand_made(3), agency=receiver.agency, actor=receiver.clerk, trust_roots=roots, now=ARRIVAL
    )
    data = status_reply_for(doc, "01", staff=receiver.clerk, now=ACCEPTED)
    text = data.decode()
    assert "<edXML:Timestamp>2023/11/04 08:00:00</edXML:Timestamp>" in text
    assert "<edXML:PromulgationDate>2023/11/02</edXML:PromulgationDate>" in text
    assert "<edXML:Code>03/BC-STC</edXML:Code>" in text
    reply = parse_status(data)
    assert reply.sender_organ_id == "000.00.32.H23"
    assert reply.document_id == doc.document_key
    assert reply.responder == Organ(RECEIVER_ID, "Ban Dân vận Tỉnh ủy Hà Nam", "TỈNH ỦY HÀ NAM")
    assert (reply.status_code, reply.description) == ("01", "Đã đến")
    assert (reply.department, reply.staff) == ("Văn phòng Ban", "Mai Thị Thu")
    assert build_status(reply) == data
    with pytest.raises(Exception, match="chưa được tiếp nhận"):
        status_reply_for(doc, "03", staff=receiver.clerk, now=ACCEPTED)


def test_status_parser_refuses_a_package_entities_and_a_wrong_code(receiver):
    with pytest.raises(Exception, match="edXML:Status"):
        parse_status(hand_made(1))
    with pytest.raises(Exception, match="DOCTYPE"):
        parse_status(b'<!DOCTYPE x [<!ENTITY a "b">]><Status/>')
    reply = StatusReply(
        sender_organ_id=SENDER_ID,
        number_symbol="01/BC-SXD",
        promulgation_date=date(2023, 11, 3),
        document_id=f"{SENDER_ID},2023/11/03,01/BC-SXD",
        responder=RECEIVER,
        status_code="01",
        description="Đã đến",
        timestamp=datetime(2023, 11, 4, 8, 0, tzinfo=VN_TZ),
    )
    good = b"<edXML:StatusCode>01</edXML:StatusCode>"
    doc_reply = build_status(reply)
    assert good in doc_reply and parse_status(doc_reply) == replace(reply, department="", staff="")
    with pytest.raises(Exception, match="The value '99' is not accepted"):
        parse_status(doc_reply.replace(good, b"<edXML:StatusCode>99</edXML:StatusCode>"))


def test_replies_mark_the_senders_delivery_and_never_downgrade(dept, receiver, issued_docx, roots):
    archived, data = issued_docx
    doc = import_package(
        data, agency=receiver.agency, actor=receiver.clerk, trust_roots=roots, now=ARRIVAL
    )
    arrived = status_reply_for(doc, "01", staff=receiver.clerk, now=ARRIVAL)
    accept(doc, actor=receiver.clerk, expected_version=doc.version, now=ACCEPTED)
    accepted = status_reply_for(doc, "03", staff=receiver.clerk, now=ACCEPTED)
    db.session.commit()

    # The package left by hand: the first reply creates the sender's Delivery.
    delivery = apply_status_reply(arrived, agency=dept.agency, actor=dept.clerk, now=ARRIVAL)
    db.session.commit()
    assert delivery.archived_document_id == archived.id
    assert (delivery.channel, delivery.organ_id) == ("edxml", RECEIVER_ID)
    assert delivery.recipient_name == "Ban Dân vận Tỉnh ủy Hà Nam"
    assert delivery.document_key == doc.document_key
    assert (delivery.status_code, delivery.status_description) == ("01", "Đã đến")
    assert delivery.received_at == ARRIVAL
    assert delivery.status_staff == "Mai Thị Thu, Văn phòng Ban"

    delivery = apply_status_reply(accepted, agency=dept.agency, actor=dept.clerk, now=ACCEPTED)
    db.session.commit()
    assert (delivery.status_code, delivery.status_description) == ("03", "Đã tiếp nhận")
    assert delivery.status_at == ACCEPTED and delivery.received_at == ARRIVAL
    version = delivery.version

    # The older "Đã đến" again, and the same "Đã tiếp nhận" again: nothing changes.
    for again in (arrived, accepted):
        delivery = apply_status_reply(again, agency=dept.agency, actor=dept.clerk, now=ACCEPTED)
        db.session.commit()
        assert (delivery.status_code, delivery.status_at) == ("03", ACCEPTED)
        assert delivery.version == version
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_reply_for_another_agency_or_an_unknown_document_is_refused(dept, receiver, roots):
    doc = import_package(
        hand_made(2), agency=receiver.agency, actor=receiver.clerk, trust_roots=roots, now=ARRIVAL
    )
    reply = status_reply_for(doc, "01", staff=None, now=ARRIVAL)
    with pytest.raises(ImportRefused) as info:  # the reply answers the Sở Tài chính, not us
        apply_status_reply(reply, agency=dept.agency, actor=None, now=ARRIVAL)
    assert "mã 000.00.32.H23, không phải của Sở Xây dựng tỉnh Hà Nam" in info.value.problems[0]
    doc.sender_organ_id = SENDER_ID  # as if we had sent 02/BC-STC: we never issued it
    reply = status_reply_for(doc, "01", staff=None, now=ARRIVAL)
    with pytest.raises(ImportRefused) as info:
        apply_status_reply(reply, agency=dept.agency, actor=None, now=ARRIVAL)
    assert "Không có văn bản số 02/BC-STC ngày 02/11/2023" in info.value.problems[0]


# --- Pages -------------------------------------------------------------------------------------


def test_upload_registers_accepts_and_answers_in_the_browser(
    dept, receiver, issued_docx, client, login, count_queries
):
    _archived, data = issued_docx
    login(receiver.clerk)
    page = upload(client, data)
    assert page.status_code == 302, page.get_data(as_text=True)[:400]
    doc = db.session.scalar(select(IncomingDocument))
    assert page.headers["Location"].endswith(f"/van-ban-den/{doc.id}")
    detail = client.get(f"/van-ban-den/{doc.id}").get_data(as_text=True)
    assert "Đã vào sổ văn bản đến số 1/" in detail and "Chữ ký số: không hợp lệ" in detail
    assert "không có bản PDF ký số để kiểm tra" in detail and doc.subject in detail
    assert "Tải phản hồi “Đã đến”" in detail and "Tải phản hồi “Đã tiếp nhận”" not in detail

    docx = client.get(f"/van-ban-den/{doc.id}/tep/docx")
    assert docx.status_code == 200 and docx.data == db.session.get(Blob, doc.docx_sha256).data
    assert "attachment" in docx.headers["Content-Disposition"]
    assert client.get(f"/van-ban-den/{doc.id}/tep/pdf").status_code == 404  # none received

    token = csrf_token_from(detail)
    page = client.post(
        f"/van-ban-den/{doc.id}/tiep-nhan", data={"csrf_token": token, "version": doc.version}
    )
    assert page.status_code == 302
    db.session.refresh(doc)
    assert doc.status_code == "03"
    reply = client.get(f"/van-ban-den/{doc.id}/phan-hoi-03.xml")
    assert reply.status_code == 200 and reply.mimetype == "application/xml"
    assert parse_status(reply.data).status_code == "03"

    # The sender's Văn thư uploads the reply on their own register page.
    login(dept.clerk)
    page = upload(client, reply.data, "phan-hoi.xml")
    assert page.status_code == 302
    shown = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "Đã ghi nhận phản hồi của Ban Dân vận Tỉnh ủy Hà Nam: Đã tiếp nhận" in shown

    # The list: one query for the rows, however many there are.
    login(receiver.office)
    with count_queries() as one:
        assert client.get("/van-ban-den").status_code == 200  # this year's, as uploaded
    db.session.expire_all()
    for n in (1, 2, 3):
        import_package(
            hand_made(n), agency=receiver.agency, actor=None, trust_roots=[], now=utcnow()
        )
    db.session.commit()
    with count_queries() as four:
        listing = client.get("/van-ban-den").get_data(as_text=True)
    assert four.n == one.n
    assert listing.count("Không hợp lệ") == 4 and "Đã tiếp nhận" in listing and "Đã đến" in listing
    found = client.get("/van-ban-den", query_string={"q": "trien khai (lan 2)"}).get_data(
        as_text=True
    )
    assert "02/BC-STC" in found and "03/BC-STC" not in found and "01/BC-SXD" not in found


def test_upload_refuses_disguised_and_foreign_files_in_vietnamese(receiver, client, login):
    login(receiver.clerk)
    before = counts()
    pdf = upload(client, b"%PDF-1.7\n...", "goi.edxml")
    assert pdf.status_code == 422
    assert "không phải gói edXML: nội dung thật là PDF" in pdf.get_data(as_text=True)
    txt = upload(client, hand_made(1), "goi.txt")
    assert "chỉ nhận tệp .edxml hoặc .xml" in txt.get_data(as_text=True)
    other = upload(client, hand_made(1, to=Organ("000.00.99.H23", "Sở Nội vụ")), "goi.edxml")
    assert other.status_code == 422 and "Sở Nội vụ (mã 000.00.99.H23)" in other.get_data(
        as_text=True
    )
    xml = upload(client, b"<a/>", "goi.xml")
    assert "không phải gói văn bản (edXML:edXML) hay phản hồi" in xml.get_data(as_text=True)
    assert counts() == before


def test_who_may_see_and_act(receiver, client, login, roots):
    doc = import_package(
        hand_made(1), agency=receiver.agency, actor=None, trust_roots=roots, now=ARRIVAL
    )
    db.session.commit()
    anonymous = client.get("/van-ban-den")
    assert anonymous.status_code == 302 and "/dang-nhap" in anonymous.headers["Location"]
    assert client.get(f"/van-ban-den/{doc.id}").status_code == 302
    login(receiver.staff)
    assert client.get("/van-ban-den").status_code == 403
    assert client.get(f"/van-ban-den/{doc.id}").status_code == 403
    assert client.get(f"/van-ban-den/{doc.id}/tep/goi").status_code == 403
    assert upload(client, hand_made(2)).status_code == 403
    login(receiver.office)
    page = client.get("/van-ban-den").get_data(as_text=True)
    assert "Sổ văn bản đến — năm" in page and 'id="receive-form"' not in page
    assert client.get(f"/van-ban-den/{doc.id}").status_code == 200
    assert upload(client, hand_made(2)).status_code == 403
    assert client.post(f"/van-ban-den/{doc.id}/tiep-nhan", data={"version": "1"}).status_code == 403
    assert client.get(f"/van-ban-den/{doc.id}/phan-hoi-01.xml").status_code == 403
    login(receiver.clerk)
    assert 'id="receive-form"' in client.get("/van-ban-den").get_data(as_text=True)


def test_another_agencys_document_is_not_found(dept, receiver, client, login, roots):
    doc = import_package(
        hand_made(1), agency=receiver.agency, actor=None, trust_roots=roots, now=ARRIVAL
    )
    db.session.commit()
    login(dept.clerk)  # Sở Xây dựng's Văn thư: not this register
    assert client.get(f"/van-ban-den/{doc.id}").status_code == 404


def test_archive_export_is_a_post_that_records_the_delivery(dept, issued_docx, client, login):
    archived, _data = issued_docx
    login(dept.staff_a)
    assert client.get(f"/luu-tru/{archived.id}/edxml").status_code == 403
    assert (
        client.post(f"/luu-tru/{archived.id}/edxml", data={"den": RECEIVER_ID}).status_code == 403
    )
    login(dept.clerk)
    bad = client.post(f"/luu-tru/{archived.id}/edxml", data={"den": "khong-hop-le"})
    assert bad.status_code == 422 and 'id="edxml-problems"' in bad.get_data(as_text=True)
    form = client.get(f"/luu-tru/{archived.id}/edxml?den={RECEIVER_ID}")
    assert form.status_code == 200 and 'method="post"' in form.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0  # GET: no effect
    token = csrf_token_from(form.get_data(as_text=True))
    for _ in range(2):
        package = client.post(
            f"/luu-tru/{archived.id}/edxml",
            data={"csrf_token": token, "den": RECEIVER_ID, "ten": "Ban Dân vận Tỉnh ủy Hà Nam"},
        )
        assert package.status_code == 200 and package.mimetype == "application/xml"
    assert parse_package(package.data).recipients[0].organ_id == RECEIVER_ID
    delivery = db.session.scalar(select(Delivery))
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1
    assert (delivery.channel, delivery.organ_id) == ("edxml", RECEIVER_ID)
    assert delivery.document_key == parse_package(package.data).document_id
    assert delivery.created_by_id == dept.clerk.id and delivery.status_code is None


# --- Commands ----------------------------------------------------------------------------------


def test_import_and_status_commands(dept, receiver, issued_docx, app, tmp_path):
    _archived, data = issued_docx
    path = tmp_path / "goi.edxml"
    path.write_bytes(data)
    runner = app.test_cli_runner()
    agency = ["--agency-id", str(receiver.agency.id)]
    result = runner.invoke(args=["danvan", "import-edxml", str(path), *agency])
    assert result.exit_code == 0, result.output
    assert "Đã vào sổ văn bản đến số 1/" in result.output
    assert "Chữ ký số: Không hợp lệ" in result.output and NO_PDF in result.output
    again = runner.invoke(args=["danvan", "import-edxml", str(path), *agency])
    assert again.exit_code == 1 and "đã vào sổ văn bản đến: số đến 1/" in again.output
    several = runner.invoke(args=["danvan", "import-edxml", str(path)])
    assert several.exit_code != 0 and "--agency-id" in several.output

    doc = db.session.scalar(select(IncomingDocument))
    out = tmp_path / "phan-hoi.xml"
    result = runner.invoke(
        args=["danvan", "edxml-status", "--incoming-number", "1", "--year", str(doc.year),
              "--code", "01", "--out", str(out), *agency]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert parse_status(out.read_bytes()).document_id == doc.document_key
    refused = runner.invoke(
        args=["danvan", "edxml-status", "--incoming-number", "1", "--year", str(doc.year),
              "--code", "03", "--out", str(out), *agency]
    )  # fmt: skip
    assert refused.exit_code != 0 and "chưa được tiếp nhận" in refused.output

    # The sender reads the reply with the same command.
    result = runner.invoke(
        args=["danvan", "import-edxml", str(out), "--agency-id", str(dept.agency.id)]
    )
    assert result.exit_code == 0, result.output
    assert "Đã ghi nhận phản hồi của Ban Dân vận Tỉnh ủy Hà Nam: Đã đến" in result.output


# --- Races -------------------------------------------------------------------------------------


def test_parallel_imports_get_distinct_numbers(receiver, app, live_server):
    from tests.test_races import at_once, no_server_errors

    server = live_server()
    browsers = [server.browser() for _ in range(2)]
    for browser in browsers:
        browser.login(receiver.clerk.username, "matkhau-123")
    tokens = [b.csrf_token("/van-ban-den") for b in browsers]
    packages = [hand_made(11), hand_made(12)]
    pages = at_once(
        2,
        lambda i: browsers[i].post(
            "/van-ban-den/nhan",
            {"csrf_token": tokens[i]},
            files=[("file", f"goi-{i}.edxml", packages[i])],
        ),
    )
    no_server_errors(pages, server)
    assert all(p.statuses[0] == 302 for p in pages), [p.statuses for p in pages]
    db.session.expire_all()
    numbers = sorted(db.session.scalars(select(IncomingDocument.number)))
    assert numbers == [1, 2]
