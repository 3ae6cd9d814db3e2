"""The authorization endpoint (RFC 6749 section 3.1, OIDC Core section 3.1.2).

Decides, for a validated request, whether the browser must sign in, sign up, verify its
address, consent, visit a detour (``next=``), or gets its code now.  The pages are the
UI's: sign-in, sign-up and detours are URLs the browser is sent to, the consent form is
shown here through the renderer the pages package registers (``interaction``).  Errors
that cannot be trusted to go back to the app (unknown client, redirect URI mismatch) are
raised and shown on our own page (RFC 6749 section 4.1.2.1).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)
from flask import redirect, request, url_for

from idp.core.extensions import csrf
from idp.users import factors, sessions
from idp.users import services as users

from . import interaction, services
from .constants import ACCEPTED_PROMPTS
from .errors import UntrustedAuthorizationRequest
from .server import authorization_server, error_redirect
from .services import Subject, epoch


@csrf.exempt
def authorize():
    """OIDC Core section 3.1.2.1: GET and POST are both authorization requests.  A POST
    that carries a consent decision is a form of ours and must pass CSRF; any other
    POST is an app's request, answered as the same request by GET so every detour
    (sign-in, consent, purchase) resumes it from the query string."""
    if request.method == "POST":
        if "decision" not in request.form:
            params = [*request.args.items(multi=True), *request.form.items(multi=True)]
            return redirect(
                url_for("oauth2_browser.authorize_endpoint") + "?" + urlencode(params), 303
            )
        csrf.protect()
    server = authorization_server()
    subject = _subject()
    try:
        grant = _validated(server, subject)
        return _decide(server, grant, subject, _prompts(grant))
    except OAuth2Error as error:
        if error.redirect_uri:
            error.state = request.values.get("state")
            return error_redirect(error)
        raise UntrustedAuthorizationRequest.of(error) from None


def _subject() -> Subject | None:
    """Who this browser's SSO session signs in, if anyone."""
    found = sessions.current()
    if found is None:
        return None
    session, user = found
    return Subject(user.id, user.sub, session.auth_time, session.id, session.amr, session.acr)


def _validated(server, subject: Subject | None):
    """Authlib's validated grant for this request (client, redirect URI, scope, PKCE)."""
    try:
        grant = server.get_consent_grant(end_user=subject)
    except OAuth2Error as error:
        # Parameters sent inside a request object look missing; say why instead.
        if error.redirect_uri:
            _refuse_request_objects(error.redirect_uri)
        raise
    _refuse_request_objects(grant.redirect_uri)
    return grant


def _refuse_request_objects(redirect_uri: str) -> None:
    """OIDC Core section 6: ``request`` and ``request_uri`` are not supported (discovery
    says so), so a request carrying one is refused rather than served without it.  Only
    called once the client and redirect URI are validated: the error goes to the app.
    A parameter sent without a value counts as omitted (RFC 6749 section 3.1)."""
    if request.values.get("request"):
        raise RequestNotSupportedError(
            "request objects are not supported", redirect_uri=redirect_uri
        )
    if request.values.get("request_uri"):
        raise RequestURINotSupportedError("request_uri is not supported", redirect_uri=redirect_uri)


def _prompts(grant) -> set[str]:
    """OIDC Core section 3.1.2.1: ``prompt`` is a set of known values; ``none`` stands
    alone."""
    prompts = set((grant.request.payload.data.get("prompt") or "").split())
    unknown = prompts - ACCEPTED_PROMPTS
    if unknown or ("none" in prompts and len(prompts) > 1):
        raise InvalidRequestError("invalid prompt value", redirect_uri=grant.redirect_uri)
    return prompts


def _decide(server, grant, subject: Subject | None, prompts: set[str]):
    """The next step of this request: a page the browser must visit, or the answer."""
    if subject is None or "login" in prompts or "create" in prompts or _too_old(grant, subject):
        return _sign_in(grant, prompts)
    user = users.get(subject.user_id)
    if not user.email_verified:
        _no_page_allowed(grant, prompts, LoginRequiredError)
        return redirect(
            url_for("pages.verify", return_to=_resume_url(), client_id=grant.client.client_id)
        )
    wanted = _wanted_acr(grant)
    if wanted and not factors.satisfies(subject.acr, wanted):
        # A stronger sign-in than this session's: its second factor first (step-up).
        _no_page_allowed(grant, prompts, InteractionRequiredError)
        return redirect(
            url_for(
                "pages.second_factor", return_to=_resume_url(), client_id=grant.client.client_id
            )
        )
    scope = grant.request.scope
    if "consent" in prompts or services.needs_consent(user.id, grant.client, scope):
        _no_page_allowed(grant, prompts, ConsentRequiredError)
        decision = request.form.get("decision") if request.method == "POST" else None
        if decision is None:
            return interaction.show(
                interaction.CONSENT, client=grant.client, user=user, scope=scope
            )
        if decision != "allow":
            return server.create_authorization_response(grant=grant, grant_user=None)
        services.grant_consent(user.id, grant.client.client_id, scope)
    detour = interaction.detour(grant.request.payload.data.get("next"))
    if detour is not None and "none" not in prompts:
        # The detour is a page; prompt=none (OIDC Core section 3.1.2.1) forbids any.
        return redirect(detour(grant.client.client_id, _resume_url(drop_params={"next"})))
    return server.create_authorization_response(grant=grant, grant_user=subject)


def _no_page_allowed(grant, prompts: set[str], error) -> None:
    """OIDC Core section 3.1.2.6: under ``prompt=none`` a needed page is an error."""
    if "none" in prompts:
        raise error(redirect_uri=grant.redirect_uri)


def _sign_in(grant, prompts: set[str]):
    """To the sign-in (or, for ``prompt=create``, sign-up) page, then back here."""
    _no_page_allowed(grant, prompts, LoginRequiredError)
    page = "pages.signup" if "create" in prompts else "pages.login"
    return redirect(
        url_for(
            page,
            return_to=_resume_url(drop_prompts={"login", "create"}),
            client_id=grant.client.client_id,
            login_hint=grant.request.payload.data.get("login_hint") or None,
        )
    )


def _wanted_acr(grant) -> str | None:
    """The level this request needs: two factors when the app requires them (its
    ``require_mfa`` setting) or ``acr_values`` names that level (OIDC Core section
    3.1.2.1; other values are voluntary and ignored); None when any sign-in will do."""
    requested = (grant.request.payload.data.get("acr_values") or "").split()
    if grant.client.require_mfa or factors.ACR_2FA in requested:
        return factors.ACR_2FA
    return None


def _too_old(grant, subject: Subject) -> bool:
    """OIDC ``max_age``: the last sign-in must be at most that many seconds ago."""
    raw = grant.request.payload.data.get("max_age")
    if raw is None:
        return False
    try:
        max_age = int(raw)
    except ValueError:
        raise InvalidRequestError(
            "max_age must be an integer", redirect_uri=grant.redirect_uri
        ) from None
    return time.time() - epoch(subject.auth_time) > max(max_age, 0)


def _resume_url(drop_prompts: set[str] = frozenset(), drop_params: set[str] = frozenset()) -> str:
    """This authorization request again, minus what the detour satisfies (so no loop)."""
    params = []
    for key, value in request.args.items(multi=True):
        if key in drop_params:
            continue
        if key == "prompt":
            value = " ".join(p for p in value.split() if p not in drop_prompts)
            if not value:
                continue
        if key == "max_age" and drop_prompts:
            continue  # the fresh sign-in satisfies it
        params.append((key, value))
    return url_for("oauth2_browser.authorize_endpoint") + "?" + urlencode(params)
