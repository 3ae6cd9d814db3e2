"""Deleting an account: the row is anonymised, never removed.

The row stays because what refers to it must stay: ledger entries are append-only and
``wallets.user_id`` is ``ON DELETE RESTRICT``, and the audit log keeps its events.  What
made it a person's goes: the address, the name, the password, the subject identifier
partners knew it by, every session and refresh token, pending codes and reset links.

Packages above this one say what deleting does to what they hold (the wallet: its
remaining credits) through :func:`register_deletion_step`: ``describe`` tells the person
before they confirm, ``perform`` does it, before the account is anonymised.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import current_app
from sqlalchemy import delete

from idp.audit import services as audit
from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import passwords
from .access import ACCOUNT_DELETED as ACCESS_ENDED_BY_DELETION
from .access import end_all_access
from .errors import DeletionRefused
from .models import EmailVerification, PasswordReset, User

ACCOUNT_DELETED = "account.deleted"
# Addresses of deleted accounts: ``.invalid`` can never receive mail (RFC 2606).
DELETED_DOMAIN = "deleted.invalid"
_STEPS = "idp_deletion_steps"

Describe = Callable[[User], "str | None"]
Perform = Callable[[User, str], None]


def register_deletion_step(app, describe: Describe, perform: Perform) -> None:
    """``describe(user)``: a sentence saying what deleting does to what a package holds
    (None: nothing to say); ``perform(user, actor)``: doing it (it may commit).  A step
    that cannot do its part raises :class:`DeletionRefused` before it changes anything:
    the account is not deleted and the page shows the step's message."""
    app.extensions.setdefault(_STEPS, []).append((describe, perform))


def consequences(user: User) -> list[str]:
    """What deleting ``user`` does beyond this package, as the registered steps say it."""
    said = (describe(user) for describe, _ in current_app.extensions.get(_STEPS, ()))
    return [sentence for sentence in said if sentence]


def is_deleted(user: User) -> bool:
    """Whether the account was deleted (anonymised)."""
    return user.email.endswith("@" + DELETED_DOMAIN)


def delete_account(user: User, actor: str) -> None:
    """Delete ``user``'s account: run the registered steps (the wallet forfeits its
    credits, keeping its ledger), end all its access (sessions, refresh tokens), then
    anonymise the row and record ``account.deleted`` in the audit log, one commit.

    ``actor`` says who asked, for the audit record and the ledger: ``"self"`` from the
    account page, ``"operator:<name>"`` from the CLI.  No password is checked here (the
    account page asks for it before calling).  Deleting a deleted account does nothing.
    Needs an app context (and works without a request: the CLI calls it)."""
    if is_deleted(user):
        return
    try:
        for _, perform in current_app.extensions.get(_STEPS, ()):
            perform(user, actor)
    except DeletionRefused:
        db.session.rollback()  # what earlier steps left uncommitted goes too
        raise
    end_all_access(user.id, ACCESS_ENDED_BY_DELETION)
    _anonymise(user)
    audit.record(ACCOUNT_DELETED, user.id, commit=False, actor=actor)
    db.session.commit()


def _anonymise(user: User) -> None:
    now = utcnow()
    user.email = f"{secrets.token_hex(12)}@{DELETED_DOMAIN}"
    user.email_verified = False
    user.display_name = ""
    # A new subject: partners' copies of the old one no longer name anybody here.
    user.sub = secrets.token_urlsafe(16)
    # A password nobody knows, and disabled: nobody can sign in, and resets skip it.
    user.password_hash = passwords.hash_password(secrets.token_urlsafe(32))
    user.password_changed_at = now
    user.disabled = True
    user.updated_at = now
    db.session.execute(delete(EmailVerification).where(EmailVerification.user_id == user.id))
    db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
