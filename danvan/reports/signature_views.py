"""The report page's side of two-phase signing: "Ký duyệt" with a USB token, the waiting box,
its status (polled by static/js/signature-request.js) and "Hủy yêu cầu"."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, url_for
from flask_login import current_user, login_required

from danvan import signature_requests as sig_ops
from danvan.entries.forms import ActionForm
from danvan.extensions import db
from danvan.models import Report
from danvan.models.signatures import SignatureRequest
from danvan.operations import reports as ops
from danvan.reports import bp
from danvan.web import commit_and_notify, flash_refusal, run_operation

WAITING = "Đã tạo yêu cầu ký báo cáo số {number}: đang chờ ký bằng USB token (danvan-sign)."


def uses_token(user, services: ops.SigningServices) -> bool:
    """No server-side key for the signer but a registered certificate: sign with the token."""
    return services.signer_identity is None and sig_ops.registered_certificate(user) is not None


def request_for(report: Report, expected_version: int | None, given: dict) -> str:
    """Create the pending request (refused while one waits); the message the page flashes."""
    request = sig_ops.request_signature(
        report, actor=current_user, expected_version=expected_version, **given
    )
    return WAITING.format(number=request.number_symbol)


def pending_message(request: SignatureRequest) -> str:
    """Why "Ký duyệt" is not offered while ``request`` waits for the token."""
    return sig_ops.RequestPending(request).message


def shown_request(report: Report) -> SignatureRequest | None:
    """The pending request the report page shows ("Đang chờ ký bằng USB token…")."""
    return sig_ops.open_request(report)


def _load(report_id: int, request_id: int) -> SignatureRequest:
    from danvan.reports.views import load_report

    report = load_report(report_id)  # 404 unless the user may see the report
    request = db.session.get(SignatureRequest, request_id)
    if request is None or request.report_id != report.id:
        abort(404)
    return request


@bp.route("/bao-cao/<int:report_id>/yeu-cau-ky/<int:request_id>/trang-thai")
@login_required
def signature_request_status(report_id: int, request_id: int):
    """JSON for the waiting box: the request's state (expired once past its time)."""
    request = _load(report_id, request_id)
    if sig_ops.expire_requests():
        db.session.commit()
    return jsonify(state=request.state, report_state=request.report.state)


@bp.route("/bao-cao/<int:report_id>/yeu-cau-ky/<int:request_id>/huy", methods=["POST"])
@login_required
def cancel_signature_request(report_id: int, request_id: int):
    """ "Hủy yêu cầu": the signer withdraws the pending request."""
    request = _load(report_id, request_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = run_operation(sig_ops.cancel_request, request, actor=current_user)
    if outcome.error:
        flash_refusal(outcome.error)
    else:
        commit_and_notify()
        flash(f"Đã hủy yêu cầu ký báo cáo số {request.number_symbol}.", "success")
    return redirect(url_for("reports.view", report_id=report_id), 303)
