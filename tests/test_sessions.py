"""Sessions end for real: logout, password change, deactivation and idle time end them on the
server, so a saved or replayed cookie stops working; the demo's secret key is random."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from danvan import create_app
from danvan.extensions import db
from danvan.models import UserSession
from danvan.text import utcnow
from tests.factories import PASSWORD


def _login(client, user, remember=False):
    data = {"username": user.username, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/dang-nhap", data=data)
    assert response.status_code == 302
    return client


def _signed_in(client) -> bool:
    return client.get("/ca-nhan").status_code == 200


def _copy(app, client, *names):
    """A second browser holding copies of the first one's cookies."""
    other = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        other.set_cookie(name, cookie.value)
    return other


def test_a_session_cookie_saved_before_logout_is_dead_after_it(app, world):
    client = _login(app.test_client(), world.staff_a)
    thief = _copy(app, client, "session")
    assert _signed_in(thief)
    client.post("/dang-xuat")
    assert not _signed_in(client)
    assert not _signed_in(thief)
    row = db.session.scalar(db.select(UserSession))
    assert row.revoked_at is not None
    assert len(row.token_hash) == 64  # only the hash is stored


def test_a_replayed_remember_me_cookie_is_dead_after_logout(app, world):
    client = _login(app.test_client(), world.staff_a, remember=True)
    replay = _copy(app, client, "remember_token")
    assert _signed_in(replay)  # remember-me works while the session lives
    client.post("/dang-xuat")
    late = app.test_client()  # a fresh browser, replaying only the saved remember-me cookie
    late.set_cookie("remember_token", replay.get_cookie("remember_token").value)
    assert not _signed_in(late)


def test_password_change_ends_every_other_session_but_this_one(app, world):
    laptop = _login(app.test_client(), world.staff_a)
    phone = _login(app.test_client(), world.staff_a, remember=True)
    response = laptop.post(
        "/doi-mat-khau",
        data={"current": PASSWORD, "new": "Hoa-sen-no-2026", "confirm": "Hoa-sen-no-2026"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _signed_in(laptop)
    assert not _signed_in(phone)


def test_logout_everywhere(app, world):
    one = _login(app.test_client(), world.staff_a)
    two = _login(app.test_client(), world.staff_a)
    response = one.post("/dang-xuat-moi-noi")
    assert response.status_code == 302
    assert not _signed_in(one) and not _signed_in(two)


def test_deactivation_ends_every_session_at_once(app, world):
    client = _login(app.test_client(), world.staff_a, remember=True)
    result = app.test_cli_runner().invoke(args=["danvan", "deactivate-user", "cv.a"])
    assert result.exit_code == 0 and "1 phiên" in result.output
    assert not _signed_in(client)


def test_idle_timeout_and_absolute_lifetime(app, world):
    client = _login(app.test_client(), world.staff_a)
    assert _signed_in(client)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - idle - timedelta(1)))
    db.session.commit()
    assert not _signed_in(client)
    # A remembered session is not idle-limited, but ends at its absolute limit.
    remembered = _login(app.test_client(), world.staff_b, remember=True)
    db.session.execute(
        update(UserSession)
        .where(UserSession.remember.is_(True))
        .values(last_seen_at=utcnow() - timedelta(days=3))
    )
    db.session.commit()
    assert _signed_in(remembered)
    db.session.execute(
        update(UserSession)
        .where(UserSession.remember.is_(True))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert not _signed_in(remembered)


def test_a_forged_cookie_without_a_live_token_gets_nowhere(app, world):
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    forged = serializer.dumps({"_user_id": f"{world.admin.id}:-", "_fresh": True})
    client = app.test_client()
    client.set_cookie("session", forged)
    assert not _signed_in(client)


def test_demo_mode_makes_a_random_secret_key_and_keeps_it(tmp_path, monkeypatch):
    keys = []
    for name in ("a", "b", "a"):
        path = tmp_path / name
        path.mkdir(exist_ok=True)
        monkeypatch.setenv("DANVAN_INSTANCE_PATH", str(path))
        app = create_app(
            {
                "DEMO_MODE": True,
                "IGNORE_INSTANCE_CONFIG": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path / 'x.sqlite3'}",
            }
        )
        keys.append(app.config["SECRET_KEY"])
        assert (path / "secret_key").stat().st_mode & 0o077 == 0
    assert keys[0] == keys[2] != keys[1]
    assert len(keys[0]) == 64 and "demo" not in keys[0]
