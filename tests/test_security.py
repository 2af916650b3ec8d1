"""Bad input: uploads, CSRF, oversized bodies, login throttling, sessions, configuration."""

from __future__ import annotations

import io
import zipfile

import pytest

from danvan import create_app
from danvan.config import ConfigError
from danvan.extensions import db
from danvan.models import Attachment, Entry
from danvan.operations import entries as ops
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def office_file(kind: str, macro: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
        if macro:
            zf.writestr("word/vbaProject.bin", b"\x00")
    return buf.getvalue()


@pytest.fixture
def draft(world):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    return entry


def upload(client, entry, *files):
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(
        f"/hoat-dong/{entry.id}/minh-chung",
        data=data,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_allowed_uploads_are_stored_once_by_content(world, login, draft):
    client = login(world.staff_a)
    page = upload(
        client,
        draft,
        ("ảnh hội nghị.png", PNG),
        ("bien-ban.pdf", PDF),
        ("ket-qua.docx", office_file("docx")),
        ("so-lieu.xlsx", office_file("xlsx")),
        ("ban-sao.png", PNG),
    ).get_data(as_text=True)
    assert "Đã tải lên 5 tệp minh chứng cho hồ sơ" in page
    names = [a.filename for a in db.session.get(Entry, draft.id).attachments]
    assert names == [
        "ảnh hội nghị.png",
        "bien-ban.pdf",
        "ket-qua.docx",
        "so-lieu.xlsx",
        "ban-sao.png",
    ]
    assert len({a.blob_sha256 for a in db.session.get(Entry, draft.id).attachments}) == 4
    attachment = db.session.get(Entry, draft.id).attachments[1]
    response = client.get(f"/hoat-dong/{draft.id}/minh-chung/{attachment.id}")
    assert response.data == PDF and response.mimetype == "application/pdf"
    assert "sandbox" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 100, "không phải định dạng được phép"),
        (
            "hinh.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "không phải định dạng được phép",
        ),
        ("trang.html", b"<html><script>alert(1)</script></html>", "không phải định dạng được phép"),
        ("anh.pdf", PNG, "không khớp với nội dung thật"),
        ("macro.docx", office_file("docx", macro=True), "chứa macro"),
        ("rong.png", b"", "rỗng"),
    ],
)
def test_disguised_or_dangerous_uploads_are_refused(world, login, draft, name, content, message):
    client = login(world.staff_a)
    page = upload(client, draft, (name, content)).get_data(as_text=True)
    assert message in page
    assert db.session.query(Attachment).count() == 0


def test_upload_limits(world, login, draft, app):
    app.config.update(UPLOAD_MAX_BYTES=1000, UPLOAD_MAX_FILES=2)
    client = login(world.staff_a)
    page = upload(client, draft, ("lon.png", PNG + b"\x00" * 2000)).get_data(as_text=True)
    assert "vượt quá dung lượng cho phép" in page
    upload(client, draft, ("1.png", PNG), ("2.png", PNG), ("3.png", PNG))
    assert db.session.query(Attachment).count() == 2


def test_oversized_request_is_413_in_vietnamese_and_keeps_the_entry(world, login, draft, app):
    client = login(world.staff_a)
    upload(client, draft, ("giu-lai.png", PNG))
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = client.post(
        f"/hoat-dong/{draft.id}/minh-chung",
        data={"files": [(io.BytesIO(PNG + b"\x00" * 50_000), "to.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "vượt quá dung lượng cho phép" in text and "Quay lại hồ sơ" in text
    entry = db.session.get(Entry, draft.id)
    assert [a.filename for a in entry.attachments] == ["giu-lai.png"]
    assert entry.title == "Hội nghị tuyên truyền công tác dân vận"


def test_missing_csrf_token_is_400_in_vietnamese(world, app_config, draft):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login_page = client.get("/dang-nhap").get_data(as_text=True)
    response = client.post("/dang-nhap", data={"username": "cv.a", "password": PASSWORD})
    assert response.status_code == 400
    assert "thiếu mã bảo mật CSRF" in response.get_data(as_text=True)
    token = csrf_token_from(login_page)
    response = client.post(
        "/dang-nhap", data={"username": "cv.a", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    response = client.post(
        f"/hoat-dong/{draft.id}/thao-tac/submit",
        data={"version": draft.version, "csrf_token": "sai"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Entry, draft.id).state == "draft"


def test_login_throttled_after_five_failures(world, client):
    for _ in range(5):
        response = client.post("/dang-nhap", data={"username": "cv.a", "password": "sai"})
        assert response.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    response = client.post("/dang-nhap", data={"username": "cv.a", "password": PASSWORD})
    assert response.status_code == 429
    assert "đăng nhập sai quá nhiều lần" in response.get_data(as_text=True)
    # Another account is not locked by these failures.
    response = client.post("/dang-nhap", data={"username": "tp.a", "password": PASSWORD})
    assert response.status_code == 302


def test_remember_me_and_logout(world, client):
    response = client.post(
        "/dang-nhap", data={"username": "cv.a", "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") and "HttpOnly" in c for c in cookies)
    assert client.get("/viec-can-xu-ly").status_code == 200
    client.post("/dang-xuat")
    assert client.get("/viec-can-xu-ly").status_code == 302


def test_change_password_ends_other_sessions(world, app, login):
    first = login(world.staff_a)
    second = app.test_client()
    second.post("/dang-nhap", data={"username": "cv.a", "password": PASSWORD})
    response = first.post(
        "/doi-mat-khau",
        data={"current": PASSWORD, "new": "mat-khau-moi-1", "confirm": "mat-khau-moi-1"},
    )
    assert response.status_code == 302
    assert first.get("/viec-can-xu-ly").status_code == 200
    assert second.get("/viec-can-xu-ly").status_code == 302  # its session is no longer valid
    page = first.post(
        "/doi-mat-khau", data={"current": "sai", "new": "abcdefgh1", "confirm": "abcdefgh1"}
    ).get_data(as_text=True)
    assert "Mật khẩu hiện tại không đúng." in page


def test_demo_accounts_listed_only_in_demo_mode(world, app_config):
    normal = create_app(app_config).test_client().get("/dang-nhap").get_data(as_text=True)
    assert "Tài khoản demo" not in normal and "cv.a" not in normal
    demo = create_app({**app_config, "DEMO_MODE": True}).test_client()
    page = demo.get("/dang-nhap").get_data(as_text=True)
    assert "Tài khoản demo" in page and "cv.a" in page


def test_secret_key_required_outside_demo_mode(app_config):
    config = {k: v for k, v in app_config.items() if k not in ("SECRET_KEY", "TESTING")}
    with pytest.raises(ConfigError, match="Thiếu SECRET_KEY"):
        create_app(config)


def test_unknown_config_key_is_refused(app_config, tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("SECRET_KEY = 'x'\nSESION_COOKIE_SECURE = False\n")
    monkeypatch.setenv("DANVAN_INSTANCE_PATH", str(tmp_path))
    config = {k: v for k, v in app_config.items() if k != "IGNORE_INSTANCE_CONFIG"}
    with pytest.raises(ConfigError, match="SESION_COOKIE_SECURE"):
        create_app(config)


def test_cookies_are_secure_by_default(app_config):
    config = {k: v for k, v in app_config.items() if "COOKIE" not in k}
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"]
