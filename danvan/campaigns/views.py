from flask import abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import queries
from danvan.campaigns import bp
from danvan.extensions import db
from danvan.models import Campaign, Report, Role
from danvan.text import today_vn
from danvan.workflow import EntryState, ReportState


@bp.route("/")
@login_required
def home():
    campaigns = queries.visible_campaigns(current_user)
    if campaigns:  # the newest plan; its page links to the others
        return redirect(url_for("campaigns.view", campaign_id=campaigns[0].id))
    return render_template("campaigns/home.html", campaigns=campaigns, today=today_vn())


@bp.route("/ke-hoach/<int:campaign_id>")
@login_required
def view(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.status == "draft" and not current_user.has_role(Role.ADMIN):
        abort(404)
    units, columns, counts = queries.campaign_unit_counts(campaign)
    # The header's figures are the table's footer: the same rows, the same columns.
    totals = {key: sum(counts[u.id].get(key, 0) for u in units) for key, _ in columns}
    reports = list(
        db.session.scalars(
            select(Report).where(Report.campaign_id == campaign.id).order_by(Report.id)
        )
    )
    open_states = (ReportState.DRAFT, ReportState.SUBMITTED)
    open_report = next((r for r in reports if r.state in open_states), None)
    sent_report = next((r for r in reversed(reports) if r.state == ReportState.ISSUED), None)
    campaigns = queries.visible_campaigns(current_user)
    return render_template(
        "campaigns/view.html",
        campaign=campaign,
        units=units,
        counts=counts,
        totals=totals,
        total=sum(totals.values()),
        columns=columns,
        linked_units={u.id for u in queries.filter_units(current_user)},
        today=today_vn(),
        reports=reports,
        open_report=open_report,
        sent_report=sent_report,
        # Nothing new to compile: no open report and no approved entry outside a report.
        can_compile=open_report is not None or totals[EntryState.APPROVED.value] > 0,
        campaigns=campaigns,
    )
