"""PAdES signing of report PDFs (signer, then agency), validation, and detached CMS for .docx.

Without a TSA configured: offline, no OCSP/CRL/AIA fetching (PAdES B-B). With one (``ltv``,
see documents.ltv), the director's signature is B-T and the issued PDF B-LTA, and a signature
followed by a document timestamp is validated long-term with what the file embeds.

The director's signature carries a blue signature image between the title and the name and
embeds the exact .docx as the PDF's source file; the agency (Văn thư) signature adds the red
seal over the left third of it (NĐ 30/2020).
"""

from __future__ import annotations

import asyncio
import io
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from PIL import Image
from pyhanko import stamp
from pyhanko.pdf_utils import embed, generic, layout, text
from pyhanko.pdf_utils import images as pdf_images
from pyhanko.pdf_utils.font import opentype
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

from . import images, ltv, pdfa
from . import pdf as pdfmod
from .loops import outside_event_loop
from .ltv import LtvSettings
from .pdf import embedded_files, extract_embedded_file
from .pki import cert_common_name, cert_fingerprint, to_asn1_cert

__all__ = [
    "CmsResult",
    "LtvSettings",
    "SignatureResult",
    "cms_sign_detached",
    "embedded_files",
    "extract_embedded_file",
    "sign_by_agency",
    "sign_by_signer",
    "signed_revisions",
    "validate_pdf",
    "verify_cms_detached",
    "vn_time",
]

VN_TZ = timezone(timedelta(hours=7))
SEAL_SIZE_PT = images.SEAL_DIAMETER_MM / 25.4 * 72
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_EARLIER_OK_LEVELS = {"NONE", "LTA_UPDATES", "FORM_FILLING"}
CMS_FIELD = "p7s"  # the field name a detached .p7s signature is reported under


@dataclass(frozen=True)
class SignatureResult:
    """Validation outcome of one PDF signature."""

    field_name: str
    signer_cn: str | None
    signing_time: datetime | None
    intact: bool
    valid: bool
    trusted: bool
    coverage: str
    modification_level: str
    summary: str
    ok: bool
    message: str = ""
    cert_sha256: str | None = None  # SHA-256 of the signing certificate (DER)
    level: str = "B-B"  # PAdES baseline level: B-B, B-T, B-LT or B-LTA

    @classmethod
    def failed(cls, field_name: str, message: str) -> SignatureResult:
        """A result for a signature that could not be checked at all."""
        unknown = {"coverage": "UNKNOWN", "modification_level": "UNKNOWN", "summary": "ERROR"}
        flags = {"intact": False, "valid": False, "trusted": False, "ok": False}
        return cls(field_name, None, None, message=message, **unknown, **flags)

    def as_dict(self) -> dict:
        """Plain data for JSON: field, signer, ISO signing time, flags, coverage, message."""
        return _signature_dict(self, self.intact and self.valid)


@dataclass(frozen=True)
class CmsResult:
    """Validation outcome of a detached CMS (.p7s) signature."""

    valid: bool
    trusted: bool
    signer_cn: str | None
    signing_time: datetime | None
    message: str
    cert_sha256: str | None = None  # SHA-256 of the signing certificate (DER)

    field_name = CMS_FIELD
    level = None  # PAdES levels are for PDF signatures

    @property
    def ok(self) -> bool:
        """Intact and trusted: all a detached signature can say."""
        return self.valid and self.trusted

    @property
    def coverage(self) -> str:
        """A detached signature covers the whole file it was checked against, or nothing."""
        return "ENTIRE_FILE" if self.valid else "UNKNOWN"

    @property
    def modification_level(self) -> str:
        """NONE when intact (a detached signature cannot be extended), else UNKNOWN."""
        return "NONE" if self.valid else "UNKNOWN"

    def as_dict(self) -> dict:
        """Plain data for JSON, with the same keys as a PDF signature's."""
        return _signature_dict(self, self.valid)


def _signature_dict(result: SignatureResult | CmsResult, intact: bool) -> dict:
    when = result.signing_time
    return {
        "field": result.field_name,
        "signer": result.signer_cn,
        "signing_time": vn_time(when).isoformat() if when is not None else None,
        "intact": bool(intact),
        "trusted": bool(result.trusted),
        "coverage": result.coverage,
        "modification_level": result.modification_level,
        "ok": bool(result.ok),
        "message": result.message,
        "level": getattr(result, "level", None),
    }


class _TimedPdfSigner(signers.PdfSigner):
    """PdfSigner whose signing time (CMS signing-time and /M) is fixed by the caller."""

    def __init__(self, *args, system_time: datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._system_time = system_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        if self._system_time is not None:
            session.system_time = self._system_time
        return session


def vn_time(moment: datetime | None = None) -> datetime:
    """`moment` (naive = Vietnam local time; default now) in UTC+07:00, whole seconds."""
    moment = moment or datetime.now(VN_TZ)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN_TZ)
    return moment.astimezone(VN_TZ).replace(microsecond=0)


def _text_box_style(font_size: int, *, margins: bool = True) -> text.TextBoxStyle:
    # The same size on the factory and the box style, or multi-line text drifts (pyHanko #733).
    factory = opentype.GlyphAccumulatorFactory(images.stamp_font_path(), font_size=font_size)
    tight = None
    if not margins:  # the box is the text: baseline at its bottom, width = the line's advance
        tight = layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MIN,
            margins=layout.Margins(),
        )
    return text.TextBoxStyle(
        font=factory, font_size=font_size, leading=font_size + 2, box_layout_rule=tight
    )


@dataclass(frozen=True)
class _CentredLinesStampStyle(stamp.TextStampStyle):
    """A text stamp whose lines are each centred in the box (pyHanko aligns them left)."""

    lines_bottom: float = 3.0  # baseline of the last line above the box's bottom edge

    def create_stamp(self, writer, box, text_params) -> stamp.TextStamp:
        return _CentredLinesStamp(writer=writer, style=self, box=box, text_params=text_params)


class _CentredLinesStamp(stamp.TextStamp):
    def _render_inner_content(self):
        params = self.get_default_text_params()
        params.update(self.text_params or {})
        lines = (self.style.stamp_text % params).split("\n")
        box_style = self.style.text_box_style
        leading = box_style.leading or box_style.font_size
        out = []
        for index, line in enumerate(lines):
            box = text.TextBox(
                box_style, writer=self.writer, resources=self.resources, font_name=f"F{index + 1}"
            )
            box.content = line
            commands = box.render()
            x = (self.box.width - box.box.width) / 2
            y = self.style.lines_bottom + (len(lines) - 1 - index) * leading
            out += [b"q", b"1 0 0 1 %g %g cm" % (x, y), commands, b"Q"]
        return out


def _writer(data: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    except Exception as exc:
        raise ValueError("Tệp không phải là PDF hợp lệ hoặc đã bị hỏng.") from exc


def _stay_within_pdf_17(writer: IncrementalPdfFileWriter) -> None:
    """Undo the /Version 2.0 pyHanko sets for an /AF association: PDF/A-3, which defines /AF
    for PDF 1.7, must not claim 2.0 (the ESIC extension for PAdES needs only 1.7)."""
    writer.root["/Version"] = generic.pdf_name("/1.7")
    writer.update_root()
    writer.output_version = (1, 7)


def _png_image(data: bytes) -> Image.Image:
    images.check_signature_png(data)
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGBA")


def _ascii_name(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if c.isascii() and not unicodedata.combining(c)) or "file"


class PdfaLost(ValueError):
    """A signature would take a PDF/A-3b file out of PDF/A (nothing is stored then)."""


def _sign(
    writer,
    *,
    source: bytes,
    signer,
    meta,
    style,
    spec,
    params=None,
    system_time=None,
    timestamper=None,
) -> bytes:
    out = io.BytesIO()
    pdf_signer = _TimedPdfSigner(
        meta,
        signer,
        stamp_style=style,
        new_field_spec=spec,
        system_time=system_time,
        timestamper=timestamper,
    )
    try:
        pdf_signer.sign_pdf(writer, output=out, appearance_text_params=params)
    except SigningError as exc:
        if "could not be validated" in str(exc):  # revoked, expired, or status unknown
            raise ValueError(
                "Không ký được văn bản: chứng thư số của người ký không được xác nhận còn hiệu "
                "lực (đã bị thu hồi, hết hạn hoặc không kiểm tra được trạng thái thu hồi)."
            ) from exc
        raise ValueError(f"Không ký được văn bản: {exc}") from exc
    except Exception as exc:
        raise ValueError(f"Không ký được văn bản: {exc}") from exc
    signed = out.getvalue()
    # A PDF/A-3b source must still meet the essentials after each signature (checked here,
    # not trusted: a library update could change what the signing writer declares).
    lost = pdfa.pdfa_problems(signed) if not pdfa.pdfa_problems(source) else []
    if lost:
        raise PdfaLost("Bản PDF sau khi ký không còn đạt chuẩn PDF/A-3b: " + " ".join(lost))
    return signed


def _signer_box(pdf: bytes, signer_name: str, aspect: float) -> tuple[int, tuple[float, ...]]:
    """Page and box for the signature image: between the title line and the signer's name."""
    last_page = pdfmod.page_count(pdf) - 1
    name = pdfmod.find_text_box(pdf, signer_name, page=last_page) or pdfmod.find_text_box(
        pdf, signer_name
    )
    if name is None:
        raise ValueError(f"Không tìm thấy tên người ký “{signer_name}” trong PDF để đặt chữ ký.")
    title = pdfmod.line_above(pdf, name)
    top = title.y0 if title is not None else name.y1 + 72
    bottom = name.y1
    height = min(max(top - bottom - 4, 36.0), 80.0)
    width = height * aspect
    if width > 190:
        width, height = 190.0, 190.0 / aspect
    cx, cy = name.centre_x, (top + bottom) / 2
    return name.page, (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


@outside_event_loop
def sign_by_signer(
    pdf: bytes,
    *,
    signer: signers.Signer,
    signature_png: bytes,
    docx: bytes,
    docx_name: str,
    signer_name: str,
    reason: str,
    location: str,
    field_name: str = "ChuKyNguoiKy",
    signed_at: datetime | None = None,
    ltv_settings: LtvSettings | None = None,
) -> bytes:
    """Embed the .docx as source file and add the signer's visible PAdES signature (1 update).

    The signature image goes between the title line(s) and `signer_name`, found on the last page
    (or, failing that, at the name's last occurrence, e.g. when an appendix follows). With
    ``ltv_settings`` the signature carries a timestamp from the TSA (PAdES B-T).
    """
    w, meta, style, field, when = signer_signature_setup(
        pdf,
        signature_png=signature_png,
        docx=docx,
        docx_name=docx_name,
        signer_name=signer_name,
        reason=reason,
        location=location,
        field_name=field_name,
        signed_at=signed_at,
    )
    timestamper = ltv_settings.timestamper() if ltv_settings else None
    return _sign(
        w,
        source=pdf,
        signer=signer,
        meta=meta,
        style=style,
        spec=field,
        system_time=when,
        timestamper=timestamper,
    )


def signer_signature_setup(
    pdf: bytes,
    *,
    signature_png: bytes,
    docx: bytes,
    docx_name: str,
    signer_name: str,
    reason: str,
    location: str,
    field_name: str = "ChuKyNguoiKy",
    signed_at: datetime | None = None,
):
    """The writer (with the .docx embedded), metadata, stamp, field and time of the signer's
    signature: shared by sign_by_signer and the two-phase signing (documents.interrupted)."""
    img = _png_image(signature_png)
    signer_name = unicodedata.normalize("NFC", signer_name.strip())
    page, box = _signer_box(pdf, signer_name, img.width / img.height)
    w = _writer(pdf)
    when = vn_time(signed_at)
    spec = embed.FileSpec(
        file_spec_string=_ascii_name(docx_name),
        file_name=docx_name,
        embedded_data=embed.EmbeddedFileObject.from_file_data(
            w,
            data=docx,
            mime_type=DOCX_MIME,
            params=embed.EmbeddedFileParams(creation_date=when, modification_date=when),
        ),
        description="Bản .docx gốc của văn bản",
        af_relationship=generic.pdf_name("/Source"),
    )
    embed.embed_file(w, spec)
    _stay_within_pdf_17(w)
    style = stamp.StaticStampStyle(
        background=pdf_images.PdfImage(img),
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(),
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=signer_name,
    )
    field = fields.SigFieldSpec(field_name, on_page=page, box=tuple(round(v, 2) for v in box))
    return w, meta, style, field, when


@dataclass(frozen=True)
class _SealGeometry:
    box: tuple[float, float, float, float]  # the agency signature's widget
    seal_left: float


def _seal_geometry(
    pdf: bytes, page: int, sig: tuple[float, ...], lines: list[str], font_size: int
) -> _SealGeometry:
    """Where the seal and its text lines go, around the signer's signature image.

    NĐ 30: the seal, at its real size, covers the left third of the signature image. It never
    reaches down over the signer's name (its lower edge stays above the name line, so the name
    does not hide the seal's lower text either); the "Số" and time lines are centred under the
    name, on the axis of the centred signature block.
    """
    x0, y0, x1, y1 = sig
    d = SEAL_SIZE_PT
    name = pdfmod.line_below(pdf, pdfmod.TextBox(page, x0, y0, x1, y1, "", 0, 0))
    axis = name.centre_x if name else (x0 + x1) / 2
    name_top = name.y1 if name else y0
    seal_left = x0 + (x1 - x0) / 3 - d
    seal_bottom = max((y0 + y1) / 2 - d / 2, name_top + 1.5)
    leading = font_size + 2
    text_top = (name.y0 if name else y0 - 20) - 4
    text_bottom = text_top - len(lines) * leading - 2
    text_w = max(images.text_width_pt(line, font_size) for line in lines) + 4
    half = max(axis - seal_left, text_w / 2, x1 - axis)
    return _SealGeometry((axis - half, text_bottom, axis + half, seal_bottom + d), seal_left)


@outside_event_loop
def sign_by_agency(
    pdf: bytes,
    *,
    signer: signers.Signer,
    seal_png: bytes,
    number_symbol: str,
    signed_at: datetime,
    location: str,
    field_name: str = "ChuKyCoQuan",
    reason: str = "Ký số của cơ quan, tổ chức",
    ltv_settings: LtvSettings | None = None,
) -> bytes:
    """Add the agency's PAdES signature: the seal over the signer's image, số/ký hiệu and time.

    With ``ltv_settings`` and certificates that name their OCSP/CRL services, the file becomes
    PAdES B-LTA: the earlier signatures' revocation info goes into the DSS, this signature gets
    a timestamp and its own revocation info, then a document timestamp closes the file. A
    certificate found revoked (or unverifiable) refuses the signature. Without revocation
    services the signature is only timestamped (B-T).
    """
    img = _png_image(seal_png)
    found = pdfmod.signature_widget(pdf)
    if found is None:
        raise ValueError(
            "Văn bản chưa có chữ ký số của người có thẩm quyền: "
            "văn thư chỉ ký số cơ quan sau khi người có thẩm quyền đã ký."
        )
    page, (x0, y0, x1, y1) = found
    when = vn_time(signed_at)
    font_size = 10
    lines = [f"Số: {number_symbol}", f"Thời gian ký: {when.isoformat()}"]
    geometry = _seal_geometry(pdf, page, (x0, y0, x1, y1), lines, font_size)
    style = _CentredLinesStampStyle(
        stamp_text="Số: %(number_symbol)s\nThời gian ký: %(ts_vn)s",
        text_box_style=_text_box_style(font_size, margins=False),
        border_width=0,
        background=pdf_images.PdfImage(img, box=layout.BoxConstraints(SEAL_SIZE_PT, SEAL_SIZE_PT)),
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(left=geometry.seal_left - geometry.box[0]),
            inner_content_scaling=layout.InnerScaling.NO_SCALING,
        ),
    )
    lta = ltv_settings is not None and ltv.revocation_checkable(signer.signing_cert)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        embed_validation_info=lta,
        use_pades_lta=lta,
        validation_context=ltv_settings.validation_context() if lta else None,
    )
    box = geometry.box
    field = fields.SigFieldSpec(field_name, on_page=page, box=tuple(round(v, 2) for v in box))
    params = {"number_symbol": number_symbol, "ts_vn": when.isoformat()}
    data = pdf
    if lta:
        try:
            data = ltv.with_validation_info(pdf, ltv_settings)
        except Exception as exc:
            raise ValueError(
                f"Không lấy được thông tin thu hồi chứng thư của chữ ký người ký: {exc}"
            ) from exc
    w = _writer(data)
    return _sign(
        w,
        source=pdf,
        signer=signer,
        meta=meta,
        style=style,
        spec=field,
        params=params,
        system_time=when,
        timestamper=ltv_settings.timestamper() if ltv_settings else None,
    )


def _validation_context(trust_roots: Iterable) -> ValidationContext:
    return ValidationContext(
        trust_roots=[to_asn1_cert(c) for c in trust_roots], allow_fetching=False
    )


def _message(intact: bool, valid: bool, trusted: bool, acceptable: bool, mod: str) -> str:
    if not (intact and valid):
        return "Chữ ký không hợp lệ: nội dung đã bị thay đổi sau khi ký hoặc chữ ký bị hỏng."
    if not trusted:
        return "Chữ ký đúng nhưng chứng thư số không thuộc tổ chức chứng thực được tin cậy."
    if not acceptable:
        if mod == "NONE":
            return "Chữ ký không bao trùm toàn bộ tệp: có dữ liệu được thêm vào sau khi ký."
        return "Văn bản đã bị sửa đổi sau khi ký (không chỉ thêm chữ ký khác)."
    return "Chữ ký hợp lệ, chứng thư tin cậy, văn bản không bị sửa đổi trái phép sau khi ký."


@outside_event_loop
def validate_pdf(pdf: bytes, trust_roots: list) -> list[SignatureResult]:
    """Validate every signature of `pdf` against `trust_roots`, in document order.

    A timestamped signature followed by a document timestamp, in a file with a DSS (B-LTA), is
    validated long-term from what the file embeds (documents.ltv); any other offline.
    """
    sigs, stamps, broken = _collect_all(pdf)
    vc = _validation_context(trust_roots)
    dss = bool(sigs) and ltv.has_dss(sigs[0].reader)
    last_stamp_problem = _last_stamp_problem(stamps, sigs, trust_roots) if stamps else None
    results = []
    for ix, emb in enumerate(sigs):
        last = ix == len(sigs) - 1 and not broken
        ends_file = last and not any(ts.signed_revision > emb.signed_revision for ts in stamps)
        level = ltv.pades_level(emb, stamps, dss)
        try:
            # pyHanko's long-term validation needs the signature's own timestamp (B-T): a
            # B-B signature, e.g. the director's two-phase one, is checked offline as before.
            if level == "B-LTA":
                outcome = ltv.validate_lta(emb, trust_roots)
                st = outcome.status or validate_pdf_signature(emb, vc)
                long_term = (outcome.passed, outcome.indication)
            else:
                st, long_term = validate_pdf_signature(emb, vc), (True, "")
        except Exception:  # unsupported algorithms, odd structures, ...
            logging.getLogger(__name__).exception("validating %s failed", emb.field_name)
            results.append(
                SignatureResult.failed(emb.field_name, "Không kiểm tra được chữ ký này.")
            )
            continue
        coverage = st.coverage.name if st.coverage is not None else "UNKNOWN"
        # None: pyHanko could not analyse the changes after the signature, never "no changes".
        mod = st.modification_level.name if st.modification_level is not None else "UNKNOWN"
        if ends_file:
            acceptable = coverage == "ENTIRE_FILE" and mod == "NONE"
        else:
            acceptable = (
                coverage in ("ENTIRE_FILE", "ENTIRE_REVISION") and mod in _EARLIER_OK_LEVELS
            )
        acceptable = acceptable and st.docmdp_ok is not False
        ok = bool(st.intact and st.valid and st.trusted and acceptable)
        message = _message(st.intact, st.valid, st.trusted, acceptable, mod)
        if ok and not long_term[0]:
            ok = False
            message = (
                "Chữ ký đúng nhưng không qua được kiểm tra dài hạn (chứng thư, thông tin thu "
                f"hồi hoặc dấu thời gian nhúng trong tệp): {long_term[1]}"
            )
        if ok and last and last_stamp_problem:
            ok, message = False, last_stamp_problem
        results.append(
            SignatureResult(
                field_name=emb.field_name,
                signer_cn=cert_common_name(st.signing_cert) if st.signing_cert else None,
                signing_time=st.signer_reported_dt,
                intact=bool(st.intact),
                valid=bool(st.valid),
                trusted=bool(st.trusted),
                coverage=coverage,
                modification_level=mod,
                summary=st.summary(),
                ok=ok,
                message=message,
                cert_sha256=cert_fingerprint(st.signing_cert) if st.signing_cert else None,
                level=level,
            )
        )
    for name in broken:
        results.append(SignatureResult.failed(name, "Chữ ký bị hỏng, không đọc được."))
    return results


def _last_stamp_problem(stamps, sigs, trust_roots) -> str | None:
    """Why the document timestamp that ends the file is not acceptable (None: it is)."""
    last = stamps[-1]
    if sigs and last.signed_revision < sigs[-1].signed_revision:
        return None  # a signature comes after it: that signature must cover the file
    vc = ValidationContext(trust_roots=[to_asn1_cert(c) for c in trust_roots], allow_fetching=False)
    try:
        st = validate_pdf_timestamp(last, vc)
    except Exception:
        logging.getLogger(__name__).exception("validating the document timestamp failed")
        return "Không kiểm tra được dấu thời gian tài liệu."
    coverage = st.coverage.name if st.coverage is not None else "UNKNOWN"
    mod = st.modification_level.name if st.modification_level is not None else "UNKNOWN"
    if not (st.intact and st.valid):
        return "Dấu thời gian tài liệu không hợp lệ: tệp đã bị thay đổi sau khi đóng dấu."
    if not st.trusted:
        return "Dấu thời gian tài liệu không do dịch vụ cấp dấu thời gian được tin cậy cấp."
    # pyHanko adds the TSA's own revocation info to the DSS after the timestamp (LTA_UPDATES).
    if coverage == "ENTIRE_FILE" and mod == "NONE":
        return None
    if coverage == "ENTIRE_REVISION" and mod in ("NONE", "LTA_UPDATES"):
        return None
    return "Có dữ liệu được thêm vào tệp sau dấu thời gian tài liệu."


def _collect_all(
    pdf: bytes,
) -> tuple[list[EmbeddedPdfSignature], list[EmbeddedPdfSignature], list[str]]:
    """Signatures and document timestamps in order, and the names of damaged fields."""
    readable, broken = _collect_fields(pdf)
    sigs = [e for e in readable if not ltv.is_document_timestamp(e)]
    stamps = [e for e in readable if ltv.is_document_timestamp(e)]
    return sigs, stamps, broken


def _collect_signatures(pdf: bytes) -> tuple[list[EmbeddedPdfSignature], list[str]]:
    """Readable signatures (not document timestamps) in signing order, and damaged fields."""
    sigs, _, broken = _collect_all(pdf)
    return sigs, broken


def _collect_fields(pdf: bytes) -> tuple[list[EmbeddedPdfSignature], list[str]]:
    """Readable signature fields in signing order, and the names of fields whose blob is damaged."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sig_fields = list(fields.enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:
        raise ValueError("Tệp không phải là PDF hợp lệ hoặc đã bị hỏng.") from exc
    good, broken = [], []
    for fq_name, _, sig_field in sig_fields:
        try:
            good.append(EmbeddedPdfSignature(reader, sig_field, fq_name))
        except Exception:  # damaged /Contents, unreadable CMS, missing /ByteRange, ...
            broken.append(fq_name)
    return sorted(good, key=lambda emb: emb.signed_revision), broken


def signed_revisions(pdf: bytes) -> list[bytes]:
    """The file as each readable signature signed it (its byte range's end), in signing order."""
    sigs, _ = _collect_signatures(pdf)
    out = []
    for emb in sigs:
        byte_range = [int(v) for v in emb.byte_range]
        standard = len(byte_range) == 4 and byte_range[0] == 0
        out.append(pdf[: byte_range[2] + byte_range[3]] if standard else b"")
    return out


def cms_sign_detached(
    data: bytes,
    *,
    key: PrivateKeyTypes,
    cert: x509.Certificate,
    extra_certs: Iterable[x509.Certificate] = (),
) -> bytes:
    """Detached, binary CMS (PKCS#7, DER) signature of `data` with SHA-256."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
    for extra in extra_certs:
        builder = builder.add_certificate(extra)
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    return builder.sign(Encoding.DER, options)


@outside_event_loop
def verify_cms_detached(data: bytes, p7s: bytes, trust_roots: list) -> CmsResult:
    """Check a detached .p7s over `data` offline against `trust_roots`."""
    try:
        info = cms.ContentInfo.load(p7s)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed_data = info["content"]
        _ = signed_data.native  # parse everything now, so damage shows up here
    except Exception:
        return CmsResult(False, False, None, None, "Tệp chữ ký .p7s không hợp lệ hoặc bị hỏng.")
    vc = _validation_context(trust_roots)
    try:
        st = asyncio.run(
            async_validate_detached_cms(data, signed_data, signer_validation_context=vc)
        )
    except Exception:
        logging.getLogger(__name__).exception("validating a detached CMS signature failed")
        return CmsResult(False, False, None, None, "Không kiểm tra được chữ ký .p7s.")
    valid = bool(st.intact and st.valid)
    trusted = bool(valid and st.trusted)
    if not valid:
        msg = "Chữ ký .p7s không khớp với tệp: tệp đã bị thay đổi sau khi ký."
    elif not trusted:
        msg = "Chữ ký .p7s đúng nhưng chứng thư số không thuộc tổ chức chứng thực được tin cậy."
    else:
        msg = "Chữ ký .p7s hợp lệ và chứng thư số được tin cậy."
    cn = cert_common_name(st.signing_cert) if st.signing_cert else None
    fp = cert_fingerprint(st.signing_cert) if st.signing_cert else None
    return CmsResult(valid, trusted, cn, st.signer_reported_dt, msg, cert_sha256=fp)
