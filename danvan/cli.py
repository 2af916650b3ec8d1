"""``flask --app wsgi danvan …``: seed-demo, create-user, send-mail, remind, export-xlsx, …

backup and restore are in danvan/backup_cli.py, import-plan in danvan/plans/cli.py."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from danvan.extensions import db
from danvan.models import Role, Unit, User, UserRole
from danvan.passwords import check_password_policy, normalize_password

danvan_cli = AppGroup("danvan", help="Lệnh quản trị danvan.")


@danvan_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Chỉ tạo khi cơ sở dữ liệu chưa có người dùng.")
def seed_demo_command(if_empty: bool) -> None:
    """Tạo dữ liệu demo (Sở Xây dựng Hà Nam)."""
    from danvan.seed import DEMO_PASSWORD, seed_demo

    if db.session.scalar(select(func.count(User.id))):
        if if_empty:
            click.echo("Cơ sở dữ liệu đã có dữ liệu; bỏ qua tạo dữ liệu demo.")
            return
        raise click.ClickException("Cơ sở dữ liệu đã có dữ liệu; không tạo dữ liệu demo.")
    seed_demo(config=current_app.config, instance_path=current_app.instance_path)
    db.session.commit()
    click.echo(f"Đã tạo dữ liệu demo. Mật khẩu mọi tài khoản: {DEMO_PASSWORD}")


@danvan_cli.command("create-user")
@click.argument("username")
@click.option("--full-name", required=True)
@click.option("--email", default=None)
@click.option("--unit", "unit_abbr", default=None, help="Ký hiệu đơn vị, ví dụ QLXD.")
@click.option("--role", "roles", multiple=True, type=click.Choice([r.value for r in Role]))
@click.password_option(prompt="Mật khẩu", confirmation_prompt="Nhập lại mật khẩu")
def create_user_command(username, full_name, email, unit_abbr, roles, password) -> None:
    """Tạo tài khoản người dùng."""
    username = username.strip().lower()
    # Hash what the login form will pass on (it trims and normalises to NFC).
    password = normalize_password(password)
    problems = check_password_policy(password, username)
    if problems:
        raise click.ClickException("Mật khẩu không đạt yêu cầu: " + " ".join(problems))
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise click.ClickException(f"Tên đăng nhập {username} đã có.")
    unit = None
    if unit_abbr:
        unit = db.session.scalar(select(Unit).where(Unit.abbreviation == unit_abbr))
        if unit is None:
            raise click.ClickException(f"Không có đơn vị {unit_abbr}.")
    user = User(username=username, full_name=full_name, email=email, unit=unit)
    user.set_password(password)
    user.role_rows = [UserRole(role=r) for r in roles]
    db.session.add(user)
    db.session.commit()
    click.echo(f"Đã tạo tài khoản {user.username}.")


@danvan_cli.command("send-mail")
def send_mail_command() -> None:
    """Gửi các thư thông báo đang chờ."""
    from danvan.mail import send_outbox

    click.echo(f"Đã gửi {send_outbox(current_app.config)} thư.")


@danvan_cli.command("export")
@click.option("--number", required=True, help="Số, ký hiệu, ví dụ 05/BC-SXD.")
@click.option("--year", required=True, type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def export_command(number: str, year: int, out_dir: str) -> None:
    """Xuất bản lưu trữ (.docx, .pdf, .p7s) của một văn bản đã phát hành."""
    from pathlib import Path

    from danvan.models import ArchivedDocument, Blob

    doc = db.session.scalar(
        select(ArchivedDocument).where(
            ArchivedDocument.number_symbol == number, ArchivedDocument.year == year
        )
    )
    if doc is None:
        raise click.ClickException(f"Không có văn bản số {number} năm {year} trong lưu trữ.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = number.replace("/", "-")
    files = {
        f"{stem}.docx": doc.docx_sha256,
        f"{stem}.docx.p7s": doc.p7s_sha256,
        f"{stem}.pdf": doc.pdf_sha256,
    }
    for name, sha in files.items():
        if sha:
            (out / name).write_bytes(db.session.get(Blob, sha).data)
            click.echo(f"{out / name}  sha256={sha}")


@danvan_cli.command("export-edxml")
@click.option("--number", required=True, help="Số, ký hiệu, ví dụ 01/BC-SXD.")
@click.option("--year", required=True, type=int)
@click.option("--to", "to_id", required=True, help="Mã định danh của cơ quan nhận.")
@click.option("--to-name", default=None, help="Tên cơ quan nhận (mặc định: nơi nhận báo cáo).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
def export_edxml_command(
    number: str, year: int, to_id: str, to_name: str | None, out_file: str
) -> None:
    """Xuất văn bản đã phát hành thành gói edXML (QCVN 102:2016/BTTTT) gửi một cơ quan."""
    from pathlib import Path

    from danvan.edxml import Organ, PackageError, build_package, document_from_archive
    from danvan.models import ArchivedDocument, Report
    from danvan.text import utcnow

    doc = db.session.scalar(
        select(ArchivedDocument).where(
            ArchivedDocument.number_symbol == number, ArchivedDocument.year == year
        )
    )
    if doc is None:
        raise click.ClickException(f"Không có văn bản số {number} năm {year} trong lưu trữ.")
    name = to_name or db.session.get(Report, doc.report_id).campaign.report_recipient
    try:
        data = build_package(
            document_from_archive(doc, recipients=[Organ(to_id, name)], now=utcnow())
        )
    except PackageError as exc:
        raise click.ClickException("; ".join(exc.problems)) from exc
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    from danvan.receipts import record_edxml_delivery

    record_edxml_delivery(doc, Organ(to_id, name), actor=None)
    db.session.commit()
    click.echo(f"Đã ghi {out} ({len(data)} byte): gói edXML văn bản {number} gửi {name}.")


@danvan_cli.command("export-xlsx")
@click.option("--year", type=int, default=None, help="Năm của kế hoạch, ví dụ 2023.")
@click.option("--campaign", "campaign_id", type=int, default=None, help="Mã kế hoạch.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
def export_xlsx_command(year: int | None, campaign_id: int | None, out_file: str) -> None:
    """Xuất hồ sơ hoạt động và thống kê theo đơn vị của một kế hoạch ra tệp .xlsx."""
    from pathlib import Path

    from danvan.exports.workbook import campaign_workbook
    from danvan.models import Campaign

    if year is None and campaign_id is None:
        raise click.ClickException("Hãy chọn kế hoạch: --year NĂM hoặc --campaign MÃ.")
    if campaign_id is not None:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None or (year is not None and campaign.year != year):
            where = f" năm {year}" if year is not None else ""
            raise click.ClickException(f"Không có kế hoạch mã {campaign_id}{where}.")
    else:
        found = list(db.session.scalars(select(Campaign).where(Campaign.year == year)))
        if not found:
            raise click.ClickException(f"Không có kế hoạch năm {year}.")
        if len(found) > 1:
            ids = ", ".join(str(c.id) for c in found)
            raise click.ClickException(
                f"Năm {year} có {len(found)} kế hoạch (mã {ids}); hãy chọn bằng --campaign MÃ."
            )
        campaign = found[0]
    data = campaign_workbook(campaign)
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    click.echo(f"Đã ghi {out} ({len(data)} byte): kế hoạch năm {campaign.year}.")


def _quiet_diff_analysis() -> None:
    """pyHanko logs every rejected change with a traceback; our verdict already says why."""
    import logging

    logging.getLogger("pyhanko.sign.diff_analysis").setLevel(logging.ERROR)


def _echo_checks(checks) -> int:
    """One line per check (``label``, ``ok``, ``problems``); return how many failed."""
    failed = 0
    for check in checks:
        if check.ok:
            click.echo(f"OK     {check.label}")
        else:
            failed += 1
            click.echo(f"LỖI    {check.label}: {'; '.join(check.problems)}")
    return failed


@danvan_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--p7s", "p7s_path", type=click.Path(dir_okay=False), help="Tệp chữ ký .p7s.")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
def verify_command(file: str, p7s_path: str | None, as_json: bool) -> None:
    """Kiểm tra một tệp (.pdf, hoặc .docx kèm .p7s): 0 hợp lệ, 1 không hợp lệ, 2 không đọc được."""
    import json
    from pathlib import Path

    from danvan import services
    from danvan.verification import UNREADABLE, VALID, unreadable_verdict, verify_document

    _quiet_diff_analysis()
    try:
        data = Path(file).read_bytes()
        p7s = Path(p7s_path).read_bytes() if p7s_path else None
    except OSError as exc:
        verdict = unreadable_verdict(f"Không đọc được tệp {exc.filename}: {exc.strerror}.")
    else:
        verdict = verify_document(data, services.trust_roots(), p7s=p7s)
    if as_json:
        click.echo(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2))
    else:
        _echo_verdict(file, verdict)
    raise SystemExit({VALID: 0, UNREADABLE: 2}.get(verdict.status, 1))


def _echo_verdict(file: str, verdict) -> None:
    from danvan.text import format_date
    from danvan.verification import UNREADABLE, signature_label

    doc = verdict.document
    if verdict.valid:
        click.echo(f"HỢP LỆ         {file}: {doc.number_symbol} ngày {format_date(doc.doc_date)}")
    elif verdict.status == UNREADABLE:
        click.echo(f"KHÔNG ĐỌC ĐƯỢC {file}")
    else:
        click.echo(f"KHÔNG HỢP LỆ   {file}")
    for reason in verdict.reasons:
        click.echo(f"  - {reason}")
    for sig in verdict.signatures:
        row = sig.as_dict()
        mark = "OK " if row["ok"] else "LỖI"
        who = f"{row['signer'] or '?'}, {row['signing_time'] or '?'}"
        click.echo(f"  [{mark}] {signature_label(row['field'])} ({who}): {row['message']}")


def _echo_protection(checks) -> None:
    """Until when each archived PDF's timestamp chain protects it (PAdES B-LTA)."""
    from danvan.text import format_date

    for check in checks:
        if check.document.pdf_sha256 is None:
            continue
        until = check.protected_until
        if until is None:
            click.echo(f"LTV    {check.label}: không có dấu thời gian tài liệu (PAdES B-B).")
        else:
            click.echo(
                f"LTV    {check.label}: dấu thời gian bảo vệ đến {format_date(until.date())} "
                f"({until.isoformat()})."
            )


@danvan_cli.command("verify-archive")
def verify_archive_command() -> None:
    """Tính lại SHA-256 và kiểm tra mọi chữ ký trong lưu trữ; mã thoát khác 0 nếu có lỗi."""
    from danvan import services
    from danvan.operations.archive import check_archive

    _quiet_diff_analysis()
    checks = check_archive(services.trust_roots())
    failed = _echo_checks(checks)
    click.echo(f"{len(checks)} văn bản, {failed} lỗi.")
    _echo_protection(checks)
    from danvan import ledger

    breaks = ledger.check_chains()
    for chain_break in breaks:
        click.echo(f"LỖI    chuỗi băm {chain_break}")
    if not breaks:
        click.echo("Chuỗi băm lịch sử, sổ đăng ký và lưu trữ: nguyên vẹn.")
    if failed or breaks:
        raise SystemExit(1)


@danvan_cli.command("retimestamp-archive")
@click.option(
    "--margin-days",
    type=int,
    default=90,
    show_default=True,
    help="Đóng dấu lại văn bản có dấu thời gian hết bảo vệ trong số ngày này.",
)
def retimestamp_archive_command(margin_days: int) -> None:
    """Thêm dấu thời gian tài liệu mới cho bản PDF lưu trữ sắp hết bảo vệ (PAdES B-LTA)."""
    from danvan import services
    from danvan.models import ArchivedDocument
    from danvan.operations.archive import retimestamp_archive
    from danvan.text import format_date, utcnow

    settings = services.ltv_settings(current_app.config, current_app.instance_path)
    if settings is None:
        raise click.ClickException("Chưa cấu hình SIGNING_TSA_URL (dịch vụ cấp dấu thời gian).")
    _quiet_diff_analysis()
    try:
        added = retimestamp_archive(settings, margin_days=margin_days, now=utcnow())
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    for row in added:
        doc = db.session.get(ArchivedDocument, row.archived_document_id)
        until = format_date(row.protected_until.date()) if row.protected_until else "?"
        click.echo(f"ĐÃ ĐÓNG DẤU  {doc.number_symbol} ({doc.year}): bảo vệ đến {until}")
    click.echo(f"Đã đóng dấu thời gian lại {len(added)} văn bản.")


@danvan_cli.command("remind")
@click.option("--campaign-id", type=int, default=None, help="Mặc định: kế hoạch mới nhất.")
def remind_command(campaign_id: int | None) -> None:
    """Gửi thư nhắc hạn báo cáo cho người có hồ sơ chưa gửi và người có hồ sơ chờ duyệt."""
    from danvan.mail import send_outbox
    from danvan.models import Campaign
    from danvan.notifications import queue_deadline_reminders
    from danvan.text import today_vn

    stmt = select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc())
    if campaign_id:
        stmt = select(Campaign).where(Campaign.id == campaign_id)
    campaign = db.session.scalar(stmt)
    if campaign is None:
        raise click.ClickException("Không có kế hoạch nào.")
    queued = queue_deadline_reminders(campaign, today_vn())
    db.session.commit()
    sent = send_outbox(current_app.config)
    click.echo(f"Đã xếp {queued} thư nhắc, đã gửi {sent} thư.")


@danvan_cli.command("deactivate-user")
@click.argument("username")
def deactivate_user_command(username: str) -> None:
    """Khóa tài khoản và kết thúc ngay mọi phiên đăng nhập của người đó."""
    from danvan.auth.sessions import end_all_sessions

    user = db.session.scalar(select(User).where(User.username == username.lower()))
    if user is None:
        raise click.ClickException(f"Không có tài khoản {username}.")
    user.active = False
    ended = end_all_sessions(user)
    db.session.commit()
    click.echo(f"Đã khóa tài khoản {user.username}; đã kết thúc {ended} phiên đăng nhập.")


from danvan.plans.cli import register as _register_plans  # noqa: E402

_register_plans(danvan_cli)

from danvan.backup_cli import register as _register_backup  # noqa: E402

_register_backup(danvan_cli)


@danvan_cli.command("create-rollup-campaign")
@click.option("--year", required=True, type=int)
@click.option("--title", required=True, help="Tên kế hoạch (đợt tổng hợp).")
@click.option("--deadline", required=True, help="Hạn các Sở gửi báo cáo, yyyy-mm-dd.")
@click.option("--period-start", default=None, help="yyyy-mm-dd (mặc định 01/10 của năm).")
@click.option("--period-end", default=None, help="yyyy-mm-dd (mặc định 31/10 của năm).")
@click.option("--subject", default=None, help="Trích yếu của báo cáo tổng hợp.")
@click.option("--plan-number", default=None, help="Số kế hoạch, ví dụ 45-KH/BDVTU.")
@click.option(
    "--expect", "expects", multiple=True, help='Cơ quan phải báo cáo: "MÃ ĐỊNH DANH=Tên".'
)
@click.option("--agency-id", type=int, default=None, help="Mặc định: cơ quan đầu tiên.")
def create_rollup_campaign_command(
    year, title, deadline, period_start, period_end, subject, plan_number, expects, agency_id
) -> None:
    """Tạo kế hoạch tổng hợp (Ban Dân vận): các Sở gửi báo cáo qua edXML, hệ thống cộng số liệu."""
    from datetime import date

    from danvan import rollup
    from danvan.models import Agency, Campaign
    from danvan.operations import OperationError

    def day(text: str | None, default: date) -> date:
        try:
            return date.fromisoformat(text) if text else default
        except ValueError:
            raise click.ClickException(f"Ngày “{text}” không đúng dạng yyyy-mm-dd.") from None

    stmt = select(Agency).order_by(Agency.id)
    agency = db.session.get(Agency, agency_id) if agency_id else db.session.scalar(stmt)
    if agency is None:
        raise click.ClickException("Không có cơ quan nào.")
    campaign = Campaign(
        agency=agency,
        year=year,
        kind="rollup",
        status="active",
        title=title,
        plan_number=plan_number,
        period_start=day(period_start, date(year, 10, 1)),
        period_end=day(period_end, date(year, 10, 31)),
        report_deadline=day(deadline, date(year, 11, 10)),
        report_subject=subject
        or f"Kết quả tổng hợp Tháng cao điểm thực hiện công tác dân vận năm {year}",
        recipients="Thường trực Tỉnh ủy",
    )
    if campaign.period_start > campaign.period_end:
        raise click.ClickException("Ngày bắt đầu phải trước ngày kết thúc.")
    db.session.add(campaign)
    db.session.flush()
    try:
        for line in expects:
            organ_id, sep, name = line.partition("=")
            if not sep:
                raise click.ClickException(f"“{line}”: cần dạng MÃ ĐỊNH DANH=Tên cơ quan.")
            rollup.add_reporting_agency(campaign, organ_id=organ_id, name=name)
    except OperationError as exc:
        details = "; ".join(exc.errors.values())
        raise click.ClickException(f"“{line}”: {exc.message} {details}".strip()) from None
    db.session.commit()
    click.echo(
        f"Đã tạo kế hoạch tổng hợp số {campaign.id} ({campaign.title}), "
        f"{len(campaign.reporting_agencies)} cơ quan phải báo cáo."
    )


def _receiving_agency(agency_id: int | None):
    """The agency a command acts for: --agency-id, else the only one."""
    from danvan.models import Agency

    if agency_id is not None:
        agency = db.session.get(Agency, agency_id)
        if agency is None:
            raise click.ClickException(f"Không có cơ quan mã {agency_id}.")
        return agency
    agencies = list(db.session.scalars(select(Agency).order_by(Agency.id).limit(2)))
    if not agencies:
        raise click.ClickException("Chưa có cơ quan nào trong cơ sở dữ liệu.")
    if len(agencies) > 1:
        raise click.ClickException("Có nhiều cơ quan; hãy chọn bằng --agency-id.")
    return agencies[0]


@danvan_cli.command("import-edxml")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--agency-id", type=int, default=None, help="Mã cơ quan (khi có nhiều cơ quan).")
def import_edxml_command(file: str, agency_id: int | None) -> None:
    """Nhận một gói edXML vào sổ văn bản đến, hoặc ghi nhận một phản hồi trạng thái."""
    from pathlib import Path

    from danvan import incoming, receipts, services
    from danvan.edxml.package import MAX_PACKAGE_BYTES
    from danvan.edxml.status import DOCUMENT, package_kind
    from danvan.text import utcnow

    _quiet_diff_analysis()
    agency = _receiving_agency(agency_id)
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        click.echo(f"Không đọc được tệp {file}: {exc.strerror}.", err=True)
        raise SystemExit(1) from None
    kind, problems = package_kind(data, max_bytes=MAX_PACKAGE_BYTES)
    try:
        if problems:
            raise incoming.ImportRefused(problems)
        if kind == DOCUMENT:
            doc = incoming.import_package(
                data, agency=agency, actor=None, trust_roots=services.trust_roots(), now=utcnow()
            )
        else:
            delivery = receipts.apply_status_reply(data, agency=agency, actor=None, now=utcnow())
    except incoming.ImportRefused as exc:
        db.session.rollback()
        click.echo(f"Không nhận tệp {file}:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    if kind != DOCUMENT:
        label = delivery.status_description or delivery.status_code
        click.echo(f"Đã ghi nhận phản hồi của {delivery.recipient_name}: {label}")
        return
    click.echo(
        f"Đã vào sổ văn bản đến số {doc.number}/{doc.year}: văn bản số {doc.number_symbol} "
        f"của {doc.sender_name}."
    )
    click.echo(f"Chữ ký số: {incoming.signature_summary(doc)}")
    for reason in (doc.verification or {}).get("reasons", []):
        click.echo(f"  - {reason}")
    for sig in (doc.verification or {}).get("signatures", []):
        mark = "OK " if sig["ok"] else "LỖI"
        who = f"{sig['signer'] or '?'}, {sig['signing_time'] or '?'}"
        click.echo(f"  [{mark}] {sig['label']} ({who}): {sig['message']}")


@danvan_cli.command("edxml-status")
@click.option("--incoming-number", "number", required=True, type=int, help="Số đến.")
@click.option("--year", required=True, type=int, help="Năm của sổ văn bản đến.")
@click.option("--code", required=True, type=click.Choice(["01", "03"]))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.option("--agency-id", type=int, default=None, help="Mã cơ quan (khi có nhiều cơ quan).")
def edxml_status_command(
    number: int, year: int, code: str, out_file: str, agency_id: int | None
) -> None:
    """Ghi tệp phản hồi trạng thái (01 Đã đến, 03 Đã tiếp nhận) cho một văn bản đến."""
    from pathlib import Path

    from danvan.incoming import ARRIVED, status_reply_for
    from danvan.models import IncomingDocument
    from danvan.operations import OperationError
    from danvan.text import utcnow

    agency = _receiving_agency(agency_id)
    doc = db.session.scalar(
        select(IncomingDocument).where(
            IncomingDocument.agency_id == agency.id,
            IncomingDocument.year == year,
            IncomingDocument.number == number,
        )
    )
    if doc is None:
        raise click.ClickException(f"Không có văn bản số đến {number} năm {year}.")
    staff = doc.received_by if code == ARRIVED else doc.accepted_by
    try:
        data = status_reply_for(doc, code, staff=staff, now=utcnow())
    except OperationError as exc:
        raise click.ClickException(exc.message) from exc
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    click.echo(f"Đã ghi {out}: phản hồi {code} cho văn bản số đến {number}/{year}.")


from danvan.api.cli import register as _register_api  # noqa: E402

_register_api(danvan_cli)
from danvan.jobs_cli import register as _register_jobs  # noqa: E402

_register_jobs(danvan_cli)
from danvan.signature_cli import register as _register_signature  # noqa: E402

_register_signature(danvan_cli)
