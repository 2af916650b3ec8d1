from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import permissions, queries
from danvan.entries.forms import ActionForm, BulkActionForm
from danvan.extensions import db
from danvan.inbox import bp
from danvan.models import Campaign, Delegation, Entry, Unit
from danvan.operations import entries as ops
from danvan.web import commit_and_notify, entry_filters_from
from danvan.workflow import ENTRY_STATE_LABELS, EntryAction


@bp.route("/viec-can-xu-ly")
@login_required
def index():
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc())))
    campaign_id = request.args.get("ke_hoach", type=int)
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    filters = entry_filters_from(request.args)
    entries = queries.entry_inbox(current_user, campaign_id=campaign_id, **filters)
    delegations = Delegation.active_for(current_user)
    transitions = {
        e.id: permissions.available_transitions(current_user, e, delegations) for e in entries
    }
    bulk_ids = {
        e.id for e in entries if any(t.action == EntryAction.APPROVE for t in transitions[e.id])
    }
    shown = campaign or (campaigns[0] if campaigns else None)  # whose content items to offer
    return render_template(
        "inbox/index.html",
        entries=entries,
        transitions=transitions,
        bulk_ids=bulk_ids,
        reports=queries.report_inbox(current_user),
        bulk_form=BulkActionForm(),
        action_form=ActionForm(),
        campaigns=campaigns,
        campaign=campaign,
        allow_all_campaigns=True,
        filters=filters,
        args=request.args,
        units=list(db.session.scalars(select(Unit).order_by(Unit.position))),
        content_items=shown.content_items if shown else [],
        states=[],
        state_labels=ENTRY_STATE_LABELS,
    )


@bp.route("/viec-can-xu-ly/duyet-nhieu", methods=["POST"])
@login_required
def bulk_approve():
    if not BulkActionForm().validate_on_submit():
        abort(400)
    ids = [int(x) for x in request.form.getlist("entry_ids") if x.isdigit()]
    if not ids:
        flash("Vui lòng chọn ít nhất một hồ sơ.", "warning")
        return redirect(url_for("inbox.index"), 303)
    entries = list(db.session.scalars(select(Entry).where(Entry.id.in_(ids))))
    visible = [e for e in entries if permissions.can_view_entry(current_user, e)]
    items = [(e, request.form.get(f"v_{e.id}", type=int)) for e in visible]
    done, failed = ops.act_many(items, EntryAction.APPROVE, actor=current_user)
    commit_and_notify()
    if done:
        flash(f"Đã duyệt {len(done)} hồ sơ.", "success")
    for entry, message in failed:
        flash(f"“{entry.title}”: {message}", "warning")
    return redirect(url_for("inbox.index"), 303)
