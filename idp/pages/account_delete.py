"""Deleting the account from the account page: what happens is stated first (the
registered deletion steps say it: the wallet's credits), the password confirms, then
``idp.users.deletion.delete_account`` and a page that says it is done."""

from __future__ import annotations

from flask import flash, get_flashed_messages, redirect, request, url_for

from idp.users import deletion, passwords, sessions
from idp.users.errors import DeletionRefused
from idp.users.sessions import signed_in_only

from . import account
from .routes import bp


def _form(user, status: int = 200, **context):
    return account.render(
        "account_delete.html",
        status,
        user=user,
        consequences=deletion.consequences(user),
        **context,
    )


@bp.get("/account/delete")
@signed_in_only
def confirm_delete(user):
    """What deleting does, and the password that confirms it."""
    return _form(user)


@bp.post("/account/delete")
@signed_in_only
def delete_account(user):
    """Delete the account (the password proves the owner), sign this browser out."""
    password = request.form.get("password")
    if not isinstance(password, str) or not passwords.verify(user.password_hash, password):
        return _form(user, 400, errors={"password": "Your password is incorrect."})
    try:
        deletion.delete_account(user, "self")
    except DeletionRefused as refused:
        return _form(user, refused.status_code, error=refused.description)
    flash("deleted", "deleted")
    return sessions.forget_cookie(redirect(url_for("pages.account_deleted")))


@bp.get("/account/deleted")
def account_deleted():
    """Says once that the account is gone; opened again, it is the sign-in page."""
    if not get_flashed_messages(category_filter=["deleted"]):
        return redirect(url_for("pages.login"))
    return account.render("account_deleted.html")
