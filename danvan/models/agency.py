"""The issuing agency (Cơ quan) and its units (Đơn vị / phòng)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
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

    agency: Mapped[Agency] = relationship(back_populates="units")

    def __str__(self) -> str:
        return self.name
