"""Send queued e-mails through SMTP. Failures stay in the outbox and are retried later.

A message may carry one attachment (an issued document's signed PDF). A permanent refusal
(SMTP 5xx: unknown mailbox, message too large) is not retried: the message is marked as
failed at once, and the sender may correct the address and send it again. A temporary
failure (server down, 4xx) is tried again after a growing delay — 1, 2, 4 … minutes, at most an
hour apart — so the ten attempts span about four hours of a mail server being away.
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

from sqlalchemy import or_, select

from danvan.extensions import db
from danvan.models import Blob, OutboxMessage
from danvan.text import utcnow

MAX_ATTEMPTS = 10
RETRY_BASE_SECONDS = 60  # MAIL_RETRY_BASE_SECONDS overrides it (0 in most tests)
RETRY_MAX_SECONDS = 3600


def retry_delay(attempts: int, base: float = RETRY_BASE_SECONDS) -> timedelta:
    """How long a message that failed ``attempts`` times waits before the next attempt."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def _mail(message: OutboxMessage, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr(("Hệ thống danvan", sender))
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail.set_content(message.body, charset="utf-8")
    if message.attachment_sha256:
        data = db.session.get(Blob, message.attachment_sha256).data
        maintype, _, subtype = (message.attachment_type or "application/octet-stream").partition(
            "/"
        )
        mail.add_attachment(
            data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=message.attachment_name or "tep-dinh-kem",
        )
    return mail


def _permanent(exc: Exception) -> bool:
    """A 5xx answer: sending the same message again cannot succeed."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _record_failure(message: OutboxMessage, exc: Exception, now: datetime, base: float) -> None:
    message.last_error = str(exc)[:500]
    if _permanent(exc):
        message.attempts = max(message.attempts, MAX_ATTEMPTS)
    message.next_attempt_at = now + retry_delay(message.attempts, base)


def due_condition(now: datetime):
    """SQL condition: not sent, attempts left, and its retry delay is over."""
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts < MAX_ATTEMPTS,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )


def send_outbox(config: dict, *, limit: int = 100, now: datetime | None = None) -> int:
    """Send the messages that are due; return how many were sent. Commits its bookkeeping."""
    if not config.get("MAIL_SERVER"):
        return 0
    now = now or utcnow()
    base = float(config.get("MAIL_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS))
    pending = list(
        db.session.scalars(
            select(OutboxMessage).where(*due_condition(now)).order_by(OutboxMessage.id).limit(limit)
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
            _record_failure(message, exc, now, base)
        db.session.commit()
        return 0
    try:
        if config.get("MAIL_USE_STARTTLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        for message in pending:
            mail = _mail(message, config["MAIL_SENDER"])
            message.attempts += 1
            try:
                smtp.send_message(mail)
            except (smtplib.SMTPException, OSError) as exc:
                _record_failure(message, exc, now, base)
            else:
                message.sent_at = utcnow()
                message.next_attempt_at = None
                sent += 1
    finally:
        db.session.commit()
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return sent
