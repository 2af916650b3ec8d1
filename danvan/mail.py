"""Send queued e-mails through SMTP. Failures stay in the outbox and are retried later."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formataddr

from sqlalchemy import select

from danvan.extensions import db
from danvan.models import OutboxMessage
from danvan.text import utcnow

MAX_ATTEMPTS = 5


def send_outbox(config: dict, *, limit: int = 100) -> int:
    """Send pending messages; return how many were sent. Commits its own bookkeeping."""
    if not config.get("MAIL_SERVER"):
        return 0
    pending = list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    if not pending:
        return 0
    sent = 0
    try:
        smtp = smtplib.SMTP(
            config["MAIL_SERVER"],
            int(config.get("MAIL_PORT") or 25),
            timeout=config.get("MAIL_TIMEOUT", 10),
        )
    except OSError as exc:
        for message in pending:
            message.attempts += 1
            message.last_error = str(exc)[:500]
        db.session.commit()
        return 0
    with smtp:
        if config.get("MAIL_USE_STARTTLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        for message in pending:
            mail = EmailMessage()
            mail["From"] = formataddr(("Hệ thống danvan", config["MAIL_SENDER"]))
            mail["To"] = message.recipient
            mail["Subject"] = message.subject
            mail.set_content(message.body, charset="utf-8")
            message.attempts += 1
            try:
                smtp.send_message(mail)
            except smtplib.SMTPException as exc:
                message.last_error = str(exc)[:500]
            else:
                message.sent_at = utcnow()
                sent += 1
    db.session.commit()
    return sent
