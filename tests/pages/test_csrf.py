"""Every form on the hosted pages refuses a missing or foreign CSRF token, and does nothing."""

import pytest
from sqlalchemy import func, select

from idp.audit.models import AuditEvent
from idp.oauth2.models import AuthorizationCode, Consent
from idp.users import services as users
from idp.users.models import CrossAppSession, EmailVerification, User
from tests.helpers import PASSWORD, Browser, authorize_url, csrf_of, mail_code, pkce_pair
from tests.pages.flows import cool_down, sign_up
from tests.pages.html import alerts

MESSAGE = (
    "For your safety, the form you sent had expired or came from another site, so nothing "
    "was changed. Open it again and send it once more. Technical details "
    "Error code: csrf_failed"
)


class Scene:
    """A signed-in browser (or one that just signed up) and what each form would change."""

    def __init__(self, app, db, user, apps, mailbox):
        self.app, self.db, self.user, self.apps, self.mailbox = app, db, user, apps, mailbox
        self.http = app.test_client()

    def sign_in(self):
        assert Browser(self.http).login().status_code == 302

    def snapshot(self) -> dict:
        """Everything a form could change."""
        db = self.db
        db.session.rollback()
        return {
            "users": [
                (u.email, u.password_hash, u.display_name, u.email_verified)
                for u in db.session.scalars(select(User).order_by(User.id))
            ],
            "live sessions": db.session.scalar(
                select(func.count()).where(CrossAppSession.revoked_at.is_(None))
            ),
            "consents": db.session.scalar(select(func.count()).select_from(Consent)),
            "codes": db.session.scalar(select(func.count()).select_from(AuthorizationCode)),
            "verifications": [
                (v.attempts, v.consumed_at) for v in db.session.scalars(select(EmailVerification))
            ],
            "mails": len(self.mailbox.messages),
            "audit": db.session.scalar(select(func.count()).select_from(AuditEvent)),
            "account page": self.http.get("/account").status_code,
        }


def _login(scene):
    return "/login", {"email": "ada@example.com", "password": PASSWORD}


def _signup(scene):
    return "/signup", {"email": "new@example.com", "password": PASSWORD}


def _verify(scene):
    sign_up(scene.http, "new@example.com")
    return "/verify", {"action": "verify", "code": mail_code(scene.mailbox)}


def _resend(scene):
    sign_up(scene.http, "new@example.com")
    cool_down(scene.db)
    return "/verify", {"action": "resend"}


def _forgot(scene):
    return "/forgot", {"email": "ada@example.com"}


def _reset(scene):
    links = []
    users.request_reset("ada@example.com", links.append)
    return f"/reset/{links[0]}", {"password": "a brand new passphrase"}


def _profile(scene):
    scene.sign_in()
    return "/account/profile", {"display_name": "Mallory"}


def _password(scene):
    scene.sign_in()
    return "/account/password", {"current_password": PASSWORD, "new_password": "owned owned owned"}


def _revoke_app(scene):
    scene.sign_in()
    from idp.oauth2 import services as oauth_services

    scene.apps.create(
        client_id="shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid",
        audience="https://shop.example",
    )
    oauth_services.grant_consent(scene.user.id, "shop", "openid")
    return "/account/apps/shop/revoke", {}


def _everywhere(scene):
    scene.sign_in()
    return "/account/sign-out-everywhere", {}


def _logout(scene):
    scene.sign_in()
    return "/logout", {}


def _consent(scene):
    scene.sign_in()
    scene.apps.create(
        client_id="shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid profile",
        audience="https://shop.example",
    )
    url = authorize_url("shop", "https://shop.example/cb", "openid profile", pkce_pair()[1])
    assert scene.http.get(url).status_code == 200  # the consent page
    return url, {"decision": "allow"}


def _rp_logout(scene):
    scene.sign_in()
    return "/oauth/logout", {}


FORMS = {
    "login": _login,
    "signup": _signup,
    "verify": _verify,
    "verify resend": _resend,
    "forgot": _forgot,
    "reset": _reset,
    "account profile": _profile,
    "account password": _password,
    "account revoke app": _revoke_app,
    "account sign out everywhere": _everywhere,
    "logout": _logout,
    "consent": _consent,
    "rp-initiated logout": _rp_logout,
}


def _foreign_token(scene) -> str:
    """A genuine token, but of another browser's session."""
    return csrf_of(scene.app.test_client().get("/login").data)


TOKENS = {
    "missing": lambda scene: None,
    "empty": lambda scene: "",
    "wrong": lambda scene: "not-a-token",
    "another browser's": _foreign_token,
}


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("form", FORMS)
def test_form_refuses_a_bad_csrf_token(app, db, user, apps, mailbox, form, token):
    scene = Scene(app, db, user, apps, mailbox)
    url, data = FORMS[form](scene)
    scene.http.get("/login")  # the browser holds a CSRF session of its own
    value = TOKENS[token](scene)
    if value is not None:
        data["csrf_token"] = value
    before = scene.snapshot()

    response = scene.http.post(url, data=data)

    assert response.status_code == 400
    assert alerts(response) == [MESSAGE]
    assert scene.snapshot() == before


@pytest.mark.parametrize("form", FORMS)
def test_the_same_form_with_its_token_works(app, db, user, apps, mailbox, form):
    """The control: each form above does change something when the token is right."""
    scene = Scene(app, db, user, apps, mailbox)
    url, data = FORMS[form](scene)
    before = scene.snapshot()
    page = scene.http.get("/login")

    response = scene.http.post(url, data={**data, "csrf_token": csrf_of(page.data)})

    assert response.status_code in (200, 302), response.data[:300]
    assert scene.snapshot() != before
