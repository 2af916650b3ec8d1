"""Test factories: a small department with two units, an office and every role."""

from __future__ import annotations

from datetime import date

from werkzeug.security import generate_password_hash

from danvan.extensions import db
from danvan.models import Agency, Campaign, ContentItem, Observance, Role, Unit, User, UserRole

PASSWORD = "matkhau-123"
PASSWORD_HASH = generate_password_hash(PASSWORD)  # hashed once: scrypt is slow on purpose


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
