"""Public routes: the campaign pages and Atom feed (no login), and Văn phòng's "Công khai"."""

from urllib.parse import urlsplit

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from danvan import permissions, publication
from danvan.extensions import db
from danvan.models import Agency, Entry
from danvan.operations import Conflict
from danvan.public import bp
from danvan.public.forms import PublishForm
from danvan.web import commit_and_notify, flash_refusal, form_version, run_operation

PUBLIC_CACHE = "public, max-age=300"


@bp.app_context_processor
def publication_helpers():
    """``publication`` for staff templates (the entry page's badge and button)."""
    return {"publication": publication}


def _public(response: Response) -> Response:
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


def _agency() -> Agency | None:
    return db.session.scalar(select(Agency).order_by(Agency.id).limit(1))


def _external(endpoint: str, **values) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


@bp.route("/")
def index():
    agency = _agency()
    campaigns = publication.public_campaigns()
    html = render_template("public/index.html", agency=agency, campaigns=campaigns)
    return _public(Response(html, mimetype="text/html"))


@bp.route("/ke-hoach/<int:campaign_id>")
def campaign(campaign_id: int):
    found = publication.public_campaign(campaign_id)
    if found is None:
        abort(404)
    activities = publication.published_activities(found)
    html = render_template(
        "public/campaign.html",
        agency=found.agency,
        campaign=found,
        groups=publication.grouped(found, activities),
        count=len(activities),
        participants=sum(a.participants_total for a in activities),
    )
    return _public(Response(html, mimetype="text/html"))


@bp.route("/ke-hoach/<int:campaign_id>/atom.xml")
def feed(campaign_id: int):
    found = publication.public_campaign(campaign_id)
    if found is None:
        abort(404)
    base = current_app.config["BASE_URL"]
    body = publication.atom_feed(
        found,
        found.agency,
        publication.published_activities(found),
        page_url=_external("public.campaign", campaign_id=found.id),
        self_url=_external("public.feed", campaign_id=found.id),
        authority=urlsplit(base).hostname or "localhost",
    )
    return _public(Response(body, content_type="application/atom+xml; charset=utf-8"))


@bp.route("/hoat-dong/<int:entry_id>", methods=["POST"])
@login_required
def set_flag(entry_id: int):
    entry = db.session.get(Entry, entry_id)
    if entry is None or not permissions.can_view_entry(current_user, entry):
        abort(404)
    form = PublishForm()
    if not form.validate_on_submit() or form.cong_khai.data not in ("0", "1"):
        abort(400)
    public = form.cong_khai.data == "1"
    outcome = run_operation(
        publication.publish,
        entry,
        actor=current_user,
        public=public,
        expected_version=form_version(form),
    )
    target = redirect(url_for("entries.view", entry_id=entry_id), 303)
    if isinstance(outcome.error, Conflict):
        entry = db.session.get(Entry, entry_id)
        if entry is not None and publication.is_public(entry) == public:
            # A double click, or a colleague did the same: the page already says so.
            done = "đã được công khai" if public else "đã thôi công khai"
            flash(f"Hoạt động này {done}.", "info")
        else:
            flash(outcome.error.message, "warning")
        return target
    if outcome.error:
        flash_refusal(outcome.error)
        return target
    commit_and_notify()
    if public:
        flash("Đã công khai hoạt động trên trang thông tin của kế hoạch.", "success")
    else:
        flash("Đã thôi công khai: hoạt động không còn trên trang thông tin.", "success")
    return target
