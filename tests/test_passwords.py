"""Password policy: length, common passwords, username; on change, create-user; not at login."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import select

from danvan.extensions import db
from danvan.models import User
from danvan.passwords import (
    COMMON_PASSWORDS_FILE,
    HAS_USERNAME,
    TOO_COMMON,
    TOO_LONG,
    TOO_SHORT,
    check_password_policy,
    common_passwords,
)
from danvan.seed import DEMO_PASSWORD
from tests.factories import PASSWORD


@pytest.mark.parametrize(
    "password",
    [
        "12345678",
        "123456789",
        "1234567890",
        "0987654321",
        "1111111111",
        "abcdefghijk",
        "qwertyuiop",
        "matkhau123",
        "MatKhau123",
        "Mật khẩu 123",
        "matkhau2024",
        "anhyeuem",
        "anhyeuem1990",
        "Anh Yêu Em!!",
        "123456789a",
        "a123456789",
        "Password123",
        "P@ssw0rd2023",
        "iloveyou2023",
        "2023vietnam",
        "emyeuanh123456",
        "danvan2023",
        "danvan2024",
        "SoXayDung2023",
        "abababababab",
    ],
)
def test_common_and_trivial_passwords_are_refused(password):
    assert TOO_COMMON in check_password_policy(password, "cv.a"), password


@pytest.mark.parametrize(
    "password",
    [
        "mat-khau-moi-1",
        "Hoa sen nở giữa hồ 2023",
        "con mèo trèo cây cau",
        "tôi đi làm lúc 7 giờ",
        "matkhau83920174",  # a common word with long random digits is not a pattern
        "xe đạp màu xanh lá",
        "Cv-hn-7392-qlxd!",
    ],
)
def test_good_passwords_pass(password):
    assert check_password_policy(password, "tp.a") == []


def test_each_rule_has_its_own_vietnamese_message():
    assert check_password_policy("123", None) == [TOO_SHORT, TOO_COMMON]
    assert check_password_policy("x" * 129, None) == [TOO_LONG, TOO_COMMON]
    assert check_password_policy("cv.qlxd-hoa-sen", "cv.qlxd") == [HAS_USERNAME]
    assert check_password_policy("CVQLXD hoa sen no", "cv.qlxd") == [HAS_USERNAME]
    assert check_password_policy("cv.qlxd", "cv.qlxd") == [TOO_SHORT, HAS_USERNAME]
    for message in (TOO_SHORT, TOO_LONG, TOO_COMMON, HAS_USERNAME):
        assert unicodedata.is_normalized("NFC", message) and "ậ" in message or "ự" in message


def test_short_usernames_do_not_refuse_everything():
    assert check_password_policy("hoa sen nở giữa hồ", "an") == []


def test_the_shipped_list_is_large_and_has_vietnamese_favourites():
    lines = [
        line
        for line in COMMON_PASSWORDS_FILE.read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert len(lines) >= 300
    assert {"matkhau123", "anhyeuem", "123456789a", "12345678"} <= common_passwords()


# --- where the policy applies ---


def change(client, new, current=PASSWORD):
    return client.post("/doi-mat-khau", data={"current": current, "new": new, "confirm": new})


def test_change_password_applies_the_policy(world, login):
    client = login(world.staff_a)
    page = change(client, "12345678").get_data(as_text=True)
    assert TOO_SHORT in page and TOO_COMMON in page
    assert HAS_USERNAME in change(client, "cv.a-hoa-sen-no").get_data(as_text=True)
    assert TOO_COMMON in change(client, "matkhau2024").get_data(as_text=True)
    # A wrong current password is said at the same time as the policy's messages.
    page = change(client, "123", current="sai").get_data(as_text=True)
    assert "Mật khẩu hiện tại không đúng." in page and TOO_SHORT in page
    db.session.expire_all()
    assert db.session.get(User, world.staff_a.id).check_password(PASSWORD)  # unchanged
    response = change(client, "hoa sen nở giữa hồ")
    assert response.status_code == 302
    assert db.session.get(User, world.staff_a.id).check_password("hoa sen nở giữa hồ")


def test_policy_applies_when_setting_not_at_login(world, client):
    # The demo password is refused as a new password, yet existing accounts still log in with it.
    assert TOO_COMMON in check_password_policy(DEMO_PASSWORD, "cv.qlxd")
    user = db.session.get(User, world.staff_a.id)
    user.set_password(DEMO_PASSWORD)
    db.session.commit()
    response = client.post("/dang-nhap", data={"username": "cv.a", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_create_user_refuses_a_bad_password(app, world):
    runner = app.test_cli_runner()
    args = ["danvan", "create-user", "cv.moi", "--full-name", "Cán bộ mới", "--unit", "QLXD"]
    result = runner.invoke(args=[*args, "--password", "12345678"])
    assert result.exit_code != 0
    assert "Mật khẩu không đạt yêu cầu" in result.output and TOO_SHORT in result.output
    result = runner.invoke(args=[*args, "--password", "cv.moi-hoa-sen"])
    assert result.exit_code != 0 and HAS_USERNAME in result.output
    assert db.session.scalar(select(User).where(User.username == "cv.moi")) is None

    nfd = unicodedata.normalize("NFD", " hoa sen nở giữa hồ ")
    result = runner.invoke(args=[*args, "--role", "staff", "--password", nfd])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == "cv.moi"))
    assert user.check_password("hoa sen nở giữa hồ")  # what the login form passes on
    client = app.test_client()
    response = client.post("/dang-nhap", data={"username": "cv.moi", "password": nfd})
    assert response.status_code == 302

    result = runner.invoke(args=[*args, "--password", "hoa sen nở giữa hồ"])
    assert result.exit_code != 0 and "đã có" in result.output
