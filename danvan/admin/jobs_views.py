"""Quản trị › Tác vụ nền: the mail still waiting or failed, failed previews, the queue."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from danvan import audit, jobs
from danvan.admin import bp
from danvan.admin.forms import EmptyForm
from danvan.extensions import db
from danvan.mail import MAX_ATTEMPTS
from danvan.models import DraftPreview, OutboxMessage, Report
from danvan.pagination import page_args, paginate

LIST_LIMIT = 200


def _mail_status(message: OutboxMessage) -> tuple[str, str]:
    """(label, badge colour) of a message that has not been sent."""
    if message.attempts >= MAX_ATTEMPTS:
        return "Đã ngừng thử", "danger"
    if message.last_error:
        return "Lỗi, sẽ thử lại", "warning"
    return "Đang chờ gửi", "secondary"


@bp.route("/tac-vu-nen")
def jobs_page():
    """Pending and failed e-mails with their errors, failed previews, the queue's size."""
    queue = jobs.for_app(current_app._get_current_object())
    number, per_page = page_args(request.args)
    page = paginate(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id.desc()),
        number,
        per_page,
    )
    failed_previews = db.session.execute(
        select(DraftPreview, Report.id)
        .outerjoin(Report, Report.draft_docx_sha256 == DraftPreview.docx_sha256)
        .where(DraftPreview.status == "failed")
        .order_by(DraftPreview.finished_at.desc())
        .limit(LIST_LIMIT)
    ).all()
    try:
        pending = queue.pending_count()
    except Exception:  # noqa: BLE001 - the page still shows the database's side
        current_app.logger.exception("Không đọc được hàng đợi tác vụ nền.")
        pending = None
    return render_template(
        "admin/jobs.html",
        page=page,
        messages=[(m, *_mail_status(m)) for m in page.items],
        failed_previews=failed_previews,
        pending=pending,
        backend=queue.backend,
        max_attempts=MAX_ATTEMPTS,
        action_form=EmptyForm(),
    )


@bp.route("/tac-vu-nen/thu/<int:message_id>/gui-lai", methods=["POST"])
def resend_mail(message_id: int):
    """Send one waiting or failed message again now (its attempts start over)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    message = db.get_or_404(OutboxMessage, message_id)
    if message.sent_at is not None:
        flash("Thư này đã được gửi.", "info")
        return redirect(url_for("admin.jobs_page"), 303)
    before = audit.snapshot(message, ("attempts", "last_error"))
    message.attempts = 0
    message.next_attempt_at = None
    audit.record(
        current_user,
        "outbox_message",
        message.id,
        "resend",
        f"Gửi lại ngay thư tới {message.recipient}: {message.subject}",
        before=before,
        after=audit.snapshot(message, ("attempts", "last_error")),
    )
    db.session.commit()
    jobs.for_app(current_app._get_current_object()).enqueue_mail()
    flash(f"Đã xếp lịch gửi lại thư tới {message.recipient}.", "success")
    return redirect(url_for("admin.jobs_page"), 303)
