"""PAdES signing (signer + agency), validation, embedded .docx, detached CMS, image checks."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from datetime import datetime

import pytest
from cryptography.hazmat.primitives import hashes
from PIL import Image, ImageStat
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from danvan.demo import artwork
from danvan.documents import images, pdf, pki, signing

LO = pytest.mark.libreoffice
ISO_TIME = "2023-11-05T09:30:15+07:00"


def _widget_rects(data: bytes) -> dict[str, tuple[float, ...]]:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    page_ref, _ = reader.find_page_for_modification(-1)
    rects = {}
    for annot in page_ref.get_object().get("/Annots", []):
        annot = annot.get_object()
        if "/T" in annot:
            rects[str(annot["/T"])] = tuple(float(v) for v in annot["/Rect"])
    return rects


def _flip_byte_in_signed_range(data: bytes) -> bytes:
    """Flip one byte inside a stream body of the signed revision (the PDF still parses)."""
    limit = data.index(b"/ByteRange")
    for m in re.finditer(rb"(?<!end)stream\r?\n", data[:limit]):
        end = data.index(b"endstream", m.end())
        if end - m.end() > 200:
            pos = m.end() + 100
            return data[:pos] + bytes([data[pos] ^ 0x55]) + data[pos + 1 :]
    raise AssertionError("no stream body found before the signature")


def _colour_bbox(png: bytes, test) -> tuple[int, int, int, int]:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    xs, ys = [], []
    px = img.load()
    for y in range(0, img.height):
        for x in range(0, img.width):
            if test(*px[x, y]):
                xs.append(x)
                ys.append(y)
    assert xs, "no pixel of that colour"
    return min(xs), min(ys), max(xs), max(ys)


# --- signer -------------------------------------------------------------------------------


@LO
def test_director_signature_is_valid_and_covers_whole_file(
    director_signed_pdf, trust_roots, consts
):
    [res] = signing.validate_pdf(director_signed_pdf, trust_roots)
    assert res.field_name == "ChuKyNguoiKy"
    assert (res.intact, res.valid, res.trusted) == (True, True, True)
    assert res.coverage == "ENTIRE_FILE"
    assert res.modification_level == "NONE"
    assert res.ok is True
    assert res.signer_cn == consts.DIRECTOR_CN
    assert res.signing_time is not None and res.signing_time.utcoffset() is not None


@LO
def test_embedded_docx_is_the_exact_original(director_signed_pdf, sample_docx):
    embedded = signing.extract_embedded_file(director_signed_pdf, "05-BC-SXD.docx")
    assert embedded is not None
    assert hashlib.sha256(embedded).hexdigest() == hashlib.sha256(sample_docx).hexdigest()
    assert signing.extract_embedded_file(director_signed_pdf, "khac.docx") is None
    reader = PdfFileReader(io.BytesIO(director_signed_pdf), strict=False)
    [spec] = [s.get_object() for s in reader.root["/AF"]]
    assert spec["/AFRelationship"] == generic.pdf_name("/Source")


@LO
def test_signature_image_sits_between_title_and_name(director_signed_pdf, consts):
    x0, y0, x1, y1 = _widget_rects(director_signed_pdf)["ChuKyNguoiKy"]
    name = pdf.find_text_box(director_signed_pdf, consts.DIRECTOR_NAME)
    title = pdf.find_text_box(director_signed_pdf, "GIÁM ĐỐC")
    assert name.y1 <= y0 < y1 <= title.y0
    assert abs((x0 + x1) / 2 - name.centre_x) < 1
    assert 36 <= y1 - y0 <= 80


@LO
def test_deputy_signs_on_last_page_under_pho_giam_doc(
    needs_libreoffice, make_docx, demo_pki, signature_png, trust_roots, consts
):
    docx = make_docx(deputy=True, body_paragraphs=22)
    source = pdf.docx_to_pdf(docx)
    assert pdf.page_count(source) >= 2
    signed = signing.sign_by_signer(
        source,
        signer=demo_pki.signer("deputy"),
        signature_png=signature_png,
        docx=docx,
        docx_name="bao-cao.docx",
        signer_name=consts.DIRECTOR_NAME,
        reason="KT. Giám đốc ký",
        location="Hà Nam",
    )
    x0, y0, x1, y1 = _widget_rects(signed)["ChuKyNguoiKy"]  # on the last page
    title = pdf.find_text_box(signed, "PHÓ GIÁM ĐỐC")
    name = pdf.find_text_box(signed, consts.DIRECTOR_NAME)
    assert title.page == name.page == pdf.page_count(signed) - 1
    assert name.y1 <= y0 < y1 <= title.y0
    [res] = signing.validate_pdf(signed, trust_roots)
    assert res.ok and res.signer_cn == consts.DEPUTY_CN


@LO
def test_sign_refuses_unknown_name_and_bad_image(sample_pdf, demo_pki, signature_png):
    common = dict(docx=b"x", docx_name="a.docx", reason="r", location="l")
    with pytest.raises(ValueError, match="Không tìm thấy tên người ký"):
        signing.sign_by_signer(
            sample_pdf, signer=demo_pki.signer("director"), signature_png=signature_png,
            signer_name="Người Không Có", **common,
        )  # fmt: skip
    with pytest.raises(ValueError, match="PNG"):
        signing.sign_by_signer(
            sample_pdf, signer=demo_pki.signer("director"), signature_png=b"GIF89a",
            signer_name="Nguyễn Quang Huy", **common,
        )  # fmt: skip


# --- agency -------------------------------------------------------------------------------


@LO
def test_agency_signature_after_director(doubly_signed_pdf, trust_roots, consts):
    first, second = signing.validate_pdf(doubly_signed_pdf, trust_roots)
    assert first.field_name == "ChuKyNguoiKy" and second.field_name == "ChuKyCoQuan"
    assert first.intact and first.valid and first.trusted
    assert first.coverage == "ENTIRE_REVISION"
    assert first.modification_level in ("NONE", "LTA_UPDATES", "FORM_FILLING")
    assert first.ok
    assert (second.coverage, second.modification_level) == ("ENTIRE_FILE", "NONE")
    assert second.ok and second.signer_cn == consts.AGENCY
    assert second.signing_time == consts.AGENCY_SIGNED_AT


@LO
def test_agency_stamp_shows_number_and_iso_time(doubly_signed_pdf, consts):
    text = pdf.pdf_text(doubly_signed_pdf)
    assert ISO_TIME in text
    assert f"Số: {consts.NUMBER_SYMBOL}" in text
    assert re.search(rb"pdfaid:part(>|=\")3", doubly_signed_pdf)  # PDF/A id survives signing
    assert signing.extract_embedded_file(doubly_signed_pdf) is not None


@LO
def test_rendered_seal_overlaps_left_third_of_signature(doubly_signed_pdf):
    dpi = 100
    [png] = pdf.pdf_to_png_pages(
        doubly_signed_pdf, dpi=dpi, first=pdf.page_count(doubly_signed_pdf)
    )
    red = _colour_bbox(png, lambda r, g, b: r > 170 and g < 110 and b < 110)
    blue = _colour_bbox(png, lambda r, g, b: b > 110 and r < 90 and g < 110)
    seal_px = images.SEAL_DIAMETER_MM / 25.4 * dpi
    assert abs((red[2] - red[0]) - seal_px) < 6  # real size, about 36 mm
    third = blue[0] + (blue[2] - blue[0]) / 3
    assert abs(red[2] - third) < 15  # its right edge at one third of the signature
    assert red[0] < blue[0]  # and it sticks out to the left


@LO
def test_agency_cannot_sign_before_the_signer(sample_pdf, demo_pki, seal_png, consts):
    with pytest.raises(ValueError, match="chưa có chữ ký số của người có thẩm quyền"):
        signing.sign_by_agency(
            sample_pdf, signer=demo_pki.signer("agency"), seal_png=seal_png,
            number_symbol="01/BC-SXD", signed_at=consts.AGENCY_SIGNED_AT, location="Hà Nam",
        )  # fmt: skip


# --- tampering and trust ------------------------------------------------------------------


@LO
def test_flipped_byte_breaks_the_signature(director_signed_pdf, trust_roots):
    results = signing.validate_pdf(_flip_byte_in_signed_range(director_signed_pdf), trust_roots)
    assert len(results) == 1
    assert not (results[0].intact and results[0].valid)
    assert results[0].ok is False


@LO
def test_damaged_signature_blob_is_reported_not_raised(director_signed_pdf, trust_roots):
    start = director_signed_pdf.index(b"/Contents <") + len(b"/Contents <")
    damaged = director_signed_pdf[:start] + b"0" * 40 + director_signed_pdf[start + 40 :]
    [res] = signing.validate_pdf(damaged, trust_roots)
    assert res.field_name == "ChuKyNguoiKy"
    assert res.ok is False and res.summary in ("ERROR", "INVALID")


@LO
def test_foreign_root_is_untrusted(doubly_signed_pdf, foreign_pki):
    results = signing.validate_pdf(doubly_signed_pdf, [foreign_pki.ca_cert])
    assert len(results) == 2
    for res in results:
        assert res.intact and res.valid
        assert res.trusted is False and res.ok is False


@LO
def test_page_rotation_after_signing_is_caught(doubly_signed_pdf, trust_roots):
    w = IncrementalPdfFileWriter(io.BytesIO(doubly_signed_pdf))
    page_ref, _ = w.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Rotate"] = generic.NumberObject(90)
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    results = signing.validate_pdf(out.getvalue(), trust_roots)
    assert [r.intact for r in results] == [True, True]  # the signed bytes are untouched ...
    assert results[-1].coverage == "ENTIRE_REVISION"
    assert all(r.modification_level == "OTHER" for r in results)  # ... but the page changed
    assert not any(r.ok for r in results)


@LO
def test_validate_rejects_non_pdf_and_accepts_unsigned(sample_pdf, trust_roots):
    with pytest.raises(ValueError, match="không phải là PDF"):
        signing.validate_pdf(b"\x00\x01 not a pdf", trust_roots)
    assert signing.validate_pdf(sample_pdf, trust_roots) == []
    assert signing.extract_embedded_file(sample_pdf) is None


# --- detached CMS for the .docx -----------------------------------------------------------


@pytest.fixture(scope="module")
def p7s_case(demo_pki, tmp_path_factory):
    key, cert, others = pki.load_pkcs12_key(demo_pki.pkcs12["director"], demo_pki.password)
    data = "Báo cáo số 05/BC-SXD".encode() * 100
    p7s = signing.cms_sign_detached(data, key=key, cert=cert, extra_certs=others)
    d = tmp_path_factory.mktemp("cms")
    (d / "ca.pem").write_bytes(demo_pki.ca_cert_pem)
    (d / "x.docx").write_bytes(data)
    (d / "x.p7s").write_bytes(p7s)
    return d, data, p7s


def _openssl_verify(d) -> subprocess.CompletedProcess:
    cmd = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "x.p7s"]
    cmd += ["-content", "x.docx", "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null"]
    return subprocess.run(cmd, cwd=d, capture_output=True, text=True, check=False)


def test_openssl_accepts_cms_and_rejects_appended_byte(p7s_case):
    d, data, _ = p7s_case
    ok = _openssl_verify(d)
    assert ok.returncode == 0, ok.stderr
    assert "Verification successful" in ok.stderr
    (d / "x.docx").write_bytes(data + b"\x00")
    try:
        bad = _openssl_verify(d)
    finally:
        (d / "x.docx").write_bytes(data)
    assert bad.returncode != 0
    assert "Verification successful" not in bad.stderr


def test_verify_cms_detached_agrees_with_openssl(p7s_case, demo_pki, foreign_pki, consts):
    _, data, p7s = p7s_case
    good = signing.verify_cms_detached(data, p7s, [demo_pki.ca_cert])
    assert good.valid and good.trusted
    assert good.signer_cn == consts.DIRECTOR_CN
    assert isinstance(good.signing_time, datetime) and good.signing_time.tzinfo is not None
    tampered = signing.verify_cms_detached(data + b"\x00", p7s, [demo_pki.ca_cert])
    assert not tampered.valid and not tampered.trusted
    foreign = signing.verify_cms_detached(data, p7s, [foreign_pki.ca_cert])
    assert foreign.valid and not foreign.trusted
    garbage = signing.verify_cms_detached(data, b"not a p7s", [demo_pki.ca_cert])
    assert not garbage.valid and "không hợp lệ" in garbage.message


# --- PKI and images -----------------------------------------------------------------------


def test_demo_certificates(demo_pki, consts):
    signer, cert = pki.load_pkcs12(demo_pki.pkcs12["director"], demo_pki.password)
    assert pki.cert_common_name(cert) == consts.DIRECTOR_CN
    assert "CN=Danvan Demo Root CA" in cert.issuer.rfc4514_string()
    assert "C=VN" in cert.subject.rfc4514_string()
    assert cert.not_valid_before_utc.year == 2020 and cert.not_valid_after_utc.year >= 2030
    assert pki.cert_fingerprint(cert) == cert.fingerprint(hashes.SHA256()).hex()
    assert signer.signing_cert.dump() == pki.to_asn1_cert(cert).dump()
    assert len(demo_pki.pkcs12) == 3
    with pytest.raises(ValueError, match="sai mật khẩu"):
        pki.load_pkcs12(demo_pki.pkcs12["director"], b"wrong")


def _png(mode: str, size=(50, 20), colour=None, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        _png("RGB", colour=(255, 255, 255), fmt="JPEG"),
        _png("RGB", colour=(255, 255, 255)),
        _png("RGBA", colour=(20, 40, 160, 255)),  # alpha channel but nothing transparent
        _png("RGBA", size=(2001, 10), colour=(0, 0, 0, 0)),
        b"\x89PNG\r\n\x1a\n but then garbage",
        b"plain text",
    ],
    ids=["jpeg", "png-no-alpha", "opaque-rgba", "too-large", "broken-png", "not-an-image"],
)
def test_check_signature_png_refuses(data):
    with pytest.raises(ValueError):
        images.check_signature_png(data)


def test_generated_images_are_accepted(signature_png, seal_png):
    images.check_signature_png(signature_png)
    images.check_signature_png(seal_png)
    sig = Image.open(io.BytesIO(signature_png))
    seal = Image.open(io.BytesIO(seal_png))
    assert (sig.mode, sig.size) == ("RGBA", artwork.SIGNATURE_SIZE)
    assert (seal.mode, seal.size) == ("RGBA", (artwork.SEAL_SIZE, artwork.SEAL_SIZE))
    for img, dominant in ((sig, 2), (seal, 0)):  # blue signature, red seal
        ink = img.getchannel("A").point(lambda a: 255 if a > 200 else 0)
        mean = ImageStat.Stat(img.convert("RGB"), mask=ink).mean
        assert max(range(3), key=lambda i: mean[i]) == dominant, mean
