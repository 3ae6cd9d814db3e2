"""A failing request logs no password, hash, code, token, secret or address (README:
"Passwords, codes, tokens and secrets are never logged").

A database error's text quotes the statement's bound parameters, and PostgreSQL's DETAIL
quotes the failing row; a 5xx logs the error.  These tests make sign-up fail inside the
database, with real commits on the app's own engine (``committed_db``), and read every
line logged: pytest's capture and a handler formatting as the production one does.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from idp.core.logs import JSONFormatter
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


# -- the whole suite's logs ----------------------------------------------------------------
# Every record the suite logs (the app's, the libraries', every test's), formatted as
# production formats it (JSON, tracebacks included), is scanned as it is written; the
# session fixture ``_suite_log_scan`` (tests/conftest.py) fails the run at its end if a
# line held a secret.  What it looks for: values the tests use as secrets, and the shapes
# secrets have whatever their value.
SECRET_SHAPES = {
    "argon2 hash": re.compile(r"\$argon2(id|i|d)\$"),
    "JWT": re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+"),
    "Stripe key or webhook secret": re.compile(r"\b(sk|rk)_(live|test)_\w{6,}|whsec_\w{6,}"),
    "Authorization credentials": re.compile(r"\b(Basic|Bearer) [\w+/=.~-]{12,}"),
    # name=value (a query or form) or "name": "value" (JSON, a dict's repr)
    "secret parameter": re.compile(
        r"\b(client_secret|refresh_token|access_token|id_token|code_verifier|password|code)"
        r"""(=|\\?["']\s*:\s*\\?["'])(?!None|null|<|\*)[\w.~+/-]{6,}"""
    ),
}
# The development server's own access lines (live-server tests) quote the path and query
# as the browser sent them; production servers run with their access log off
# (deploy/granian.env, deploy/gunicorn.conf.py) and the app's own line logs the route.
NOT_THE_APPS = ("werkzeug",)


class SuiteLogScan(logging.Handler):
    """Sees every record any logger handles during the session; keeps each offending line.

    Not a handler on the root logger: the migrations' ``fileConfig`` (migrations/env.py),
    run when the first backend is built, replaces the root logger's handlers.  So the
    scan wraps ``Logger.handle``, through which every record passes on its way to the
    handlers, wherever they are."""

    def __init__(self, known: dict[str, str]) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JSONFormatter())
        self.known = {name: value for name, value in known.items() if value}
        self.lines = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(NOT_THE_APPS):
            return
        line = self.format(record)
        self.lines += 1
        found = [name for name, value in self.known.items() if value in line]
        found += [name for name, shape in SECRET_SHAPES.items() if shape.search(line)]
        if found:
            self.leaks.append(f"{', '.join(found)}: {line[:600]}")

    @contextlib.contextmanager
    def installed(self):
        original = logging.Logger.handle
        scan = self

        def handle(logger, record):
            scan.handle(record)
            return original(logger, record)

        logging.Logger.handle = handle
        try:
            yield self
        finally:
            logging.Logger.handle = original

    def verdict(self) -> str | None:
        if not self.leaks:
            return None
        shown = "\n".join(self.leaks[:20])
        return f"{len(self.leaks)} of {self.lines} log lines held a secret:\n{shown}"


def test_the_scan_finds_each_kind_of_secret():
    """The scanner itself: each shape and each known value is found; ordinary lines pass."""
    scan = SuiteLogScan({"password": PASSWORD})
    records = {
        "argon2 hash": "stored $argon2id$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA",
        "JWT": "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl",
        "Stripe key or webhook secret": "using whsec_abcdef123456",
        "Authorization credentials": "header Basic c2hvcDpzZWNyZXQtdmFsdWU=",
        "secret parameter": 'body {"refresh_token": "r3fr3sh-value-123"}',
        "password": f"signing in with {PASSWORD}",
    }
    for message in records.values():
        scan.emit(logging.LogRecord("idp.test", logging.INFO, __file__, 1, message, (), None))
    for name, leak in zip(records, scan.leaks, strict=True):
        assert name in leak.split(":")[0]
    for harmless in (
        "GET /oauth/token 200 3.1ms",
        "audit login.failed user=3 client=None {'reason': 'bad_password'}",
        "signing key rotated: active kid=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        "stripe event evt_1 (checkout.session.completed): granted",
        "client_secret=None refresh_token=<redacted> error code: invalid_grant",
    ):
        scan.emit(logging.LogRecord("idp.test", logging.INFO, __file__, 1, harmless, (), None))
    assert len(scan.leaks) == len(records)
    assert scan.verdict().startswith(f"{len(records)} of {len(records) + 5} log lines")


def test_the_suite_scan_sees_the_app_and_libraries(_suite_log_scan, client, signing_keys):
    """After the migrations reconfigured logging: the app's lines and a library's."""
    before = _suite_log_scan.lines
    client.get("/healthz")  # the access line
    logging.getLogger("sqlalchemy.pool").warning("a library's line")
    assert _suite_log_scan.lines - before == 2
