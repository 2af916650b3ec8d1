from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import permissions, queries
from danvan.entries.forms import ActionForm, BulkActionForm
from danvan.entries.messages import entry_name
from danvan.extensions import db
from danvan.inbox import bp
from danvan.models import Campaign, Delegation, Entry
from danvan.operations import entries as ops
from danvan.web import commit_and_notify, entry_filters_from, int_arg, posted_ids
from danvan.workflow import ENTRY_STATE_LABELS, EntryAction

NAMED_AT_MOST = 5  # titles a flash message lists before "và N hồ sơ khác"


def named(entries: list[Entry]) -> str:
    """“Title 1 (QLXD)”, “Title 2 (TTr)” … và N hồ sơ khác: what a bulk action acted on."""
    titles = ", ".join(entry_name(e) for e in entries[:NAMED_AT_MOST])
    rest = len(entries) - NAMED_AT_MOST
    return f"{titles} và {rest} hồ sơ khác" if rest > 0 else titles


@bp.route("/viec-can-xu-ly")
@login_required
def index():
    campaigns = queries.visible_campaigns(current_user)
    campaign_id = int_arg(request.args, "ke_hoach", "Kế hoạch")
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
        units=queries.filter_units(current_user),
        content_items=shown.content_items if shown else [],
        states=[],
        state_labels=ENTRY_STATE_LABELS,
    )


@bp.route("/viec-can-xu-ly/duyet-nhieu", methods=["POST"])
@login_required
def bulk_approve():
    if not BulkActionForm().validate_on_submit():
        abort(400)
    ids = posted_ids(request.form.getlist("entry_ids"))
    if not ids:
        flash("Vui lòng chọn ít nhất một hồ sơ.", "warning")
        return redirect(url_for("inbox.index"), 303)
    entries = list(db.session.scalars(select(Entry).where(Entry.id.in_(ids)).order_by(Entry.id)))
    visible = [e for e in entries if permissions.can_view_entry(current_user, e)]
    items = [(e, request.form.get(f"v_{e.id}", type=int)) for e in visible]
    done, failed = ops.act_many(items, EntryAction.APPROVE, actor=current_user)
    messages = [(f"Đã duyệt {len(done)} hồ sơ: {named(done)}.", "success")] if done else []
    messages += [(f"{entry_name(entry)}: {message}", "warning") for entry, message in failed]
    commit_and_notify()  # the titles are read before the commit expires the entries
    for message, category in messages:
        flash(message, category)
    return redirect(url_for("inbox.index"), 303)
