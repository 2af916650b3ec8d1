"""``flask --app wsgi danvan create-token USERNAME [--read-only] [--name …]``."""

from __future__ import annotations

import click
from sqlalchemy import select


def register(group) -> None:
    """Attach the ``create-token`` command to the ``danvan`` command group."""

    @group.command("create-token")
    @click.argument("username")
    @click.option("--read-only", is_flag=True, help="Chỉ đọc (GET).")
    @click.option("--name", default="Dòng lệnh", show_default=True, help="Tên để nhận ra mã.")
    @click.option("--expires-days", type=click.IntRange(1, 3650), default=None)
    def create_token_command(
        username: str, read_only: bool, name: str, expires_days: int | None
    ) -> None:
        """Tạo mã truy cập API cho USERNAME và in ra (chỉ hiện một lần)."""
        from danvan.api.tokens import create_token
        from danvan.extensions import db
        from danvan.models import User
        from danvan.operations import OperationError

        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"Không có người dùng “{username}”.")
        try:
            new = create_token(user, name=name, read_only=read_only, expires_in_days=expires_days)
        except OperationError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
        click.echo(new.secret)
