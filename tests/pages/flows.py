"""Form submissions on the hosted pages, each as a browser makes them (page, then POST)."""

from __future__ import annotations

from tests.helpers import PASSWORD, csrf_of


def submit(http, page_url: str, action: str | None = None, **form):
    """Open ``page_url`` and post its form (with the page's CSRF token) to ``action``."""
    page = http.get(page_url)
    assert page.status_code == 200, page.data[:300]
    return http.post(
        action or page_url.split("?")[0], data={"csrf_token": csrf_of(page.data), **form}
    )


def sign_up(http, email: str, password: str = PASSWORD, display_name: str = "", **carry):
    page = http.get("/signup", query_string=carry)
    form = {
        "email": email,
        "password": password,
        "display_name": display_name,
        "csrf_token": csrf_of(page.data),
        **carry,
    }
    return http.post("/signup", data=form)


def enter_code(http, code: str, **carry):
    page = http.get("/verify", query_string=carry)
    form = {"code": code, "action": "verify", "csrf_token": csrf_of(page.data), **carry}
    return http.post("/verify", data=form)


def cool_down(db) -> None:
    """Let the resend cooldown of every code pass (as if it was mailed a while ago)."""
    from datetime import timedelta

    from sqlalchemy import select

    from idp.users.codes import RESEND_COOLDOWN_SECONDS
    from idp.users.models import EmailVerification

    for code in db.session.scalars(select(EmailVerification)):
        code.created_at -= timedelta(seconds=RESEND_COOLDOWN_SECONDS + 1)
    db.session.commit()


def resend_code(http, **carry):
    page = http.get("/verify", query_string=carry)
    return http.post(
        "/verify", data={"action": "resend", "csrf_token": csrf_of(page.data), **carry}
    )


def forgot(http, email: str):
    return submit(http, "/forgot", email=email)


def session_cookie(http, app):
    return http.get_cookie(app.config["IDP_SESSION_COOKIE"])
