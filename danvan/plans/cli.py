"""``flask danvan import-plan FILE [--dry-run] [--agency-id N]``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select

from danvan.extensions import db


def register(group) -> None:
    """Attach the ``import-plan`` command to the ``danvan`` command group."""

    @group.command("import-plan")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Chỉ in kết quả đọc (JSON), không lưu.")
    @click.option("--agency-id", type=int, default=None, help="Mã cơ quan (khi có nhiều cơ quan).")
    def import_plan_command(file: str, dry_run: bool, agency_id: int | None) -> None:
        """Đọc kế hoạch (.docx, .pdf, .md, .txt) và tạo kế hoạch nháp để rà soát."""
        from danvan.models import Agency
        from danvan.plans.importer import PlanImportError, create_draft_campaign
        from danvan.plans.parser import PlanTextError, extract_text, parse_plan

        try:
            text = extract_text(file, Path(file).read_bytes())
        except OSError as exc:
            click.echo(f"Không đọc được tệp {file}: {exc.strerror}.", err=True)
            raise SystemExit(1) from None
        except PlanTextError as exc:
            click.echo(f"Không đọc được kế hoạch {file}: {exc}", err=True)
            raise SystemExit(1) from None
        parsed = parse_plan(text)
        if dry_run:
            click.echo(json.dumps(parsed.to_json(), ensure_ascii=False, indent=2))
            return
        if agency_id is not None:
            agency = db.session.get(Agency, agency_id)
            if agency is None:
                raise click.ClickException(f"Không có cơ quan mã {agency_id}.")
        else:
            agencies = list(db.session.scalars(select(Agency).order_by(Agency.id).limit(2)))
            if not agencies:
                raise click.ClickException("Chưa có cơ quan nào trong cơ sở dữ liệu.")
            if len(agencies) > 1:
                raise click.ClickException("Có nhiều cơ quan; hãy chọn bằng --agency-id.")
            agency = agencies[0]
        try:
            campaign = create_draft_campaign(agency, parsed, actor=None)
        except PlanImportError as exc:
            db.session.rollback()
            click.echo("Không tạo được kế hoạch nháp:", err=True)
            for problem in exc.problems + parsed.problems:
                click.echo(f"  - {problem}", err=True)
            raise SystemExit(1) from None
        db.session.commit()
        click.echo(f"Đã tạo kế hoạch nháp mã {campaign.id}: {campaign.title}")
        if parsed.problems:
            click.echo("Cần kiểm tra:")
            for problem in parsed.problems:
                click.echo(f"  - {problem}")
