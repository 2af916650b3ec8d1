"""Test factories: a small department with two units, an office and every role; its reports
signed and issued; shared helpers (``require``, ``owner_edit``, ``docx_text``) for test modules.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

from danvan.blobs import store_blob
from danvan.demo import artwork
from danvan.extensions import db
from danvan.models import (
    Agency,
    ArchivedDocument,
    Campaign,
    ContentItem,
    Observance,
    Report,
    Role,
    Unit,
    User,
    UserRole,
)
from danvan.operations import entries as entry_ops
from danvan.operations import reports as report_ops
from danvan.workflow import EntryAction

PASSWORD = "matkhau-123"
PASSWORD_HASH = generate_password_hash(PASSWORD)  # hashed once: scrypt is slow on purpose
SIGNED_AT = datetime(2023, 11, 3, 2, 30, tzinfo=UTC)  # 09:30 on 03/11/2023 in Hà Nội
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, what: str) -> None:
    """Skip when a system component is missing; under CI=true (which installs all), fail."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true và thiếu thành phần: {what}")
        pytest.skip(what)


def create_user(
    username: str,
    unit: Unit | None,
    *roles: Role,
    full_name: str | None = None,
    email: str | None = "auto",
) -> User:
    user = User(
        username=username,
        full_name=full_name or f"Người dùng {username}",
        unit=unit,
        email=f"{username}@example.vn" if email == "auto" else email,
    )
    user.password_hash = PASSWORD_HASH
    user.role_rows = [UserRole(role=r.value) for r in roles]
    db.session.add(user)
    return user


def create_campaign(agency: Agency, year: int = 2023, **kw) -> Campaign:
    campaign = Campaign(
        agency=agency,
        year=year,
        title=f"Tháng cao điểm dân vận năm {year}",
        plan_number="125/KH-SXD",
        plan_date=date(year, 9, 27),
        period_start=date(year, 10, 1),
        period_end=date(year, 10, 31),
        report_deadline=date(year, 11, 5),
        report_subject=f"Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm {year}",
        recipients="Ban Dân vận Tỉnh ủy\nCác phòng chuyên môn, đơn vị thuộc Sở",
        **kw,
    )
    campaign.content_items = [
        ContentItem(position=1, title="Tuyên truyền Ngày truyền thống công tác dân vận"),
        ContentItem(position=2, title="Dân vận chính quyền, cải cách hành chính"),
    ]
    campaign.observances = [
        Observance(
            day=date(year, 10, 15), name="Ngày truyền thống công tác dân vận", founding_year=1930
        ),
        Observance(day=date(year, 10, 17), name="Ngày vì người nghèo"),
    ]
    db.session.add(campaign)
    return campaign


class World:
    """Named objects of the small department, reloaded by id when a test needs fresh ones."""

    def __init__(self):
        self.agency = Agency(
            name="SỞ XÂY DỰNG",
            full_name="Sở Xây dựng tỉnh Hà Nam",
            parent_name="UBND TỈNH HÀ NAM",
            abbreviation="SXD",
            place_name="Hà Nam",
        )
        db.session.add(self.agency)
        self.office_unit = Unit(
            agency=self.agency, name="Văn phòng Sở", abbreviation="VP", is_office=True, position=0
        )
        self.unit_a = Unit(
            agency=self.agency, name="Phòng Quản lý xây dựng", abbreviation="QLXD", position=1
        )
        self.unit_b = Unit(agency=self.agency, name="Thanh tra Sở", abbreviation="TTr", position=2)
        db.session.add_all([self.office_unit, self.unit_a, self.unit_b])
        self.staff_a = create_user("cv.a", self.unit_a, Role.STAFF, full_name="Nguyễn Thị Hoa")
        self.staff_a2 = create_user("cv.a2", self.unit_a, Role.STAFF, full_name="Kiều Văn Phúc")
        self.head_a = create_user(
            "tp.a", self.unit_a, Role.UNIT_HEAD, Role.STAFF, full_name="Vũ Đức Minh"
        )
        self.staff_b = create_user("cv.b", self.unit_b, Role.STAFF, full_name="Lý Văn Tuấn")
        self.head_b = create_user(
            "tp.b", self.unit_b, Role.UNIT_HEAD, Role.STAFF, full_name="Ngô Thị Mai"
        )
        self.office = create_user(
            "vp", self.office_unit, Role.OFFICE, Role.STAFF, full_name="Phạm Thị Lan"
        )
        self.chief = create_user(
            "cvp", self.office_unit, Role.OFFICE_CHIEF, Role.UNIT_HEAD, full_name="Lê Văn Thắng"
        )
        self.director = create_user(
            "gd", self.office_unit, Role.DIRECTOR, full_name="Nguyễn Quang Huy"
        )
        self.deputy = create_user(
            "pgd", self.office_unit, Role.DEPUTY_DIRECTOR, full_name="Trần Thị Thu Hà"
        )
        self.clerk = create_user("vt", self.office_unit, Role.CLERK, full_name="Đỗ Thị Hồng")
        self.admin = create_user("admin", None, Role.ADMIN, full_name="Quản trị")
        self.campaign = create_campaign(self.agency)
        db.session.commit()

    def entry_fields(self, **overrides) -> dict:
        fields = {
            "content_item_id": self.campaign.content_items[0].id,
            "title": "Hội nghị tuyên truyền công tác dân vận",
            "date_from": date(2023, 10, 12),
            "date_to": date(2023, 10, 12),
            "place": "Hội trường Sở",
            "activity_form": "Hội nghị",
            "observance_id": self.campaign.observances[0].id,
            "participants_officials": 40,
            "participants_citizens": 15,
            "amount_vnd": 1_234_500,
            "gifts": "",
            "result": "Quán triệt đầy đủ.",
            "model_name": None,
            "model_field": None,
            "model_description": None,
        }
        fields.update(overrides)
        return fields


# --- Reports: the department, its approved entries, signed and issued reports --------------


def make_dept(world: World) -> World:
    """Give the world signature images, the seal, and three approved entries."""
    for user in (world.director, world.deputy):
        user.signature_blob = store_blob(artwork.make_signature_png(user.full_name)).sha256
    world.agency.seal_sha256 = store_blob(
        artwork.make_seal_png("SỞ XÂY DỰNG", "TỈNH HÀ NAM")
    ).sha256
    for i, (author, head) in enumerate(
        [
            (world.staff_a, world.head_a),
            (world.staff_a, world.head_a),
            (world.staff_b, world.head_b),
        ]
    ):
        approve(world, author, head, title=f"Hoạt động số {i + 1} & <thử> “trích dẫn”")
    db.session.commit()
    return world


def approve(world, author, head, **fields):
    entry = entry_ops.create_entry(
        world.campaign, actor=author, fields=world.entry_fields(**fields)
    )
    entry_ops.act(entry, EntryAction.SUBMIT, actor=author)
    entry_ops.act(entry, EntryAction.APPROVE, actor=head)
    entry_ops.act(entry, EntryAction.APPROVE, actor=world.office)
    return entry


def services_for(app, user, agency, make_pdf=None):
    with app.test_request_context():
        from danvan import services

        svc = services.signing_services(user, agency=agency)
    if make_pdf is not None:
        svc = replace(svc, make_pdf=make_pdf)
    return svc


def submitted(dept, signer=None, supplement=False):
    report = report_ops.compile_report(dept.campaign, actor=dept.office, supplement=supplement)
    report_ops.submit_report(
        report, actor=dept.chief, signer=signer or dept.director, expected_version=report.version
    )
    db.session.commit()
    return report


def signed_report(
    dept,
    app,
    *,
    issue: bool = False,
    make_pdf: bool | None = False,
    report: Report | None = None,
    signer: User | None = None,
    supplement: bool = False,
) -> tuple[Report, ArchivedDocument | None]:
    """A report signed at SIGNED_AT and, with ``issue``, issued by the clerk; committed.

    ``report`` is a submitted report (default: one compiled and submitted for ``signer``, the
    director unless given). ``make_pdf`` False signs the .docx only (no LibreOffice), None
    leaves it to the configuration. Returns the report and its archived document (issued).
    """
    signer = signer or (report.signer if report is not None else dept.director)
    report = report or submitted(dept, signer=signer, supplement=supplement)
    report_ops.sign_report(
        report,
        actor=signer,
        expected_version=report.version,
        now=SIGNED_AT,
        services=services_for(app, signer, dept.agency, make_pdf=make_pdf),
    )
    archived = None
    if issue:
        archived = report_ops.issue_report(
            report,
            actor=dept.clerk,
            expected_version=report.version,
            now=SIGNED_AT,
            services=services_for(app, dept.clerk, dept.agency, make_pdf=make_pdf),
        )
    db.session.commit()
    return report, archived


def docx_text(data: bytes) -> str:
    """The XML of the body and headers."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("word/") and n.endswith(".xml"))
        return "".join(zf.read(n).decode() for n in names)


def owner_edit(app, backend, table: str, statement: str, params: dict) -> None:
    """Change a row as the database owner, lifting the append-only triggers for it."""
    url = app.config.get("MIGRATION_DATABASE_URL") or app.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(url)
    with engine.begin() as conn:
        if backend[0] == "sqlite":
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                {"t": table},
            ).scalars()
            for name in list(names):
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        else:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        conn.execute(text(statement), params)
        if backend[0] != "sqlite":
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    engine.dispose()
    db.session.expire_all()


def waiting_at(entry) -> str | None:
    """The kind of step a waiting entry is at ("unit_head", "office"…), else None."""
    return entry.step_kind if entry.state == "pending" else None
