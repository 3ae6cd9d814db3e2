"""The account page's signed-in devices: each with its device, IP and last sign of life,
"this device" marked, and "End" signing out that one only."""

from sqlalchemy import select

from idp.pages import devices
from idp.users.models import CrossAppSession
from tests.helpers import Browser, csrf_of
from tests.pages.flows import session_cookie
from tests.pages.html import read, text

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def signed_in_as(app, user_agent: str):
    http = app.test_client()
    http.environ_base["HTTP_USER_AGENT"] = user_agent
    assert Browser(http).login().status_code == 302
    return http


def listed(response) -> list[str]:
    return [
        li["data-session-id"] for li in read(response.data).all("li") if "data-session-id" in li
    ]


def session_ids(db) -> list[int]:
    db.session.rollback()
    rows = db.session.scalars(select(CrossAppSession).order_by(CrossAppSession.id))
    return [s.id for s in rows if s.revoked_at is None]


def test_lists_every_live_session_and_marks_this_one(app, db, user):
    phone = signed_in_as(app, IPHONE)
    desktop = signed_in_as(app, FIREFOX)

    page = desktop.get("/account")

    assert sorted(listed(page)) == [str(i) for i in session_ids(db)]
    words = text(page)
    assert "Firefox on Windows this device IP 127.0.0.1" in words
    assert "Safari on iPhone IP 127.0.0.1" in words
    assert "Sign out here" in words and "End" in words
    assert phone.get("/account").status_code == 200


def test_ending_another_session_signs_out_that_device_only(app, db, user):
    phone = signed_in_as(app, IPHONE)
    desktop = signed_in_as(app, FIREFOX)
    phone_id, desktop_id = session_ids(db)

    page = desktop.get("/account")
    response = desktop.post(
        f"/account/sessions/{phone_id}/end", data={"csrf_token": csrf_of(page.data)}
    )

    assert (response.status_code, response.headers["Location"]) == (302, "/account")
    after = desktop.get("/account")
    assert "That device is signed out." in text(after)
    assert listed(after) == [str(desktop_id)]
    assert phone.get("/account").status_code == 302


def test_ending_this_session_signs_out_here(app, db, user):
    desktop = signed_in_as(app, FIREFOX)
    (desktop_id,) = session_ids(db)
    page = desktop.get("/account")
    response = desktop.post(
        f"/account/sessions/{desktop_id}/end", data={"csrf_token": csrf_of(page.data)}
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/signed-out")
    assert session_cookie(desktop, app) is None
    assert "You are signed out in this browser." in text(desktop.get("/signed-out"))
    assert desktop.get("/account").status_code == 302


def test_someone_elses_session_cannot_be_ended(app, db, user):
    from idp.users import services as users

    users.create("grace@example.com", "another long password", verified=True)
    grace = app.test_client()
    assert (
        Browser(grace)
        .login(email="grace@example.com", password="another long password")
        .status_code
        == 302
    )
    desktop = signed_in_as(app, FIREFOX)
    grace_id = session_ids(db)[0]
    page = desktop.get("/account")
    desktop.post(f"/account/sessions/{grace_id}/end", data={"csrf_token": csrf_of(page.data)})
    assert grace.get("/account").status_code == 200


def test_device_labels():
    assert devices.label(FIREFOX) == "Firefox on Windows"
    assert devices.label(IPHONE) == "Safari on iPhone"
    chrome_mac = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
    )
    assert devices.label(chrome_mac) == "Chrome on macOS"
    assert devices.label(chrome_mac + " Edg/126.0") == "Edge on macOS"
    assert devices.label("curl/8.5.0") == "curl"
    assert devices.label("") == "Unknown device"
