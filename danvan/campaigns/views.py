from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import oversight, permissions, queries
from danvan.campaigns import bp
from danvan.campaigns.charts import bar_chart
from danvan.extensions import db
from danvan.models import Report
from danvan.text import today_vn
from danvan.web import visible_campaign_or_404
from danvan.workflow import EntryState, ReportState


def _unit_table(campaign) -> dict:
    """What templates/campaigns/_unit_table.html shows: units × state, with the totals."""
    units, columns, counts = queries.campaign_unit_counts(campaign)
    # The header's figures are the table's footer: the same rows, the same columns.
    totals = {key: sum(counts[u.id].get(key, 0) for u in units) for key, _ in columns}
    return {
        "units": units,
        "counts": counts,
        "totals": totals,
        "total": sum(totals.values()),
        "columns": columns,
        "linked_units": {u.id for u in queries.filter_units(current_user)},
    }


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
    campaign = visible_campaign_or_404(campaign_id)
    table = _unit_table(campaign)
    totals = table["totals"]
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
        **table,
        today=today_vn(),
        reports=reports,
        open_report=open_report,
        sent_report=sent_report,
        # Nothing new to compile: no open report and no approved entry outside a report.
        can_compile=open_report is not None or totals[EntryState.APPROVED.value] > 0,
        campaigns=campaigns,
    )


@bp.route("/ke-hoach/<int:campaign_id>/theo-doi", endpoint="oversight")
@login_required
def oversight_page(campaign_id: int):
    """Theo dõi tiến độ: deadline, silent units, stale entries, step times, last year."""
    campaign = visible_campaign_or_404(campaign_id)
    if not permissions.sees_reports(current_user):
        abort(403)
    stale_days = oversight.stale_days_from(request.args.get("qua_ngay"))
    overview = oversight.campaign_overview(campaign, today_vn(), stale_days=stale_days)
    table = _unit_table(campaign)
    year = campaign.year
    previous_year = overview.previous.year if overview.previous else None
    charts = {
        "item": [
            bar_chart(
                "item-activities",
                "Số hoạt động theo nội dung",
                overview.by_item,
                "activities",
                year,
                previous_year,
            ),
            bar_chart(
                "item-participants",
                "Lượt người tham gia theo nội dung",
                overview.by_item,
                "participants",
                year,
                previous_year,
            ),
        ],
        "observance": [
            bar_chart(
                "observance-activities",
                "Số hoạt động theo ngày kỷ niệm",
                overview.by_observance,
                "activities",
                year,
                previous_year,
            ),
            bar_chart(
                "observance-participants",
                "Lượt người tham gia theo ngày kỷ niệm",
                overview.by_observance,
                "participants",
                year,
                previous_year,
            ),
        ],
    }
    return render_template(
        "campaigns/oversight.html",
        campaign=campaign,
        overview=overview,
        charts=charts,
        **table,
        stale_range=oversight.STALE_DAYS_RANGE,
    )
