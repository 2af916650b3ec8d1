"""The issuing agency (Cơ quan) and its units (Đơn vị / phòng)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from danvan.extensions import db


class Agency(db.Model):
    """Names are settings: provinces merge and rename."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # "SỞ XÂY DỰNG"
    full_name: Mapped[str] = mapped_column(String(200))  # "Sở Xây dựng tỉnh Hà Nam"
    parent_name: Mapped[str] = mapped_column(String(200))  # "UBND TỈNH HÀ NAM"
    abbreviation: Mapped[str] = mapped_column(String(20))  # "SXD"
    place_name: Mapped[str] = mapped_column(String(100))  # "Hà Nam"
    seal_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))  # red seal PNG
    # Mã định danh for electronic exchange (QCVN 102:2016 form, e.g. "000.00.31.H23").
    organ_id: Mapped[str | None] = mapped_column(String(30))
    # Who the office proposes as signer by default (the Giám đốc, usually).
    default_signer_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", use_alter=True, name="fk_agency_default_signer_id_user")
    )

    units: Mapped[list[Unit]] = relationship(
        back_populates="agency", order_by="Unit.position", lazy="raise_on_sql"
    )


class Unit(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    name: Mapped[str] = mapped_column(String(200))
    abbreviation: Mapped[str] = mapped_column(String(20))
    is_office: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    agency: Mapped[Agency] = relationship(back_populates="units")

    def __str__(self) -> str:
        return self.name
