"""``flask danvan backup FILE`` and ``flask danvan restore FILE``."""

from __future__ import annotations

import click
from flask import current_app

from danvan.text import format_number


def _owner_url() -> str:
    """The tables' owner: the migration role on PostgreSQL, else the application's URL."""
    config = current_app.config
    return config.get("MIGRATION_DATABASE_URL") or config["SQLALCHEMY_DATABASE_URI"]


def register(group) -> None:
    """Attach the ``backup`` and ``restore`` commands to the ``danvan`` command group."""

    @group.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False))
    def backup_command(file: str) -> None:
        """Sao lưu toàn bộ cơ sở dữ liệu (kể cả mọi tệp) vào FILE khi ứng dụng vẫn chạy."""
        from danvan.backup import BackupError, backup

        try:
            info = backup(_owner_url(), file)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        size = format_number(round(info.size / 1024 / 1024, 1))
        click.echo(f"Đã sao lưu cơ sở dữ liệu ({info.kind}) vào {info.path} ({size} MB).")

    @group.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False))
    def restore_command(file: str) -> None:
        """Phục hồi bản sao lưu FILE vào cơ sở dữ liệu đã cấu hình (phải đang trống)."""
        from danvan.backup import BackupError, restore
        from danvan.extensions import db

        db.engine.dispose()  # no pooled connection of ours holds the target open
        try:
            info = restore(_owner_url(), file, app_role=current_app.config.get("DATABASE_APP_ROLE"))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"Đã phục hồi {info.path} ({info.kind}). Hãy chạy `flask --app wsgi danvan "
            "verify-archive` để kiểm tra lưu trữ và chuỗi băm."
        )
