"""Demo data (design.md §7): Sở Xây dựng Hà Nam, its units and people, two campaigns.

Everything after the reference data goes through the real operations, so the demo's history
looks exactly like real use.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from danvan import publication, services
from danvan.extensions import db
from danvan.models import (
    Agency,
    Campaign,
    CampaignRecipient,
    ContentItem,
    Delegation,
    Entry,
    Observance,
    Role,
    Unit,
    User,
    UserRole,
)
from danvan.operations import entries as ops
from danvan.text import today_vn, utcnow
from danvan.workflow import EntryAction, EntryState

DEMO_PASSWORD = "danvan2023"

UNITS = [
    ("Văn phòng Sở", "VP", True),
    ("Thanh tra Sở", "TTr", False),
    ("Phòng Kế hoạch - Tài chính", "KHTC", False),
    ("Phòng Quản lý xây dựng", "QLXD", False),
    ("Phòng Quy hoạch - Kiến trúc", "QHKT", False),
    ("Phòng Quản lý nhà và Thị trường bất động sản", "QLN", False),
    ("Phòng Hạ tầng kỹ thuật", "HTKT", False),
    ("Trung tâm Giám định chất lượng xây dựng", "TTGĐ", False),
]
# Every unit but Văn phòng has a head and a staff member (HEAD_NAMES, STAFF_NAMES), whose
# entries in the 2023 campaign, this many each, all go through the chain into the report.
PAST_ENTRIES_PER_UNIT = 2
# How many approved entries of each campaign Văn phòng makes public (công khai, /cong-khai/).
PUBLISHED_PER_CAMPAIGN = 4

# username, full name, unit abbreviation, roles, position title
PEOPLE = [
    ("giamdoc", "Nguyễn Quang Huy", "VP", [Role.DIRECTOR], "Giám đốc"),
    ("phogiamdoc", "Trần Thị Thu Hà", "VP", [Role.DEPUTY_DIRECTOR], "Phó Giám đốc"),
    ("chanhvp", "Lê Văn Thắng", "VP", [Role.OFFICE_CHIEF, Role.UNIT_HEAD], "Chánh Văn phòng"),
    ("vanphong", "Phạm Thị Lan", "VP", [Role.OFFICE, Role.STAFF], "Chuyên viên Văn phòng"),
    # A second office member: an entry Văn phòng writes itself is approved at the unit step by
    # the Chánh Văn phòng and at the office step by someone else (separation of duties).
    ("vanphong2", "Trần Văn Bình", "VP", [Role.OFFICE, Role.STAFF], "Chuyên viên Văn phòng"),
    ("vanthu", "Đỗ Thị Hồng", "VP", [Role.CLERK], "Văn thư"),
    ("admin", "Quản trị hệ thống", None, [Role.ADMIN], "Quản trị hệ thống"),
]
HEAD_NAMES = [
    "Vũ Đức Minh",
    "Ngô Thị Mai",
    "Bùi Văn Long",
    "Đặng Thị Thảo",
    "Hoàng Văn Nam",
    "Phan Thị Nga",
    "Trịnh Văn Sơn",
]
STAFF_NAMES = [
    "Nguyễn Thị Hoa",
    "Lý Văn Tuấn",
    "Mai Thị Yến",
    "Tạ Văn Hùng",
    "Cao Thị Linh",
    "Dương Văn Khánh",
    "Lương Thị Bích",
]

CONTENT_ITEMS = [
    "Tuyên truyền về Ngày truyền thống công tác dân vận của Đảng, tư tưởng dân vận của Chủ tịch "
    "Hồ Chí Minh và phong trào thi đua “Dân vận khéo”",
    "Quán triệt, tổ chức thực hiện các văn bản của Đảng về công tác dân vận (Nghị quyết số "
    "25-NQ/TW, Chỉ thị số 19-CT/TU, Quyết định số 23-QĐ/TW…)",
    "Dân vận chính quyền: cải cách hành chính, thực hiện Quy chế dân chủ, giải quyết khiếu nại, "
    "tố cáo (Chỉ thị số 33/CT-TTg)",
    "Hoạt động hưởng ứng, chào mừng các ngày kỷ niệm trong tháng 10 và an sinh xã hội",
]

# key, day of October, name, founding year (the anniversary is computed from it)
OBSERVANCES = [
    ("elderly", 1, "Ngày Quốc tế Người cao tuổi", None),
    ("study", 2, "Ngày Khuyến học Việt Nam", None),
    ("business", 13, "Ngày Doanh nhân Việt Nam", None),
    ("farmers", 14, "Ngày thành lập Hội Nông dân Việt Nam", 1930),
    ("youth", 15, "Ngày thành lập Hội Liên hiệp Thanh niên Việt Nam", 1956),
    ("danvan", 15, "Ngày truyền thống công tác dân vận của Đảng", 1930),
    ("poor", 17, "Ngày vì người nghèo", None),
    ("women", 20, "Ngày thành lập Hội Liên hiệp Phụ nữ Việt Nam", 1930),
]
OBSERVANCE_NAMES = {key: name for key, _, name, _ in OBSERVANCES}

# Since 2025 the provincial Ban Dân vận is part of the Ban Tuyên giáo và Dân vận Tỉnh ủy.
MERGED_BAN_YEAR = 2025


def ban_dan_van(year: int) -> str:
    """The provincial Party body a campaign of this year reports to."""
    return "Ban Tuyên giáo và Dân vận Tỉnh ủy" if year >= MERGED_BAN_YEAR else "Ban Dân vận Tỉnh ủy"


# The demo's mã định danh (QCVN 102:2016 form) and the addresses its reports are sent to
# (reserved ".example" domains: the demo sends no mail anywhere real).
DEMO_ORGAN_ID = "000.00.31.H23"
BAN_ORGAN_ID = "000.00.01.H23"
DEMO_ADDRESSES = {
    "Ban Dân vận Tỉnh ủy": ("bandanvan@tinhuy.hanam.example", BAN_ORGAN_ID),
    "Ban Tuyên giáo và Dân vận Tỉnh ủy": ("bantgdv@tinhuy.hanam.example", BAN_ORGAN_ID),
    "Ban Tuyên giáo Đảng ủy khối": ("bantuyengiao@dangbokhoi.hanam.example", None),
    "Giám đốc, các Phó Giám đốc Sở": ("lanhdao@sxd.hanam.example", None),
}


def _addresses(campaign: Campaign) -> list[CampaignRecipient]:
    """The demo campaign's Nơi nhận with an e-mail (and the Ban's mã định danh)."""
    return [
        CampaignRecipient(campaign_id=campaign.id, name=line, email=email, organ_id=organ_id)
        for line in campaign.recipient_lines
        for email, organ_id in [DEMO_ADDRESSES.get(line, (None, None))]
        if email
    ]


def _recipients(year: int) -> str:
    return "\n".join(
        [
            ban_dan_van(year),
            "Ban Tuyên giáo Đảng ủy khối",
            "Giám đốc, các Phó Giám đốc Sở",
            "Các phòng chuyên môn, đơn vị thuộc Sở",
            "Website của Sở",
        ]
    )


# The demo's activities. ``observance`` ties an activity to the commemorative day it answers
# (it is then dated on that day or just before it); the others spread over the month. Texts
# may quote {year} (the campaign's) and {n} (the observance's anniversary in that year).
ACTIVITIES = [
    {
        "title": "Hội nghị quán triệt Nghị quyết số 25-NQ/TW về công tác dân vận",
        "place": "Hội trường Sở",
        "form": "Hội nghị",
        "item": 2,
        "officials": 45,
        "citizens": 0,
        "amount": None,
        "result": "Quán triệt đến 100% cán bộ, công chức; thảo luận giải pháp nâng cao hiệu quả "
        "dân vận.",
    },
    {
        "title": "Tuyên truyền kỷ niệm {n} năm Ngày truyền thống công tác dân vận của Đảng trên "
        "Website của Sở",
        "place": "Website Sở",
        "form": "Tuyên truyền trên website",
        "item": 1,
        "officials": 0,
        "citizens": 0,
        "amount": None,
        "result": "Đăng 05 tin, bài về Ngày truyền thống công tác dân vận của Đảng "
        "(15/10/1930 - 15/10/{year}) và phong trào thi đua “Dân vận khéo”.",
        "observance": "danvan",
    },
    {
        "title": "Thăm hỏi, tặng quà hộ nghèo tại xã Thanh Hà nhân Ngày vì người nghèo",
        "place": "Xã Thanh Hà, huyện Thanh Liêm",
        "form": "Thăm hỏi, tặng quà",
        "item": 4,
        "officials": 12,
        "citizens": 30,
        "amount": 15_000_000,
        "gifts": "30 suất quà, mỗi suất 500.000 đồng",
        "result": "Tặng 30 suất quà cho hộ nghèo, hộ cận nghèo của xã.",
        "observance": "poor",
    },
    {
        "title": "Tiếp công dân và đối thoại về cấp phép xây dựng",
        "place": "Trụ sở tiếp công dân",
        "form": "Tiếp công dân, đối thoại",
        "item": 3,
        "officials": 4,
        "citizens": 26,
        "amount": None,
        "result": "Tiếp 26 lượt công dân; giải quyết dứt điểm 08 đơn kiến nghị thuộc thẩm quyền.",
    },
    {
        "title": "Ủng hộ Quỹ “Vì người nghèo” một ngày lương",
        "place": "Cơ quan Sở",
        "form": "Quyên góp",
        "item": 4,
        "officials": 86,
        "citizens": 0,
        "amount": 24_350_000,
        "result": "Cán bộ, công chức, viên chức ủng hộ một ngày lương vào Quỹ “Vì người nghèo”.",
        "observance": "poor",
    },
    {
        "title": "Rút ngắn thời gian giải quyết thủ tục cấp giấy phép xây dựng",
        "place": "Bộ phận một cửa",
        "form": "Cải cách hành chính",
        "item": 3,
        "officials": 6,
        "citizens": 0,
        "amount": None,
        "result": "Giải quyết 124/124 hồ sơ đúng hạn, trong đó 37 hồ sơ trước hạn (tỷ lệ 100%).",
        "model": (
            "Mô hình “Một cửa thân thiện”",
            "Xây dựng Đảng và hệ thống chính trị",
            "Hướng dẫn tận tình, giải quyết nhanh hồ sơ cho người dân.",
        ),
    },
    {
        "title": "Tọa đàm kỷ niệm {n} năm Ngày thành lập Hội Liên hiệp Phụ nữ Việt Nam",
        "place": "Hội trường Sở",
        "form": "Tọa đàm",
        "item": 4,
        "officials": 38,
        "citizens": 0,
        "amount": None,
        "result": "Ban Nữ công Công đoàn Sở tổ chức tọa đàm (20/10/1930 - 20/10/{year}), biểu "
        "dương 05 nữ cán bộ tiêu biểu.",
        "observance": "women",
    },
]


def _user(username, full_name, unit, roles, title, email_domain="soxaydung.hanam.gov.vn"):
    user = User(
        username=username,
        full_name=full_name,
        unit=unit,
        position_title=title,
        email=f"{username}@{email_domain}",
    )
    user.set_password(DEMO_PASSWORD)
    user.role_rows = [UserRole(role=r.value) for r in roles]
    db.session.add(user)
    return user


def _campaign(agency: Agency, year: int, start: date, end: date, deadline: date) -> Campaign:
    campaign = Campaign(
        agency=agency,
        year=year,
        title=f"Tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân vận năm {year}",
        plan_number=f"{'125' if year == 2023 else '98'}/KH-SXD",
        plan_date=start - timedelta(days=4),
        period_start=start,
        period_end=end,
        report_deadline=deadline,
        report_recipient=ban_dan_van(year),
        report_subject=f"Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm {year}",
        recipients=_recipients(year),
    )
    campaign.content_items = [
        ContentItem(position=i, title=title) for i, title in enumerate(CONTENT_ITEMS, start=1)
    ]
    campaign.observances = [
        Observance(day=date(year, 10, d), name=name, founding_year=founded)
        for _, d, name, founded in OBSERVANCES
    ]
    db.session.add(campaign)
    db.session.flush()
    db.session.add_all(_addresses(campaign))
    return campaign


def _fields(campaign: Campaign, index: int, day_offset: int) -> dict:
    """The fields of demo activity ``index`` for ``unit``, dated inside the campaign's year.

    An activity tied to an observance answers that observance of this campaign and is dated
    on its day or up to two days before; the others spread over the period by ``day_offset``.
    """
    activity = ACTIVITIES[index % len(ACTIVITIES)]
    observance = None
    if activity.get("observance"):
        name = OBSERVANCE_NAMES[activity["observance"]]
        observance = next(o for o in campaign.observances if o.name == name)
        day = observance.day - timedelta(days=index % 3)
    else:
        day = campaign.period_start + timedelta(days=day_offset % 28)
    last = day + timedelta(days=index % 2)
    if observance is not None:
        last = min(last, observance.day)
    day = max(day, campaign.period_start)
    last = min(max(last, day), campaign.period_end)
    words = {"year": campaign.year, "n": observance.anniversary if observance else ""}
    model_name, model_field, model_description = activity.get("model") or (None, None, None)
    officials = activity["officials"]
    return {
        "content_item_id": campaign.content_items[activity["item"] - 1].id,
        "title": activity["title"].format(**words),
        "date_from": day,
        "date_to": last,
        "place": activity["place"],
        "activity_form": activity["form"],
        "observance_id": observance.id if observance else None,
        "participants_officials": officials + index if officials else 0,
        "participants_citizens": activity["citizens"],
        "amount_vnd": activity["amount"],
        "gifts": activity.get("gifts", ""),
        "result": activity["result"].format(**words),
        "model_name": model_name,
        "model_field": model_field,
        "model_description": model_description,
    }


DEMO_CERTIFICATES = {
    "giamdoc": "Nguyễn Quang Huy - Giám đốc Sở Xây dựng",
    "phogiamdoc": "Trần Thị Thu Hà - Phó Giám đốc Sở Xây dựng",
    "agency": "Sở Xây dựng tỉnh Hà Nam",
}


def seed_demo(*, config: dict | None = None, instance_path: str | None = None) -> dict:
    """Create the demo agency, people and campaigns; return the main objects by name.

    With ``instance_path``, also create the demo certificates and carry the 2023 report
    through compile → sign → issue with the real operations.
    """
    agency = Agency(
        name="SỞ XÂY DỰNG",
        full_name="Sở Xây dựng tỉnh Hà Nam",
        parent_name="UBND TỈNH HÀ NAM",
        abbreviation="SXD",
        place_name="Hà Nam",
        organ_id=DEMO_ORGAN_ID,
    )
    db.session.add(agency)
    units = {}
    for position, (name, abbr, is_office) in enumerate(UNITS):
        units[abbr] = Unit(
            agency=agency, name=name, abbreviation=abbr, is_office=is_office, position=position
        )
        db.session.add(units[abbr])
    users = {}
    for username, full_name, abbr, roles, title in PEOPLE:
        users[username] = _user(username, full_name, units.get(abbr), roles, title)
    for i, abbr in enumerate([a for _, a, office in UNITS if not office]):
        code = abbr.lower().replace("đ", "d")
        users[f"tp.{code}"] = _user(
            f"tp.{code}", HEAD_NAMES[i], units[abbr], [Role.UNIT_HEAD, Role.STAFF], "Trưởng phòng"
        )
        users[f"cv.{code}"] = _user(
            f"cv.{code}", STAFF_NAMES[i], units[abbr], [Role.STAFF], "Chuyên viên"
        )
    users["cv2.qlxd"] = _user(
        "cv2.qlxd", "Kiều Văn Phúc", units["QLXD"], [Role.STAFF], "Chuyên viên"
    )
    db.session.flush()
    # Phó trưởng phòng Quản lý xây dựng acts for the head for a month (ủy quyền).
    db.session.add(
        Delegation(
            head_id=users["tp.qlxd"].id,
            delegate_id=users["cv2.qlxd"].id,
            unit_id=units["QLXD"].id,
            starts_at=utcnow() - timedelta(days=1),
            ends_at=utcnow() + timedelta(days=30),
        )
    )

    past = _campaign(agency, 2023, date(2023, 10, 1), date(2023, 10, 31), date(2023, 11, 5))
    year = today_vn().year
    current = _campaign(agency, year, date(year, 10, 1), date(year, 10, 31), date(year, 11, 5))
    db.session.flush()

    office, chief = users["vanphong"], users["chanhvp"]
    unit_codes = [a.lower().replace("đ", "d") for _, a, o in UNITS if not o]
    # 2023: every unit's entries approved through the whole chain.
    for i, code in enumerate(unit_codes):
        for k in range(PAST_ENTRIES_PER_UNIT):
            author = users[f"cv.{code}"]
            entry = ops.create_entry(past, actor=author, fields=_fields(past, i * 2 + k, i * 3 + k))
            ops.act(entry, EntryAction.SUBMIT, actor=author)
            ops.act(entry, EntryAction.APPROVE, actor=users[f"tp.{code}"])
            ops.act(entry, EntryAction.APPROVE, actor=office)
    # Current campaign: entries in every state.
    plan = [
        "draft",
        "at_unit",
        "at_office",
        "approved",
        "returned",
        "withdrawn",
        "resubmitted",
    ]
    for i, code in enumerate(unit_codes):
        author, head = users[f"cv.{code}"], users[f"tp.{code}"]
        wanted = plan[i % len(plan)]
        for k, state in enumerate(dict.fromkeys([wanted, "at_unit", "approved"])):
            entry = ops.create_entry(
                current, actor=author, fields=_fields(current, i + k, i * 4 + k)
            )
            if state == "draft":
                continue
            ops.act(entry, EntryAction.SUBMIT, actor=author)
            if state == "withdrawn":
                ops.act(entry, EntryAction.WITHDRAW, actor=author)
            if state in ("at_office", "approved"):
                ops.act(entry, EntryAction.APPROVE, actor=head)
            if state == "approved":
                ops.act(entry, EntryAction.APPROVE, actor=office)
            if state in ("returned", "resubmitted"):
                ops.act(
                    entry,
                    EntryAction.RETURN,
                    actor=head,
                    comment="Đề nghị bổ sung số người dân tham gia và ảnh minh chứng.",
                )
            if state == "resubmitted":
                fields = _fields(current, i + k, i * 4 + k)
                fields["participants_citizens"] += 20
                ops.update_entry(entry, actor=author, fields=fields, expected_version=entry.version)
                ops.act(entry, EntryAction.RESUBMIT, actor=author)
    # Công khai: Văn phòng puts a few approved entries of each year on the public page.
    db.session.flush()
    for campaign in (past, current):
        stmt = (
            select(Entry)
            .where(Entry.campaign_id == campaign.id, Entry.state == EntryState.APPROVED)
            .order_by(Entry.id)
            .limit(PUBLISHED_PER_CAMPAIGN)
        )
        for entry in db.session.scalars(stmt).all():
            publication.publish(entry, actor=office, public=True, expected_version=entry.version)
    # From now on the current plan asks for evidence before "Gửi duyệt" (set after the demo's
    # entries above, which were sent without files; a returned one now needs a file first).
    current.evidence_required = True
    db.session.flush()
    objects = {
        "agency": agency,
        "past": past,
        "current": current,
        "users": users,
        "units": units,
        "chief": chief,
    }
    if instance_path is not None:
        objects["report"] = _seed_2023_report(objects, config or {}, instance_path)
    return objects


def _blob(sha: str) -> bytes:
    from danvan.models import Blob

    return db.session.get(Blob, sha).data


def _seed_2023_report(objects: dict, config: dict, instance_path: str):
    """Images, certificates and the 2023 report, signed and issued through the operations."""
    from datetime import UTC, datetime

    from danvan import keys
    from danvan.blobs import store_blob
    from danvan.demo import artwork
    from danvan.documents import pdf as pdfmod
    from danvan.operations import reports as report_ops

    users, agency, past = objects["users"], objects["agency"], objects["past"]
    keys.write_demo_keys(
        instance_path,
        agency_name=agency.full_name,
        people=DEMO_CERTIFICATES,
        softhsm=bool(config.get("DEMO_SOFTHSM")),
    )
    for username in ("giamdoc", "phogiamdoc"):
        png = artwork.make_signature_png(users[username].full_name)
        users[username].signature_blob = store_blob(png).sha256
    agency.seal_sha256 = store_blob(artwork.make_seal_png(agency.name, "TỈNH HÀ NAM")).sha256
    office, chief, director, clerk = (
        users[u] for u in ("vanphong", "chanhvp", "giamdoc", "vanthu")
    )
    report = report_ops.compile_report(
        past, actor=office, now=datetime(2023, 11, 1, 8, 0, tzinfo=UTC)
    )
    report_ops.update_report_texts(
        report,
        actor=office,
        expected_version=report.version,
        texts={
            "section_leadership": report.section_leadership
            + "\nSở đã đăng 12 tin, bài trên Website và treo 05 băng rôn tuyên truyền tại trụ sở."
        },
    )
    report_ops.submit_report(
        report,
        actor=chief,
        signer=director,
        expected_version=report.version,
        now=datetime(2023, 11, 2, 9, 0, tzinfo=UTC),
    )
    make_pdf = pdfmod.libreoffice_available()
    report_ops.sign_report(
        report,
        actor=director,
        services=report_ops.SigningServices(
            # The demo's own keys, just written: allowed whatever the mode.
            signer_identity=keys.load_identity(
                config, instance_path, "giamdoc", allow_server_keys=True
            ),
            signature_png=_blob(director.signature_blob),
            make_pdf=make_pdf,
            # The QR code and short URL printed on the demo report, as the app prints them.
            **services.verification_settings(config),
        ),
        expected_version=report.version,
        now=datetime(2023, 11, 3, 2, 30, tzinfo=UTC),
    )
    addresses = db.session.scalars(
        select(CampaignRecipient).where(CampaignRecipient.campaign_id == past.id)
    ).all()
    archived = report_ops.issue_report(
        report,
        actor=clerk,
        services=report_ops.SigningServices(
            agency_identity=keys.load_identity(config, instance_path, "agency"),
            seal_png=_blob(agency.seal_sha256),
            make_pdf=make_pdf,
        ),
        expected_version=report.version,
        now=datetime(2023, 11, 3, 3, 15, tzinfo=UTC),
        recipients=list(addresses),  # e-mailed (queued: the demo has no mail server)
    )
    _seed_edxml_receipt(archived, at=datetime(2023, 11, 3, 3, 20, tzinfo=UTC))
    return report


def _seed_edxml_receipt(archived, *, at) -> None:
    """The 2023 report sent as edXML to Ban Dân vận, and the Ban's "Đã tiếp nhận" reply."""
    from datetime import timedelta

    from danvan.edxml import Organ, codes
    from danvan.edxml.status import StatusReply, build_status
    from danvan.receipts import apply_status_reply, record_edxml_delivery
    from danvan.text import to_vn

    ban = Organ(BAN_ORGAN_ID, "Ban Dân vận Tỉnh ủy Hà Nam", "Tỉnh ủy Hà Nam")
    delivery = record_edxml_delivery(archived, ban, actor=None, now=at)
    reply = StatusReply(
        sender_organ_id=DEMO_ORGAN_ID,
        number_symbol=archived.number_symbol,
        promulgation_date=archived.doc_date,
        document_id=delivery.document_key,
        responder=ban,
        status_code="03",
        description=codes.STATUS_CODES["03"],
        timestamp=to_vn(at + timedelta(hours=2)).replace(microsecond=0),
        department="Văn phòng Ban",
        staff="Văn thư Ban Dân vận",
    )
    apply_status_reply(
        build_status(reply),
        agency=db.session.get(Agency, archived.agency_id),
        actor=None,
        now=at + timedelta(hours=3),
    )
