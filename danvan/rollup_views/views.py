"""Thin views over danvan.rollup: the status page and the list of Sở expected to report."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from danvan import permissions, rollup
from danvan.operations import reports as report_ops
from danvan.rollup_views import bp
from danvan.text import today_vn
from danvan.web import (
    commit_and_notify,
    flash_error,
    require,
    run_operation,
    visible_campaign_or_404,
)


def _rollup_campaign_or_404(campaign_id: int):
    campaign = visible_campaign_or_404(campaign_id)
    if not campaign.is_rollup:
        abort(404)
    return campaign


@bp.route("/<int:campaign_id>")
@login_required
def status(campaign_id: int):
    """Tình hình báo cáo của các Sở: who reported (on time, late), who did not, the figures."""
    require(rollup.can_view_rollup(current_user))
    campaign = _rollup_campaign_or_404(campaign_id)
    today = today_vn()
    report_status = rollup.reporting_status(campaign, today)
    figures = rollup.rollup_figures(campaign)
    open_report = report_ops.open_report(campaign)
    signed = report_ops.signed_report(campaign)
    return render_template(
        "rollup/status.html",
        campaign=campaign,
        status=report_status,
        figures=figures,
        fields=rollup.NUMBER_FIELDS,
        headings=rollup.HEADING_OF,
        source_label=rollup.source_label,
        received_date=rollup.received_date,
        list_version=rollup.list_version(campaign),
        can_edit=rollup.can_edit_rollup(current_user),
        can_compile=permissions.can_compile(current_user, campaign),
        open_report=open_report,
        signed_report=signed,
        waiting=len(rollup.unreported_documents(campaign)),
        today=today,
    )


def _back(campaign_id: int):
    return redirect(url_for("rollup.status", campaign_id=campaign_id, _anchor="ds-co-quan"), 303)


@bp.route("/<int:campaign_id>/co-quan", methods=["POST"])
@login_required
def add_agency(campaign_id: int):
    """Thêm cơ quan phải báo cáo (mã định danh + tên)."""
    require(rollup.can_edit_rollup(current_user))
    campaign = _rollup_campaign_or_404(campaign_id)
    outcome = run_operation(
        rollup.add_reporting_agency,
        campaign,
        organ_id=request.form.get("organ_id", ""),
        name=request.form.get("name", ""),
        seen_version=request.form.get("list_version") or "",
    )
    if outcome.error:
        flash_error(outcome.error)
        return _back(campaign_id)
    name = outcome.value.name
    commit_and_notify()
    flash(f"Đã thêm {name} vào danh sách cơ quan phải báo cáo.", "success")
    return _back(campaign_id)


@bp.route("/<int:campaign_id>/co-quan/<int:row_id>/xoa", methods=["POST"])
@login_required
def remove_agency(campaign_id: int, row_id: int):
    """Bỏ một cơ quan khỏi danh sách phải báo cáo."""
    require(rollup.can_edit_rollup(current_user))
    campaign = _rollup_campaign_or_404(campaign_id)
    outcome = run_operation(
        rollup.remove_reporting_agency,
        campaign,
        row_id,
        seen_version=request.form.get("list_version") or "",
    )
    if outcome.error:
        flash_error(outcome.error)
        return _back(campaign_id)
    name = outcome.value.name
    commit_and_notify()
    flash(f"Đã bỏ {name} khỏi danh sách cơ quan phải báo cáo.", "success")
    return _back(campaign_id)
