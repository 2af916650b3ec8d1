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
from danvan.pagination import page_args
from danvan.web import commit_and_notify, entry_filters_from, int_arg, posted_ids
from danvan.workflow import ENTRY_STATE_LABELS, EntryAction

NAMED_AT_MOST = 5  # titles a flash message lists before "và N hồ sơ khác"
REFUSALS_AT_MOST = 10  # refusals a bulk approval lists one by one before summing up the rest
# The inbox filters a "select all matching" form carries (the query string's own names).
FILTER_KEYS = ("ke_hoach", "don_vi", "noi_dung", "tu_ngay", "den_ngay", "q")


def named(entries: list[Entry]) -> str:
    """“Title 1 (QLXD)”, “Title 2 (TTr)” … và N hồ sơ khác: what a bulk action acted on."""
    titles = ", ".join(entry_name(e) for e in entries[:NAMED_AT_MOST])
    rest = len(entries) - NAMED_AT_MOST
    return f"{titles} và {rest} hồ sơ khác" if rest > 0 else titles


def _may_approve(entry: Entry, transitions) -> bool:
    return any(t.action == EntryAction.APPROVE for t in transitions)


@bp.route("/viec-can-xu-ly")
@login_required
def index():
    campaigns = queries.visible_campaigns(current_user)
    campaign_id = int_arg(request.args, "ke_hoach", "Kế hoạch")
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    filters = entry_filters_from(request.args)
    number, per_page = page_args(request.args)
    page = queries.entry_inbox_page(
        current_user, number, per_page, campaign_id=campaign_id, **filters
    )
    entries = page.items
    delegations = Delegation.active_for(current_user)
    transitions = {
        e.id: permissions.available_transitions(current_user, e, delegations) for e in entries
    }
    bulk_ids = {e.id for e in entries if _may_approve(e, transitions[e.id])}
    shown = campaign or (campaigns[0] if campaigns else None)  # whose content items to offer
    return render_template(
        "inbox/index.html",
        page=page,
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
        filter_args={k: request.args[k] for k in FILTER_KEYS if request.args.get(k)},
        units=queries.filter_units(current_user),
        content_items=shown.content_items if shown else [],
        states=[],
        state_labels=ENTRY_STATE_LABELS,
    )


def _approve(items: list[tuple[Entry, int | None]], back: str, skipped: int = 0):
    """Approve through ops.act_many, flash what was done and refused, go back to ``back``."""
    done, failed = ops.act_many(items, EntryAction.APPROVE, actor=current_user)
    messages = [(f"Đã duyệt {len(done)} hồ sơ: {named(done)}.", "success")] if done else []
    messages += [
        (f"{entry_name(entry)}: {message}", "warning")
        for entry, message in failed[:REFUSALS_AT_MOST]
    ]
    if len(failed) > REFUSALS_AT_MOST:
        rest = len(failed) - REFUSALS_AT_MOST
        messages.append((f"Và {rest} hồ sơ khác chưa duyệt được.", "warning"))
    if skipped:
        messages.append(
            (
                f"{skipped} hồ sơ phù hợp không chờ bạn duyệt (ví dụ hồ sơ bị trả lại để sửa) "
                "nên được giữ nguyên.",
                "info",
            )
        )
    commit_and_notify()  # the titles are read before the commit expires the entries
    for message, category in messages:
        flash(message, category)
    return redirect(back, 303)


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
    return _approve(items, url_for("inbox.index"))


@bp.route("/viec-can-xu-ly/duyet-tat-ca", methods=["POST"])
@login_required
def bulk_approve_matching():
    """Approve every inbox entry matching the posted filters that this user may approve.

    The versions of the rows the user saw on the page are posted and checked; entries on
    other pages were never seen, so theirs are not. If more entries match now than the
    button said, nothing is done: the user confirms the new number first.
    """
    if not BulkActionForm().validate_on_submit():
        abort(400)
    form = request.form
    back_args = {k: form[k] for k in FILTER_KEYS if form.get(k)}
    back = url_for("inbox.index", **back_args)
    campaign_id = int_arg(form, "ke_hoach", "Kế hoạch")
    filters = entry_filters_from(form)
    entries = queries.entry_inbox(current_user, campaign_id=campaign_id, **filters)
    delegations = Delegation.active_for(current_user)
    approvable = [
        e
        for e in entries
        if _may_approve(e, permissions.available_transitions(current_user, e, delegations))
    ]
    expected = form.get("so_luong", type=int)
    if expected is None or len(approvable) > expected:
        flash(
            f"Danh sách đã thay đổi: nay có {len(approvable)} hồ sơ phù hợp chờ bạn duyệt. "
            "Vui lòng xem lại rồi bấm duyệt tất cả lần nữa.",
            "warning",
        )
        return redirect(back, 303)
    if not approvable:
        flash("Không có hồ sơ phù hợp nào chờ bạn duyệt.", "warning")
        return redirect(back, 303)
    items = [(e, form.get(f"v_{e.id}", type=int)) for e in approvable]
    return _approve(items, back, skipped=len(entries) - len(approvable))
