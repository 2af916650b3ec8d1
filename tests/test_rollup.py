"""The province's roll-up: three Sở installations report as edXML, Ban Dân vận sums them.

Each Sở is its own installation: its own app and SQLite file (whatever ``--db`` says: the
other agencies' servers are not ours), its own demo CA and certificates, its own numbering
(01/BC-SXD, 03/BC-STC, 07/BC-SNV), its report compiled, signed and issued through the real
operations with LibreOffice and exported as an edXML package addressed to Ban Dân vận. The
Ban Dân vận installation (the test's ``app`` on the run's database) imports them through
``danvan.incoming.import_package``; the expected figures are summed from each Sở's entries.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, date, datetime

import pytest
from docx import Document
from sqlalchemy import select

from danvan import create_app, incoming, rollup
from danvan.blobs import store_blob
from danvan.demo import artwork
from danvan.documents import pdf as pdfmod
from danvan.documents.nd30_check import check_report_docx
from danvan.documents.pki import load_pem_certs
from danvan.edxml import Organ, build_package, document_from_archive, parse_package
from danvan.extensions import db
from danvan.keys import write_demo_keys
from danvan.models import (
    Agency,
    ArchivedDocument,
    Blob,
    Campaign,
    Entry,
    IncomingDocument,
    NumberSequence,
    ReportingAgency,
    Role,
    Unit,
)
from danvan.operations import Conflict, Invalid
from danvan.operations import reports as report_ops
from tests.conftest import _migrate
from tests.factories import World, approve, create_user, make_dept, require, services_for

BAN_ID = "000.00.01.H23"
BAN = Organ(BAN_ID, "Ban Dân vận Tỉnh ủy Hà Nam", "Tỉnh ủy Hà Nam")
DEADLINE = date(2023, 11, 10)
MISSING = ("000.00.34.H23", "Sở Tài nguyên và Môi trường tỉnh Hà Nam")
# Sở: abbreviation, names, mã định danh, its number, signed at, received at (UTC), extra
# entries (officials, citizens, amount) so that the figures differ.
SO = [
    dict(
        abbr="SXD",
        name="SỞ XÂY DỰNG",
        full="Sở Xây dựng tỉnh Hà Nam",
        organ="000.00.31.H23",
        number=1,
        signed=datetime(2023, 11, 3, 2, 30, tzinfo=UTC),
        received=datetime(2023, 11, 4, 1, 0, tzinfo=UTC),
        extra=[(12, 30, 500_000)],
    ),
    dict(
        abbr="STC",
        name="SỞ TÀI CHÍNH",
        full="Sở Tài chính tỉnh Hà Nam",
        organ="000.00.32.H23",
        number=3,
        signed=datetime(2023, 11, 6, 3, 0, tzinfo=UTC),
        # 22:00 on 10/11 in Hà Nội: the last day, on time.
        received=datetime(2023, 11, 10, 15, 0, tzinfo=UTC),
        extra=[(7, 0, 0), (25, 110, 3_000_000)],
    ),
    dict(
        abbr="SNV",
        name="SỞ NỘI VỤ",
        full="Sở Nội vụ tỉnh Hà Nam",
        organ="000.00.33.H23",
        number=7,
        signed=datetime(2023, 11, 8, 2, 0, tzinfo=UTC),
        # 00:30 on 11/11 in Hà Nội (still 10/11 in UTC): one day late.
        received=datetime(2023, 11, 10, 17, 30, tzinfo=UTC),
        extra=[],
    ),
]
TODAY = date(2023, 11, 20)
FIELDS = rollup.NUMBER_FIELDS


def _entry_figures(entries: list[Entry]) -> dict:
    """What the source appendix's "Tổng cộng" row must say, from the Sở's own entries."""
    return {
        "activities": len(entries),
        "observance_activities": sum(1 for e in entries if e.observance_id),
        "officials": sum(e.participants_officials for e in entries),
        "citizens": sum(e.participants_citizens for e in entries),
        "participants": sum(e.participants_officials + e.participants_citizens for e in entries),
        "amount_vnd": sum(e.amount_vnd or 0 for e in entries),
        "models": sum(1 for e in entries if e.model_name),
    }


def _so_installation(spec: dict, template: str, base) -> dict:
    """One Sở's own installation: issue its report and export it to Ban Dân vận."""
    folder = base / spec["abbr"]
    folder.mkdir()
    path = folder / "danvan.sqlite3"
    shutil.copy(template, path)
    keys = write_demo_keys(
        str(folder),
        agency_name=spec["full"],
        people={
            "director": f"Giám đốc {spec['full']}",
            "deputy": f"Phó Giám đốc {spec['full']}",
            "agency": spec["full"],
        },
    )
    manifest = json.loads((keys / "manifest.json").read_text("utf-8"))
    certs = {
        name: {"pkcs12": str(keys / entry["pkcs12"]), "password": manifest["password"]}
        for name, entry in manifest["certificates"].items()
    }
    app = create_app(
        {
            "TESTING": True,
            "IGNORE_INSTANCE_CONFIG": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": f"secret-{spec['abbr']}",
            "SIGNING_CERTIFICATES": certs,
            "TRUST_ROOTS": [str(keys / "ca.pem")],
            "MAIL_SERVER": None,
        }
    )
    with app.app_context():
        world = World()
        agency = world.agency
        agency.name, agency.full_name = spec["name"], spec["full"]
        agency.abbreviation, agency.organ_id = spec["abbr"], spec["organ"]
        make_dept(world)
        for i, (officials, citizens, amount) in enumerate(spec["extra"]):
            approve(
                world,
                world.staff_b,
                world.head_b,
                title=f"Hoạt động thêm {i + 1} của {spec['abbr']}",
                observance_id=None,
                participants_officials=officials,
                participants_citizens=citizens,
                amount_vnd=amount,
            )
        db.session.add(
            NumberSequence(agency_id=agency.id, year=2023, last_number=spec["number"] - 1)
        )
        db.session.commit()
        report = report_ops.compile_report(world.campaign, actor=world.office)
        report_ops.submit_report(
            report, actor=world.chief, signer=world.director, expected_version=report.version
        )
        report_ops.sign_report(
            report,
            actor=world.director,
            expected_version=report.version,
            now=spec["signed"],
            services=services_for(app, world.director, agency),
        )
        archived = report_ops.issue_report(
            report,
            actor=world.clerk,
            expected_version=report.version,
            now=spec["signed"],
            services=services_for(app, world.clerk, agency),
        )
        db.session.commit()
        entries = report_ops.report_entries(report)
        out = {
            **spec,
            "package": build_package(
                document_from_archive(archived, recipients=[BAN], now=spec["signed"])
            ),
            "number_symbol": archived.number_symbol,
            "doc_date": archived.doc_date,
            "pdf_sha256": archived.pdf_sha256,
            "figures": _entry_figures(entries),
            "units": [u.name for u in db.session.scalars(select(Unit).order_by(Unit.position))],
            "ca": (keys / "ca.pem").read_bytes(),
        }
        db.session.remove()
        db.engine.dispose()
    return out


@pytest.fixture(scope="module")
def sources(instance_dir, tmp_path_factory):
    """The three Sở installations' issued reports as edXML packages (LibreOffice: slow)."""
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    base = tmp_path_factory.mktemp("so")
    template = str(base / "template.sqlite3")
    _migrate(f"sqlite:///{template}", instance_dir)
    return [_so_installation(spec, template, base) for spec in SO]


class Ban:
    """Ban Dân vận Tỉnh ủy's installation: an office, its leaders, a roll-up campaign."""

    def __init__(self):
        self.agency = Agency(
            name="BAN DÂN VẬN",
            full_name="Ban Dân vận Tỉnh ủy Hà Nam",
            parent_name="TỈNH ỦY HÀ NAM",
            abbreviation="BDVTU",
            place_name="Hà Nam",
            organ_id=BAN_ID,
        )
        db.session.add(self.agency)
        self.office_unit = Unit(
            agency=self.agency, name="Văn phòng Ban", abbreviation="VP", is_office=True
        )
        self.other_unit = Unit(agency=self.agency, name="Phòng Dân vận", abbreviation="PDV")
        db.session.add_all([self.office_unit, self.other_unit])
        self.office = create_user("vp.ban", self.office_unit, Role.OFFICE, Role.STAFF)
        self.chief = create_user("cvp.ban", self.office_unit, Role.OFFICE_CHIEF, Role.UNIT_HEAD)
        self.director = create_user(
            "tb.ban", self.office_unit, Role.DIRECTOR, full_name="Trần Văn Bình"
        )
        self.clerk = create_user("vt.ban", self.office_unit, Role.CLERK)
        self.admin = create_user("admin.ban", None, Role.ADMIN)
        self.staff = create_user("cv.ban", self.other_unit, Role.STAFF)
        self.director.signature_blob = store_blob(
            artwork.make_signature_png(self.director.full_name)
        ).sha256
        self.agency.seal_sha256 = store_blob(
            artwork.make_seal_png("BAN DÂN VẬN", "TỈNH ỦY HÀ NAM")
        ).sha256
        self.campaign = Campaign(
            agency=self.agency,
            kind="rollup",
            year=2023,
            title="Tổng hợp Tháng cao điểm dân vận năm 2023",
            plan_number="45-KH/BDVTU",
            plan_date=date(2023, 9, 20),
            period_start=date(2023, 10, 1),
            period_end=date(2023, 10, 31),
            report_deadline=DEADLINE,
            report_subject="Kết quả tổng hợp Tháng cao điểm thực hiện công tác dân vận năm 2023",
            recipients="Thường trực Tỉnh ủy\nBan Dân vận Trung ương",
            report_recipient="Thường trực Tỉnh ủy",
        )
        self.campaign.reporting_agencies = [
            ReportingAgency(organ_id=s["organ"], name=s["full"], position=i)
            for i, s in enumerate(SO)
        ] + [ReportingAgency(organ_id=MISSING[0], name=MISSING[1], position=len(SO))]
        db.session.add(self.campaign)
        db.session.commit()


@pytest.fixture
def ban(app, key_dir) -> Ban:
    return Ban()


def _roots(sources, only=None) -> list:
    return [
        c for s in sources if only is None or s["abbr"] in only for c in load_pem_certs(s["ca"])
    ]


def _import(ban: Ban, sources, *, only_trusted=None) -> list[IncomingDocument]:
    docs = [
        incoming.import_package(
            s["package"],
            agency=ban.agency,
            actor=ban.clerk,
            trust_roots=_roots(sources, only_trusted),
            now=s["received"],
        )
        for s in sources
    ]
    db.session.commit()
    return docs


def _sum(sources) -> dict:
    return {f: sum(s["figures"][f] for s in sources) for f in FIELDS}


# --- Arrival, status, figures --------------------------------------------------------------


def test_arrivals_are_linked_with_the_appendix_read_from_the_signed_docx(ban, sources):
    docs = _import(ban, sources)
    for doc, source in zip(docs, sources, strict=True):
        assert doc.signatures_valid, doc.verification
        assert doc.campaign_id == ban.campaign.id
        assert doc.number_symbol == source["number_symbol"]
        assert "error" not in doc.figures, doc.figures
        assert {f: doc.figures["total"][f] for f in FIELDS} == source["figures"]
        assert [r["unit"] for r in doc.figures["rows"]] == source["units"]
        for f in FIELDS:  # the unit rows add up to the Tổng cộng row
            assert sum(r[f] for r in doc.figures["rows"]) == source["figures"][f]
    assert [s["number_symbol"] for s in sources] == ["01/BC-SXD", "03/BC-STC", "07/BC-SNV"]


def test_status_two_on_time_one_late_one_missing(ban, sources):
    docs = _import(ban, sources)
    status = rollup.reporting_status(ban.campaign, TODAY)
    states = {row.agency.organ_id: row for row in status.expected}
    assert [row.state for row in status.expected] == ["on_time", "on_time", "late", "missing"]
    assert (status.count("on_time"), status.count("late"), status.count("missing")) == (2, 1, 1)
    late = states[SO[2]["organ"]]
    assert late.first.late_days == 1  # received 00:30 on 11/11 in Hà Nội
    assert late.label == "Đã báo cáo, trễ 1 ngày"
    assert late.first.doc.id == docs[2].id
    assert states[MISSING[0]].label == "Chưa báo cáo (quá hạn 10 ngày)"
    before = rollup.reporting_status(ban.campaign, date(2023, 11, 7))
    assert before.expected[3].label == "Chưa báo cáo (còn 3 ngày)"
    assert status.unexpected == []


def test_figures_are_the_sum_of_the_source_appendices_with_their_sources(ban, sources):
    docs = _import(ban, sources)
    figures = rollup.rollup_figures(ban.campaign)
    assert figures.totals == _sum(sources)
    by_id = {a.organ_id: a for a in figures.agencies}
    for doc, source in zip(docs, sources, strict=True):
        row = by_id[source["organ"]]
        assert row.totals == source["figures"]
        assert row.sources_label == (
            f"Báo cáo số {source['number_symbol']} ngày {source['doc_date']:%d/%m/%Y}"
        )
        for f in FIELDS:
            assert row.figure_sources(f) == [
                {
                    "incoming_id": doc.id,
                    "number_symbol": source["number_symbol"],
                    "doc_date": source["doc_date"].isoformat(),
                    "pdf_sha256": doc.pdf_sha256,
                    "value": source["figures"][f],
                }
            ]
    assert not by_id[MISSING[0]].reported


def test_invalid_signature_is_listed_not_summed(ban, sources):
    """The SNV package checked against the other two CAs only: untrusted, not summed."""
    docs = _import(ban, sources, only_trusted={"SXD", "STC"})
    assert not docs[2].signatures_valid
    assert docs[2].campaign_id == ban.campaign.id  # still reported (late), but not counted
    figures = rollup.rollup_figures(ban.campaign)
    assert figures.totals == _sum(sources[:2])
    snv = next(a for a in figures.agencies if a.organ_id == SO[2]["organ"])
    assert not snv.reported
    (contribution,) = snv.contributions
    assert not contribution.summed
    assert contribution.reason.startswith("Chữ ký số không hợp lệ")
    assert rollup.unreported_documents(ban.campaign) == docs[:2]


def test_a_supplement_adds_and_a_resent_report_replaces(ban, sources):
    """A "Bổ sung" report of the same Sở adds to it; a second full report replaces the first."""
    docs = _import(ban, sources)
    sxd = docs[0]

    def copy_of(number_symbol, subject, figures, key):
        doc = IncomingDocument(
            agency_id=ban.agency.id,
            year=2023,
            number=10 + len(key),
            received_at=datetime(2023, 11, 15, 2, 0, tzinfo=UTC),
            sender_organ_id=sxd.sender_organ_id,
            sender_name=sxd.sender_name,
            number_symbol=number_symbol,
            doc_date=date(2023, 11, 15),
            doc_type_name="Báo cáo",
            subject=subject,
            document_key=key,
            package_sha256=store_blob(key.encode()).sha256,
            signatures_valid=True,
            campaign_id=ban.campaign.id,
            figures={"rows": [], "total": figures},
        )
        db.session.add(doc)
        db.session.commit()
        return doc

    extra = {**dict.fromkeys(FIELDS, 1), "gifts": ""}
    copy_of("05/BC-SXD", "Bổ sung kết quả triển khai Tháng cao điểm", extra, "k-bs")
    row = next(
        a for a in rollup.rollup_figures(ban.campaign).agencies if a.organ_id == sxd.sender_organ_id
    )
    assert row.totals == {f: sources[0]["figures"][f] + 1 for f in FIELDS}
    assert len(row.sources) == 2
    resent = {**dict.fromkeys(FIELDS, 100), "gifts": ""}
    copy_of("06/BC-SXD", "Kết quả triển khai Tháng cao điểm", resent, "k-again")
    row = next(
        a for a in rollup.rollup_figures(ban.campaign).agencies if a.organ_id == sxd.sender_organ_id
    )
    assert row.totals == dict.fromkeys(FIELDS, 101)
    replaced = next(c for c in row.contributions if c.doc.id == sxd.id)
    assert not replaced.summed and "thay thế bởi Báo cáo số 06/BC-SXD" in replaced.reason


def test_unreadable_appendix_is_an_error_in_vietnamese():
    with pytest.raises(rollup.AppendixError, match="Không đọc được tệp .docx"):
        rollup.read_appendix(b"not a docx")
    buffer = io.BytesIO()
    Document().save(buffer)
    with pytest.raises(rollup.AppendixError, match="Không tìm thấy bảng"):
        rollup.read_appendix(buffer.getvalue())
    assert rollup.parse_vn_number("1.234.567") == 1_234_567
    for bad in ("1,5", "12.34", "", "abc"):
        with pytest.raises(ValueError):
            rollup.parse_vn_number(bad)


def test_a_sender_not_on_the_list_is_shown_and_linked_once_added(ban, sources):
    ban.campaign.reporting_agencies = [
        a for a in ban.campaign.reporting_agencies if a.organ_id != SO[1]["organ"]
    ]
    db.session.commit()
    docs = _import(ban, sources)
    assert docs[1].campaign_id is None
    status = rollup.reporting_status(ban.campaign, TODAY)
    assert status.unexpected == [docs[1]]
    rollup.add_reporting_agency(
        ban.campaign,
        organ_id=SO[1]["organ"],
        name=SO[1]["full"],
        seen_version=rollup.list_version(ban.campaign),
    )
    db.session.commit()
    assert docs[1].campaign_id == ban.campaign.id
    assert rollup.rollup_figures(ban.campaign).totals == _sum(sources)
    with pytest.raises(Invalid, match="đã có trong danh sách"):
        rollup.add_reporting_agency(ban.campaign, organ_id=SO[1]["organ"], name="x")
    with pytest.raises(Conflict):
        rollup.add_reporting_agency(
            ban.campaign, organ_id="000.00.40.H23", name="Sở Y tế", seen_version="stale"
        )


# --- The roll-up report ---------------------------------------------------------------------


def _appendix(docx: bytes) -> list[list[str]]:
    table = Document(io.BytesIO(docx)).tables[-1]
    return [[" ".join(c.text.split()) for c in row.cells] for row in table.rows]


def test_rollup_report_compiles_signs_issues_and_exports(app, ban, sources, cached_conversion):
    _import(ban, sources)
    report = report_ops.compile_report(ban.campaign, actor=ban.office)
    db.session.commit()
    docs = rollup.report_documents(report.id)
    assert len(docs) == 3
    draft = db.session.get(Blob, report.draft_docx_sha256).data
    assert check_report_docx(draft, final=False) == []
    rows = _appendix(draft)
    labels = [r[1] for r in rows[1:-1]]
    assert labels == [
        f"{s['full']} (Báo cáo số {s['number_symbol']} ngày {s['doc_date']:%d/%m/%Y})"
        for s in sources
    ] + [f"{MISSING[1]} (chưa báo cáo)"]
    total = rows[-1]
    assert total[1] == "Tổng cộng"
    expected = _sum(sources)
    headings = [" ".join(h.split()) for h in rows[0]]
    for f in FIELDS:
        column = headings.index(rollup.HEADING_OF[f])
        assert rollup.parse_vn_number(total[column]) == expected[f], f
        for row, source in zip(rows[1:4], sources, strict=True):
            assert rollup.parse_vn_number(row[column]) == source["figures"][f]
    body = "\n".join(p.text for p in Document(io.BytesIO(draft)).paragraphs)
    for s in sources:
        assert f"(Báo cáo số {s['number_symbol']} ngày {s['doc_date']:%d/%m/%Y})" in body
    # Sign and issue with the real operations.
    report_ops.submit_report(
        report, actor=ban.chief, signer=ban.director, expected_version=report.version
    )
    signed_at = datetime(2023, 11, 21, 2, 0, tzinfo=UTC)
    report_ops.sign_report(
        report,
        actor=ban.director,
        expected_version=report.version,
        now=signed_at,
        services=services_for(app, ban.director, ban.agency),
    )
    final = db.session.get(Blob, report.final_docx_sha256).data
    assert check_report_docx(final, final=True) == []
    assert report.number_symbol == "01/BC-BDVTU"
    assert "TRƯỞNG BAN" in "\n".join(
        c.text for t in Document(io.BytesIO(final)).tables for c in t._cells
    )
    final_rows = _appendix(final)
    assert final_rows[-1] == total
    archived = report_ops.issue_report(
        report,
        actor=ban.clerk,
        expected_version=report.version,
        now=signed_at,
        services=services_for(app, ban.clerk, ban.agency),
    )
    db.session.commit()
    assert isinstance(archived, ArchivedDocument) and archived.pdf_sha256
    assert archived.signer_title == "Trưởng ban"  # the register, archive and edXML say so
    package = build_package(
        document_from_archive(
            archived, recipients=[Organ("000.00.00.H23", "Tỉnh ủy Hà Nam")], now=signed_at
        )
    )
    parsed = parse_package(package)
    assert parsed.number_symbol == "01/BC-BDVTU" and parsed.signer.position == "Trưởng ban"
    # Nothing new: a supplement is refused until another Sở report arrives.
    with pytest.raises(Invalid, match="chưa có gì để báo cáo bổ sung"):
        report_ops.compile_report(ban.campaign, actor=ban.office, supplement=True)


def test_invalid_document_stays_out_of_the_report(ban, sources, client, login):
    _import(ban, sources, only_trusted={"SXD", "STC"})
    report = report_ops.compile_report(ban.campaign, actor=ban.office)
    db.session.commit()
    # The report page lists the Sở reports it sums (with their số đến), not "0 hồ sơ".
    page = login(ban.office).get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert 'id="report-sources"' in page and 'id="report-entries"' not in page
    assert "2 báo cáo của các sở, ban, ngành" in page and "0 hồ sơ" not in page
    for so in SO[:2]:
        assert so["full"] in page
    assert [d.sender_organ_id for d in rollup.report_documents(report.id)] == [
        SO[0]["organ"],
        SO[1]["organ"],
    ]
    rows = _appendix(db.session.get(Blob, report.draft_docx_sha256).data)
    assert rows[3][1] == f"{SO[2]['full']} (chưa báo cáo)"


# --- Pages and the CLI ---------------------------------------------------------------------


def test_status_page_and_permissions(ban, sources, client, login, count_queries):
    docs = _import(ban, sources)
    url = f"/tong-hop/{ban.campaign.id}"
    login(ban.staff)
    assert client.get(url).status_code == 403
    login(ban.office)
    with count_queries() as counter:
        html = client.get(url).get_data(as_text=True)
    assert counter.n < 25, counter.n
    assert html.count("Đã báo cáo đúng hạn") == 2
    assert "Đã báo cáo, trễ 1 ngày" in html
    assert "Chưa báo cáo (quá hạn" in html
    for doc, source in zip(docs, sources, strict=True):
        assert f"Báo cáo số {source['number_symbol']} ngày" in html
        assert f"số đến {doc.number}/{doc.year}" in html
        assert doc.pdf_sha256[:16] in html
    assert 'id="rollup-total"' in html
    campaign_page = client.get(f"/ke-hoach/{ban.campaign.id}").get_data(as_text=True)
    assert f'href="/tong-hop/{ban.campaign.id}"' in campaign_page
    # An ordinary campaign has no such page.
    other = Campaign(
        agency=ban.agency,
        year=2024,
        title="Kế hoạch khác",
        period_start=date(2024, 10, 1),
        period_end=date(2024, 10, 31),
        report_deadline=date(2024, 11, 5),
        report_subject="Khác",
    )
    db.session.add(other)
    db.session.commit()
    assert client.get(f"/tong-hop/{other.id}").status_code == 404


def test_editing_the_list(ban, client, login):
    url = f"/tong-hop/{ban.campaign.id}"
    login(ban.clerk)  # Văn thư sees the page but does not edit the list
    assert client.get(url).status_code == 200
    assert client.post(f"{url}/co-quan", data={"organ_id": "000.00.40.H23"}).status_code == 403
    login(ban.office)
    version = rollup.list_version(ban.campaign)
    response = client.post(
        f"{url}/co-quan",
        data={"organ_id": "000.00.40.H23", "name": "Sở Y tế tỉnh Hà Nam", "list_version": version},
        follow_redirects=True,
    )
    assert "Đã thêm Sở Y tế tỉnh Hà Nam" in response.get_data(as_text=True)
    stale = client.post(
        f"{url}/co-quan",
        data={"organ_id": "000.00.41.H23", "name": "Sở Công Thương", "list_version": version},
        follow_redirects=True,
    )
    text = stale.get_data(as_text=True)
    assert "vừa được người khác thay đổi" in text
    db.session.expire_all()
    campaign = db.session.get(Campaign, ban.campaign.id)
    bad = client.post(
        f"{url}/co-quan",
        data={"organ_id": "SYT", "name": "", "list_version": rollup.list_version(campaign)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Mã định danh phải có dạng 000.00.31.H23." in bad
    row = next(a for a in campaign.reporting_agencies if a.organ_id == "000.00.40.H23")
    removed = client.post(
        f"{url}/co-quan/{row.id}/xoa",
        data={"list_version": rollup.list_version(campaign)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Đã bỏ Sở Y tế tỉnh Hà Nam" in removed
    db.session.expire_all()
    organ_ids = [a.organ_id for a in db.session.get(Campaign, ban.campaign.id).reporting_agencies]
    assert "000.00.40.H23" not in organ_ids and len(organ_ids) == 4


def test_cli_creates_a_rollup_campaign(app, ban):
    result = app.test_cli_runner().invoke(
        args=[
            "danvan",
            "create-rollup-campaign",
            "--year",
            "2024",
            "--title",
            "Tổng hợp Tháng cao điểm dân vận năm 2024",
            "--deadline",
            "2024-11-10",
            "--agency-id",
            str(ban.agency.id),
            "--expect",
            "000.00.31.H23=Sở Xây dựng tỉnh Hà Nam",
            "--expect",
            "000.00.32.H23=Sở Tài chính tỉnh Hà Nam",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "2 cơ quan phải báo cáo" in result.output
    campaign = db.session.scalar(select(Campaign).where(Campaign.year == 2024))
    assert campaign.is_rollup and campaign.report_deadline == date(2024, 11, 10)
    assert [a.name for a in campaign.reporting_agencies] == [
        "Sở Xây dựng tỉnh Hà Nam",
        "Sở Tài chính tỉnh Hà Nam",
    ]
    bad = app.test_cli_runner().invoke(
        args=[
            "danvan",
            "create-rollup-campaign",
            "--year",
            "2025",
            "--title",
            "x",
            "--deadline",
            "2025-11-10",
            "--expect",
            "SXD",
        ]
    )
    assert bad.exit_code != 0 and "MÃ ĐỊNH DANH=Tên" in bad.output
