from flask import redirect, render_template, url_for
from flask_login import login_required
from sqlalchemy import select

from danvan import queries
from danvan.campaigns import bp
from danvan.extensions import db
from danvan.models import Campaign, Report
from danvan.text import today_vn
from danvan.workflow import EntryState


@bp.route("/")
@login_required
def home():
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc())))
    if campaigns:  # the newest plan; its page links to the others
        return redirect(url_for("campaigns.view", campaign_id=campaigns[0].id))
    return render_template("campaigns/home.html", campaigns=campaigns, today=today_vn())


@bp.route("/ke-hoach/<int:campaign_id>")
@login_required
def view(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    units, counts = queries.campaign_unit_counts(campaign)
    totals = {s.value: sum(c.get(s.value, 0) for c in counts.values()) for s in EntryState}
    reports = list(
        db.session.scalars(
            select(Report).where(Report.campaign_id == campaign.id).order_by(Report.id)
        )
    )
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc())))
    return render_template(
        "campaigns/view.html",
        campaign=campaign,
        units=units,
        counts=counts,
        totals=totals,
        states=list(EntryState),
        today=today_vn(),
        reports=reports,
        campaigns=campaigns,
    )
