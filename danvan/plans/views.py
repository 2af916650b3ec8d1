"""Nhập kế hoạch từ văn bản: upload or paste a plan, review what was read, create the draft.

Page 1 reads the text (``forms.read_plan_file``) and shows page 2, the review, in answer to the
same POST. The review carries the text, not the parsed values, to the confirm step, which parses
it again: what is created is always what the parser reads, whatever the browser posts.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import Agency, Campaign, ContentItem, Role
from danvan.operations.campaigns import campaign_name
from danvan.plans.forms import (
    ACCEPT_ATTR,
    MAX_PLAN_BYTES,
    PlanConfirmForm,
    PlanUploadForm,
)
from danvan.plans.importer import PlanImportError, create_draft_campaign, missing_fields
from danvan.plans.parser import ParsedPlan, parse_plan

bp = Blueprint("plans", __name__, url_prefix="/quan-tri/nhap-ke-hoach")


@bp.before_request
def admins_only():
    """Signed in (else the login page), administrator (else 403)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.has_role(Role.ADMIN):
        abort(403, description="Chỉ Quản trị hệ thống mới được nhập kế hoạch từ văn bản.")
    return None


@bp.errorhandler(413)
def too_large(error):
    """A body over the app's limit never reaches the form: say so on page 1, not as an
    entry's error."""
    db.session.rollback()
    form = PlanUploadForm(formdata=None)
    form.file.errors = [
        "Tệp hoặc nội dung gửi lên vượt quá dung lượng cho phép (tệp kế hoạch tối đa 10 MB); "
        "chưa đọc được gì. Hãy chọn tệp nhỏ hơn hoặc dán nội dung."
    ]
    return _upload_page(form), 413


def _upload_page(form: PlanUploadForm, *, back: bool = False) -> str:
    errors = [(f.id, f.label.text, m) for f in (form.file, form.text) for m in f.errors]
    return render_template(
        "plans/upload.html",
        form=form,
        errors=errors,
        back=back,
        accept=ACCEPT_ATTR,
        max_bytes=MAX_PLAN_BYTES,
    )


def _review_page(text: str, source: str, parsed: ParsedPlan, refused: list[str] | None = None):
    form = PlanConfirmForm(formdata=None, text=text, source=source)
    same_year = []
    if parsed.period_start:
        same_year = list(
            db.session.scalars(
                select(Campaign)
                .where(Campaign.year == parsed.period_start.year)
                .order_by(Campaign.id)
            )
        )
    return render_template(
        "plans/review.html",
        form=form,
        parsed=parsed,
        source=source,
        missing=refused if refused is not None else missing_fields(parsed),
        same_year=same_year,
        title_max=ContentItem.title.type.length,  # what the draft keeps (importer's shorten)
    )


@bp.route("", methods=["GET", "POST"])
def index():
    """Page 1; its POST answers with page 2 (the review) once the text could be read."""
    form = PlanUploadForm()
    if form.is_submitted() and request.form.get("quay_lai") == "1":
        return _upload_page(form, back=True)  # "Quay lại" from the review: the text, unchecked
    if form.validate_on_submit():
        return _review_page(form.plan_text, form.source, parse_plan(form.plan_text))
    return _upload_page(form), (422 if form.errors else 200)


@bp.route("/tao", methods=["POST"])
def create():
    """Parse the posted text again and create the draft campaign; commit once."""
    form = PlanConfirmForm()
    if not form.validate_on_submit():
        page = PlanUploadForm(formdata=None, text=form.text.data)  # nothing typed is lost
        page.text.errors = [m for field in (form.text, form.source) for m in field.errors]
        return _upload_page(page), 422
    parsed = parse_plan(form.text.data)
    agency = db.session.scalar(select(Agency).order_by(Agency.id).limit(1))
    try:
        campaign = create_draft_campaign(agency, parsed, actor=current_user._get_current_object())
    except PlanImportError as error:
        db.session.rollback()
        return _review_page(form.text.data, form.source.data or "", parsed, error.problems), 422
    db.session.commit()
    flash(
        f"Đã tạo kế hoạch nháp {campaign_name(campaign)} với {len(campaign.content_items)} nội "
        f"dung và {len(campaign.observances)} ngày kỷ niệm; hãy rà soát rồi mở kế hoạch "
        "(Công bố kế hoạch).",
        "success",
    )
    return redirect(url_for("campaign_admin.edit", campaign_id=campaign.id), 303)
