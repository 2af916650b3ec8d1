""" "Ký duyệt" with a USB token in Chromium: the director has a registered certificate and no
key on the server; the page waits ("Đang chờ ký bằng USB token…") and reloads by itself once
the signing agent (played here through the API) has signed. Screenshots at 1366×768 and
390×844 in test-artifacts/screenshots/."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import expect

from danvan import signature_requests as sig_ops
from danvan.api.tokens import create_token
from danvan.documents import pdf as pdfmod
from danvan.documents import pki
from danvan.extensions import db
from danvan.reports import previews
from tests.factories import require, submitted

VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}
SLOW_MS = 90_000


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_waiting_page_updates_when_the_token_signed(dept, app, key_dir, page_for, shot, viewport):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    app.config["SIGNING_CERTIFICATES"] = {
        name: {"pkcs12": str(key_dir / f"{name}.p12"), "password": "demo"}
        for name in ("deputy", "agency")
    }
    app.config["TRUST_ROOTS"] = [str(key_dir / "ca.pem")]
    key, cert, _ = pki.load_pkcs12_key((key_dir / "director.p12").read_bytes(), b"demo")
    sig_ops.register_certificate(dept.director, cert.public_bytes(Encoding.PEM))
    report = submitted(dept)
    secret = create_token(dept.director, name="danvan-sign").secret
    db.session.commit()

    width, height = VIEWPORTS[viewport]
    director = page_for(dept.director)
    director.set_viewport_size({"width": width, "height": height})
    director.goto(f"/bao-cao/{report.id}")
    director.locator("#report-actions").get_by_role("link", name="Ký duyệt").click()
    director.get_by_role("dialog").get_by_role("button", name="Ký duyệt").click(timeout=SLOW_MS)
    box = director.locator("#signature-request")
    expect(box).to_be_visible(timeout=SLOW_MS)
    expect(box).to_contain_text("Đang chờ ký bằng USB token…")
    expect(box).to_contain_text("01/BC-SXD")
    expect(box.get_by_role("button", name="Hủy yêu cầu")).to_be_visible()
    actions = director.locator("#report-actions")
    expect(actions.get_by_role("link", name="Ký duyệt")).to_have_count(0)  # not offered again
    expect(actions.locator("#signature-request-link")).to_contain_text("01/BC-SXD")
    assert director.evaluate("document.documentElement.scrollWidth") <= width
    shot(director, f"waiting-{viewport}")

    # The agent: list, read what to sign, sign on the "token", answer.
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    [item] = client.get("/api/v1/signature-requests", headers=headers).get_json()["items"]
    detail = client.get(f"/api/v1/signature-requests/{item['id']}", headers=headers).get_json()
    values = {
        t["kind"]: base64.b64encode(
            key.sign(base64.b64decode(t["data"]), padding.PKCS1v15(), hashes.SHA256())
        ).decode()
        for t in detail["to_sign"]
    }
    done = client.post(
        f"/api/v1/signature-requests/{item['id']}/signatures",
        json={"signatures": values},
        headers=headers,
    )
    assert done.status_code == 200, done.get_data(as_text=True)

    expect(box).to_be_hidden(timeout=15_000)  # the page reloaded by itself
    expect(
        director.locator("#report-actions").get_by_role("link", name="PDF đã ký")
    ).to_be_visible()
    expect(director.get_by_text("Đã ký").first).to_be_visible()
    shot(director, f"signed-{viewport}")
    previews.wait_for_renders()
