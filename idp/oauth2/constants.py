"""What this server implements, named once.  The grants, endpoints and authorization
view enforce these; discovery (``discovery.py``) advertises exactly them."""

from __future__ import annotations

from idp.apps.models import (
    CLIENT_CREDENTIALS,
    NO_AUTH,
    RESPONSE_TYPES,
    SECRET_AUTH_METHODS,
    USER_GRANT_TYPES,
)
from keys.signer import ALG

#: RFC 7518 section 3.3: every token and ID token is signed with this, and only this.
SIGNING_ALGS = (ALG,)

#: RFC 6749 section 2.3: a confidential app authenticates with its secret.
CONFIDENTIAL_AUTH_METHODS = SECRET_AUTH_METHODS
#: Endpoints a public app calls too (token, revocation): ``none`` is allowed there.
ANY_CLIENT_AUTH_METHODS = (*SECRET_AUTH_METHODS, NO_AUTH)

#: RFC 8414 section 2 (response types: the registry's, RFC 6749 section 3.1.1).
GRANT_TYPES = (*USER_GRANT_TYPES, CLIENT_CREDENTIALS)
RESPONSE_MODES = ("query",)
#: RFC 7636 section 4.2, as RFC 9700 section 2.1.1 wants it: S256 only.
CODE_CHALLENGE_METHODS = ("S256",)

#: OIDC Core section 3.1.2.1 and OIDC Initiating User Registration (``create``): the
#: ``prompt`` values discovery advertises, each honoured by the authorization view.
PROMPT_VALUES = ("none", "login", "consent", "create")
#: Accepted as well, without being advertised: ``select_account`` asks nothing of a
#: server that holds one account per browser.
ACCEPTED_PROMPTS = frozenset({*PROMPT_VALUES, "select_account"})

__all__ = [
    "ACCEPTED_PROMPTS",
    "ANY_CLIENT_AUTH_METHODS",
    "CODE_CHALLENGE_METHODS",
    "CONFIDENTIAL_AUTH_METHODS",
    "GRANT_TYPES",
    "PROMPT_VALUES",
    "RESPONSE_MODES",
    "RESPONSE_TYPES",
    "SIGNING_ALGS",
]
