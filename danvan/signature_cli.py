"""``flask --app wsgi danvan register-certificate USERNAME FILE`` (.pem or .cer/.der)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select


def register(group) -> None:
    """Attach the ``register-certificate`` command to the ``danvan`` command group."""

    @group.command("register-certificate")
    @click.argument("username")
    @click.argument("cert_file", type=click.Path(exists=True, dir_okay=False))
    def register_certificate_command(username: str, cert_file: str) -> None:
        """Đăng ký chứng thư số (USB token) của USERNAME để ký hai bước bằng danvan-sign."""
        from danvan.documents.pki import cert_common_name
        from danvan.extensions import db
        from danvan.models import User
        from danvan.operations import OperationError
        from danvan.signature_requests import certificate_of, register_certificate
        from danvan.text import format_date

        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"Không có người dùng “{username}”.")
        try:
            row = register_certificate(user, Path(cert_file).read_bytes())
        except OperationError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
        cn = cert_common_name(certificate_of(row)) or "(không có CN)"
        click.echo(
            f"Đã đăng ký chứng thư “{cn}” cho {user.username} (SHA-256 {row.sha256}, "
            f"hiệu lực đến {format_date(row.not_after)})."
        )
