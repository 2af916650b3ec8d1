"""``flask --app wsgi danvan worker``: the background-job consumer (huey)."""

from __future__ import annotations

import logging

import click
from flask import current_app


def register(group) -> None:
    """Attach the ``worker`` command to the ``danvan`` command group."""

    @group.command("worker")
    @click.option("--workers", default=2, show_default=True, help="Số luồng chạy tác vụ.")
    @click.option(
        "--no-periodic",
        is_flag=True,
        help="Không chạy tác vụ định kỳ (khi một worker khác đã chạy chúng).",
    )
    def worker_command(workers: int, no_periodic: bool) -> None:
        """Chạy các tác vụ nền: gửi thư, nhắc hạn lúc 07:00, dựng ảnh xem trước báo cáo."""
        from danvan import jobs

        queue = jobs.for_app(current_app._get_current_object())
        if queue.backend == "immediate":
            raise click.ClickException("JOBS_BACKEND=immediate không có hàng đợi để chạy.")
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s %(message)s"
        )
        click.echo(f"Worker danvan: hàng đợi {queue.backend}, {workers} luồng.")
        queue.consumer(workers=workers, periodic=not no_periodic).run()
