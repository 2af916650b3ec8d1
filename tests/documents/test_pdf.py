"""docx → PDF/A conversion (LibreOffice) and the poppler helpers."""

from __future__ import annotations

import io
import re
import subprocess
import threading

import pytest
from PIL import Image

from danvan.documents import pdf

LO = pytest.mark.libreoffice


def _pdffonts(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in out.stdout.splitlines()[2:] if line.strip()]


@LO
def test_docx_to_pdf_gives_pdfa_3b(sample_pdf):
    assert sample_pdf.startswith(b"%PDF-")
    assert re.search(rb"pdfaid:part(>|=\")3", sample_pdf), "no PDF/A-3 identification in XMP"
    assert re.search(rb"pdfaid:conformance(>|=\")B", sample_pdf)


@LO
def test_docx_to_pdf_embeds_only_liberation_serif(sample_pdf, tmp_path):
    fonts = _pdffonts(sample_pdf, tmp_path)
    assert fonts, "pdffonts listed no fonts"
    assert all(re.fullmatch(r"[A-Z]{6}\+LiberationSerif(-\w+)?", f) for f in fonts), fonts


@LO
def test_pdf_text_keeps_vietnamese(sample_pdf, consts):
    text = pdf.pdf_text(sample_pdf)
    assert consts.DIRECTOR_NAME in text
    assert "GIÁM ĐỐC" in text
    assert "Tình hình thực hiện kế hoạch xây dựng năm 2023" in text


@LO
def test_plain_pdf_export_has_no_pdfa_marker(needs_libreoffice, make_docx):
    data = pdf.docx_to_pdf(make_docx(body_paragraphs=1), pdfa=False)
    assert data.startswith(b"%PDF-")
    assert b"pdfaid:part" not in data


@LO
def test_two_parallel_conversions_both_succeed(needs_libreoffice, make_docx):
    names = ["Nguyễn Quang Huy", "Trần Thị Bích Ngọc"]
    results: dict[str, bytes | BaseException] = {}

    def convert(name: str) -> None:
        try:
            results[name] = pdf.docx_to_pdf(make_docx(name=name, body_paragraphs=2))
        except BaseException as exc:  # report in the main thread
            results[name] = exc

    threads = [threading.Thread(target=convert, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    for name in names:
        result = results.get(name)
        assert isinstance(result, bytes), f"{name}: {result!r}"
        assert name in pdf.pdf_text(result)


@LO
def test_timeout_raises_clear_error(needs_libreoffice, make_docx):
    with pytest.raises(pdf.PdfConversionError, match="LibreOffice quá thời gian"):
        pdf.docx_to_pdf(make_docx(), timeout=0.001)


def test_missing_libreoffice_raises(monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    assert pdf.libreoffice_available() is False
    with pytest.raises(pdf.LibreOfficeUnavailable, match="chưa cài LibreOffice"):
        pdf.docx_to_pdf(b"PK\x03\x04")


@LO
def test_pdf_to_png_pages(sample_pdf):
    pages = pdf.pdf_to_png_pages(sample_pdf, dpi=50)
    assert len(pages) == pdf.page_count(sample_pdf) >= 1
    for png in pages:
        img = Image.open(io.BytesIO(png))
        assert img.format == "PNG"
        # A4 at 50 dpi is about 413 × 585 pixels
        assert abs(img.width - 413) <= 2 and abs(img.height - 585) <= 2
    assert len(pdf.pdf_to_png_pages(sample_pdf, dpi=30, first=1, last=1)) == 1


@LO
def test_find_text_box_in_pdf_coordinates(sample_pdf, consts):
    name = pdf.find_text_box(sample_pdf, consts.DIRECTOR_NAME)
    title = pdf.find_text_box(sample_pdf, "GIÁM ĐỐC")
    assert name is not None and title is not None
    assert name.text == consts.DIRECTOR_NAME
    assert 0 < name.y0 < name.y1 < title.y0 < title.y1 < name.page_height  # y from the bottom
    assert name.x0 > name.page_width / 2 - 20  # the signer block is on the right half
    assert abs(name.centre_x - title.centre_x) < 3  # both centred in the same cell
    assert pdf.line_above(sample_pdf, name) == title
    assert pdf.find_text_box(sample_pdf, "Không có dòng này") is None


def test_poppler_rejects_non_pdf():
    with pytest.raises(pdf.PopplerError):
        pdf.pdf_text(b"this is not a pdf")
