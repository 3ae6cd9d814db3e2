"""A failing request logs no password, hash, code, token, secret or address (README:
"Passwords, codes, tokens and secrets are never logged").

A database error's text quotes the statement's bound parameters, and PostgreSQL's DETAIL
quotes the failing row; a 5xx logs the error.  These tests make sign-up fail inside the
database, with real commits on the app's own engine (``committed_db``), and read every
line logged: pytest's capture and a handler formatting as the production one does.
"""

from __future__ import annotations

import io
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from idp.users import passwords
from idp.users import services as users
from tests.helpers import csrf_of

EMAIL = "leak-check@example.com"
PASSWORD = "Hostile-Passw0rd-zq"
CODE = 424242  # the verification code sign-up draws (secrets.randbelow, patched)


@pytest.fixture
def logged(caplog):
    """Everything logged while the test runs, as text (records with their tracebacks)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # what the app's stderr handler would write
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="idp")
    yield lambda: caplog.text + stream.getvalue()
    root.removeHandler(handler)


def failing(statement_prefix: str):
    """Make the database refuse statements starting with ``statement_prefix`` (the table
    renamed to one that does not exist): a real driver error, with the real parameters."""

    def rewrite(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(statement_prefix):
            statement = statement.replace(statement_prefix, statement_prefix.strip() + "_gone ", 1)
        return statement, parameters

    return rewrite


@pytest.fixture
def hashes(monkeypatch):
    """The argon2 hashes computed during the test."""
    made = []
    real = passwords.hash_password

    def spy(password):
        made.append(real(password))
        return made[-1]

    monkeypatch.setattr(passwords, "hash_password", spy)
    return made


@pytest.fixture
def break_statement():
    """``break_statement(prefix)``: statements starting with it fail until the test ends."""
    installed = []

    def install(prefix: str):
        listener = failing(prefix)
        sa.event.listen(Engine, "before_cursor_execute", listener, retval=True)
        installed.append(listener)

    yield install
    for listener in installed:
        sa.event.remove(Engine, "before_cursor_execute", listener)


FAILURES = {
    # The account's INSERT fails: its parameters are the email, the hash, the sub.
    "user-insert": "INSERT INTO users ",
    # The verification code's INSERT fails: its parameters hold the code's digest.
    "code-insert": "INSERT INTO email_verifications ",
}


@pytest.mark.postgres
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_failed_sign_up_logs_no_secret(
    app, client, committed_db, logged, hashes, break_statement, monkeypatch, failure
):
    monkeypatch.setattr(users.secrets, "randbelow", lambda n: CODE)
    page = client.get("/signup")
    csrf = csrf_of(page.data)
    break_statement(FAILURES[failure])

    form = {"email": EMAIL, "password": PASSWORD, "display_name": "Leo", "csrf_token": csrf}
    response = client.post("/signup", data=form)

    assert response.status_code == 500
    assert b"Traceback" not in response.data and PASSWORD.encode() not in response.data
    text = logged()
    assert "unhandled error" in text  # the failure itself was logged
    assert hashes, "sign-up never hashed the password: the failure came too early"
    secrets_seen = {
        "password": PASSWORD,
        "email": EMAIL,
        "argon2 hash": "$argon2",
        "code": str(CODE),
        "code digest": users._digest(f"{CODE:06d}"),
        "CSRF token": csrf,
        "SECRET_KEY": app.config["SECRET_KEY"],
        **{f"hash {n}": h for n, h in enumerate(hashes)},
    }
    leaked = [name for name, value in secrets_seen.items() if value in text]
    assert leaked == [], text


@pytest.mark.postgres
def test_database_errors_never_quote_bound_parameters(app, db, committed_db):
    """The engine itself hides them (``hide_parameters``), for any logger or handler."""
    with pytest.raises(sa.exc.DBAPIError) as raised:
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE x = :p"), {"p": PASSWORD})
    db.session.rollback()
    assert PASSWORD not in str(raised.value)
    assert "hidden" in str(raised.value)


@pytest.mark.postgres
def test_a_refused_row_is_logged_without_its_values(make_app, logged):
    """PostgreSQL's DETAIL ("Failing row contains ...") quotes every column, hash and
    address included, and the harness's own engine does not hide parameters: the error
    handler alone must keep both out of the log."""
    from idp.core.db_types import utcnow
    from idp.core.extensions import db
    from idp.users.models import User

    node = make_app()
    with node.app_context():
        digest = passwords.hash_password(PASSWORD)

    def refused_row():
        now = utcnow()
        db.session.add(
            User(
                sub="s" * 16,
                email=EMAIL,
                password_hash=digest,
                display_name="Leo",
                user_type="customer",
                disabled=False,
                email_verified=False,
                created_at=None,
                password_changed_at=now,
            )
        )
        db.session.flush()

    node.add_url_rule("/test-refused-row", view_func=refused_row)
    response = node.test_client().get("/test-refused-row")

    assert response.status_code == 500
    text = logged()
    assert "IntegrityError" in text and "users" in text  # logged, usefully
    assert EMAIL not in text and digest not in text and "$argon2" not in text, text
