"""Export routes: the entry list (with its filters) as .xlsx and .csv."""

from urllib.parse import quote

from flask import Response, request
from flask_login import current_user, login_required

from danvan.exports import bp, workbook
from danvan.text import fold
from danvan.web import entry_filters_from, visible_campaign_or_404


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = "-".join(fold(name).split()) or "tai-ve"
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in fallback
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _download(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/ke-hoach/<int:campaign_id>/xuat/hoat-dong.xlsx")
@login_required
def entries_xlsx(campaign_id: int):
    campaign = visible_campaign_or_404(campaign_id)
    filters = entry_filters_from(request.args)
    data = workbook.campaign_workbook(campaign, current_user, **filters)
    return _download(data, workbook.XLSX_MIMETYPE, workbook.file_name(campaign, "xlsx"))


@bp.route("/ke-hoach/<int:campaign_id>/xuat/hoat-dong.csv")
@login_required
def entries_csv(campaign_id: int):
    campaign = visible_campaign_or_404(campaign_id)
    filters = entry_filters_from(request.args)
    entries = workbook.export_entries(campaign, visible_to=current_user, **filters)
    data = workbook.entries_csv(entries)
    return _download(data, workbook.CSV_MIMETYPE, workbook.file_name(campaign, "csv"))
