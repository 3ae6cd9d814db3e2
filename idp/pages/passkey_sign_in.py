"""Signing in with a passkey: instead of the password (a discoverable credential names
its account; the page asks for no address and reveals none), or as the second step
after it (``idp.users.factors``: the pending sign-in, completed here)."""

from __future__ import annotations

from flask import redirect, request, session, url_for

from idp.ui.links import safe_return_to
from idp.ui.views import page
from idp.users import factors, sessions
from idp.users.passkeys import authentication
from idp.users.passkeys import services as passkeys
from idp.users.passkeys.errors import NoSecondStep

from .passkeys import api, body, json_answer
from .routes import bp

# The second step page of H20a's flow, where a sign-in that still lacks a factor goes.
SECOND_STEP_PAGE = "pages.second_factor"


@api.post("/sign-in/options")
def sign_in_options():
    """Options for a passwordless sign-in (conditional UI or the button)."""
    return json_answer(authentication.sign_in_options())


@api.post("/sign-in")
def sign_in():
    """A passkey instead of the password: its account is signed in and the browser sent
    where the sign-in page was going."""
    sent = body()
    assertion = authentication.sign_in(sent.get("credential"))
    target = safe_return_to(sent.get("return_to"))
    user = assertion.user
    if not user.email_verified:  # as after a password: the address is proved first
        session["pending_email"] = user.email
        return json_answer({"redirect": url_for("pages.verify", return_to=target)})
    if not assertion.user_verified and factors.has_second_factor(user):
        # Without user verification a passkey is one factor, like a password: an
        # account that asked for two-step verification still gets its second step.
        factors.begin_second_step(user, assertion.amr, target)
        return json_answer({"redirect": url_for(SECOND_STEP_PAGE, return_to=target)})
    authentication.record_sign_in(user)
    token = sessions.start(user, amr=assertion.amr)
    return sessions.set_cookie(json_answer({"redirect": target}), token)


@bp.get("/login/passkey")
def passkey_second_step():
    """The second step with a passkey, for the sign-in waiting in this browser."""
    user = factors.pending_user()
    if user is None:
        carry = {k: request.args.get(k) for k in ("return_to", "client_id")}
        return redirect(url_for("pages.login", **{k: v for k, v in carry.items() if v}))
    return page(
        "passkey_second_step.html",
        user=user,
        others=[f for f in factors.offered(user) if f.kind != passkeys.KIND],
        carry={k: request.args.get(k) for k in ("return_to", "client_id")},
    )


@api.post("/second-step/options")
def second_step_options():
    """Options listing the pending user's passkeys."""
    user = factors.pending_user()
    if user is None:
        raise NoSecondStep()
    return json_answer(authentication.second_step_options(user))


@api.post("/second-step")
def second_step():
    """The pending sign-in, completed by one of its user's passkeys."""
    user = factors.pending_user()
    if user is None:
        raise NoSecondStep()
    assertion = authentication.second_step(user, body().get("credential"))
    try:
        completed = factors.complete_second_step(assertion.amr)
    except LookupError:  # expired between the two reads
        raise NoSecondStep() from None
    return completed.apply(json_answer({"redirect": completed.next}))
