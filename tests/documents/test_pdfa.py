"""PDF/A-3b essentials after each signature: PDF 1.7 at most, XMP pdfaid, output intent,
fonts embedded, no encryption (issue 10: the signing writer used to declare /Version 2.0)."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from danvan.documents import pdf as pdfmod
from danvan.documents.pdfa import pdfa_problems

LO = pytest.mark.libreoffice


def _catalog(data: bytes):
    return PdfFileReader(io.BytesIO(data), strict=False).root


def _incremental(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@LO
def test_libreoffice_output_meets_the_essentials(sample_pdf):
    assert sample_pdf.startswith(b"%PDF-1.")
    assert pdfa_problems(sample_pdf) == []


@LO
def test_each_signature_keeps_the_file_within_pdf_17(director_signed_pdf, doubly_signed_pdf):
    for signed in (director_signed_pdf, doubly_signed_pdf):
        root = _catalog(signed)
        assert str(root["/Version"]) == "/1.7"
        # The embedded .docx is still associated with the document (/AF, /Source).
        [spec] = [s.get_object() for s in root["/AF"]]
        assert spec["/AFRelationship"] == "/Source"
        assert pdfa_problems(signed) == []


@LO
def test_a_catalog_claiming_pdf_20_is_named(sample_pdf):
    def claim_20(writer):
        writer.root["/Version"] = generic.pdf_name("/2.0")
        writer.update_root()

    problems = pdfa_problems(_incremental(sample_pdf, claim_20))
    assert problems == [
        "Danh mục (catalog) khai báo /Version /2.0, vượt quá PDF 1.7 mà PDF/A-3 dựa trên."
    ]


@LO
def test_a_plain_pdf_lacks_the_pdfa_identification(sample_docx):
    plain = pdfmod.docx_to_pdf(sample_docx, pdfa=False)
    problems = pdfa_problems(plain)
    assert "Siêu dữ liệu XMP không khai báo pdfaid:part = 3." in problems
    assert "Thiếu OutputIntent GTS_PDFA1 với hồ sơ màu (ICC)." in problems


@LO
def test_a_font_that_is_not_embedded_is_named(sample_pdf):
    def stamp_in_courier(writer):
        # A standard-14 font (what a naive stamp uses) names no font file: not embedded.
        courier = writer.add_object(
            generic.DictionaryObject(
                {
                    generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                    generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                    generic.pdf_name("/BaseFont"): generic.pdf_name("/Courier"),
                }
            )
        )
        page_ref, _ = writer.find_page_for_modification(0)
        page = page_ref.get_object()
        resources = page["/Resources"].get_object()
        fonts = resources["/Font"].get_object()
        fonts[generic.pdf_name("/FCourier")] = courier
        writer.update_container(fonts)
        writer.update_container(resources)
        writer.update_container(page)

    problems = pdfa_problems(_incremental(sample_pdf, stamp_in_courier))
    assert any(p.startswith("Phông chữ chưa được nhúng: /Courier") for p in problems), problems


@LO
def test_an_encrypted_file_is_refused(sample_docx):
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    reader = PdfFileReader(io.BytesIO(pdfmod.docx_to_pdf(sample_docx)), strict=False)
    writer = copy_into_new_writer(reader)
    writer.encrypt("chu-so-huu", "nguoi-doc")
    out = io.BytesIO()
    writer.write(out)
    assert "Tệp được mã hóa; PDF/A không cho phép mã hóa." in pdfa_problems(out.getvalue())
