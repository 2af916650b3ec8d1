"""Time the document pipeline: docx → PDF/A, signer and agency signatures, validation, CMS.

Run from the project root: `python bench/bench_signing.py [--repeat 3] [--paragraphs 6]`.
The sample .docx comes from the test fixtures (tests/documents/conftest.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from danvan.demo import artwork  # noqa: E402
from danvan.demo.pki import make_demo_pki  # noqa: E402
from danvan.documents import images, pdf, pki, signing  # noqa: E402

T = TypeVar("T")


def _fixtures():
    path = ROOT / "tests" / "documents" / "conftest.py"
    spec = importlib.util.spec_from_file_location("danvan_document_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(label: str, repeat: int, fn: Callable[[], T]) -> T:
    """Run `fn` `repeat` times, print the median and best time, return the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    print(f"{label:<34} median {statistics.median(times):7.3f} s   best {min(times):7.3f} s")
    return result


def main() -> None:
    """Benchmark entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paragraphs", type=int, default=6, help="body paragraphs in the .docx")
    args = parser.parse_args()
    fx = _fixtures()

    # A fresh font cache shows the one-off cost of rescaling the stamp font.
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DANVAN_FONT_CACHE"] = cache
        images._STAMP_FONT_CACHE.clear()
        timed("stamp font rescale (cold, once)", 1, images.stamp_font_path)

        demo = timed(
            "make_demo_pki (CA + 3 RSA-2048)",
            1,
            lambda: make_demo_pki(agency_name=fx.AGENCY, people=fx._people(), password=fx.PASSWORD),
        )
        docx = fx.build_sample_docx(body_paragraphs=args.paragraphs)
        if not pdf.libreoffice_available():
            print("LibreOffice (soffice) chưa được cài: bỏ qua các bước PDF.")
            return
        source = timed("docx_to_pdf (PDF/A-3b)", args.repeat, lambda: pdf.docx_to_pdf(docx))
        print(f"{'':<34} {pdf.page_count(source)} page(s), {len(source) / 1024:.0f} KiB")
        sig_png = artwork.make_signature_png(fx.DIRECTOR_NAME)
        seal_png = artwork.make_seal_png("Sở Xây dựng", "UBND tỉnh Hà Nam")
        director, agency = demo.signer("director"), demo.signer("agency")

        signed = timed(
            "sign_by_signer",
            args.repeat,
            lambda: signing.sign_by_signer(
                source,
                signer=director,
                signature_png=sig_png,
                docx=docx,
                docx_name="05-BC-SXD.docx",
                signer_name=fx.DIRECTOR_NAME,
                reason="Phê duyệt báo cáo",
                location="Hà Nam",
            ),
        )
        final = timed(
            "sign_by_agency",
            args.repeat,
            lambda: signing.sign_by_agency(
                signed,
                signer=agency,
                seal_png=seal_png,
                number_symbol=fx.NUMBER_SYMBOL,
                signed_at=fx.AGENCY_SIGNED_AT,
                location="Hà Nam",
            ),
        )
        results = timed(
            "validate_pdf (2 signatures)",
            args.repeat,
            lambda: signing.validate_pdf(final, [demo.ca_cert]),
        )
        print(f"{'':<34} {[r.summary for r in results]}")
        key, cert, others = pki.load_pkcs12_key(demo.pkcs12["director"], demo.password)
        p7s = timed(
            "cms_sign_detached",
            args.repeat,
            lambda: signing.cms_sign_detached(docx, key=key, cert=cert, extra_certs=others),
        )
        timed(
            "verify_cms_detached",
            args.repeat,
            lambda: signing.verify_cms_detached(docx, p7s, [demo.ca_cert]),
        )


if __name__ == "__main__":
    main()
