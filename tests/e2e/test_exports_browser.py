"""The entry list's downloads in Chromium: filter, then "Tải Excel (.xlsx)" and "Tải CSV" give
the filtered list under Vietnamese file names. Screenshots: test-artifacts/screenshots/."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page

from danvan.extensions import db
from tests.factories import approve

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


def at(page: Page, viewport: str) -> Page:
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    return page


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_filtered_list_downloads_as_xlsx_and_csv(world, page_for, shot, viewport):
    for title in ("Hội nghị dân vận khéo", "Tiếp công dân", "Thăm hỏi người nghèo"):
        approve(world, world.staff_a, world.head_a, title=title)
    db.session.commit()
    page = at(page_for(world.office), viewport)
    page.goto("/hoat-dong")
    page.get_by_label("Tìm kiếm").fill("dan van")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url("**q=dan+van**")
    assert page.locator("#entries-table tbody tr").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport][0]
    shot(page, f"entry-list-{viewport}")

    with page.expect_download() as info:
        page.get_by_role("link", name="Tải Excel (.xlsx)").click()
    download = info.value
    assert download.suggested_filename == "hoạt-động-2023.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    titles = [row[3] for row in wb["Hoạt động"].iter_rows(min_row=2, values_only=True)]
    assert titles == ["Hội nghị dân vận khéo"]

    with page.expect_download() as info:
        page.get_by_role("link", name="Tải CSV").click()
    download = info.value
    assert download.suggested_filename == "hoạt-động-2023.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "Hội nghị dân vận khéo" in text and "Tiếp công dân" not in text
