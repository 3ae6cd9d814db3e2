"""The outbox: mail written in the request's transaction, delivered afterwards (by the
request itself in tests, a worker thread, or `flask mail send`), retried with backoff."""

import re
import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine

from idp.core import outbox
from idp.core.db_types import utcnow
from idp.core.outbox import OutboxMessage
from idp.users.models import PasswordReset
from tests.helpers import mail_link, make_user
from tests.pages.flows import forgot


@pytest.fixture
def app_settings():
    """This module's shared app only queues mail: delivery is `flask mail send`'s (its
    settings are restored after each test, so a test may point it elsewhere)."""
    return {"IDP_OUTBOX_DELIVERY": "cli"}


def statements_of(http, email: str) -> list[str]:
    """The SQL (without parameters) the POST of /forgot runs for ``email``."""
    http.get("/forgot")  # the form page's own work (CSRF session) stays out of the count
    seen = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(re.sub(r"sa_savepoint_\d+", "sa_savepoint", statement))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        assert forgot(http, email).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("other", ["nobody@example.com", "disabled@example.com"])
def test_forgot_does_the_same_work_for_any_address(app, db, user, mailbox, other):
    """Timing must not tell an account from none: the request runs the same statements
    and queues the same kind of row; only the outbox worker looks the address up."""
    make_user("disabled@example.com").disabled = True
    db.session.commit()

    known = statements_of(app.test_client(), user.email)
    unknown = statements_of(app.test_client(), other)

    assert known == unknown
    assert [s.split()[0] for s in known].count("INSERT") == 1
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.kind, r.recipient) for r in rows] == [
        ("password_reset", user.email),
        ("password_reset", other),
    ]
    assert rows[0].payload.keys() == rows[1].payload.keys()
    assert mailbox.messages == []


def run_send(app) -> str:
    # In ``app``'s own context: the command would otherwise run in the test's shared app.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.postgres  # the claim's conditional UPDATE and the JSON payload
def test_flask_mail_send_delivers_the_queue(app, db, user, mailbox):
    assert forgot(app.test_client(), user.email).status_code == 200
    forgot(app.test_client(), "nobody@example.com")
    assert mailbox.messages == []

    # Two reset requests handled, one mail (the known address's) delivered.
    assert run_send(app) == "3 message(s) delivered\n"

    [message] = mailbox.messages
    assert message["To"] == user.email
    assert mail_link(mailbox).startswith("https://idp.test/reset/")
    assert db.session.scalar(select(PasswordReset.user_id)) == user.id
    done = db.session.scalars(select(OutboxMessage)).all()
    assert all(r.sent_at and r.next_attempt_at is None and r.payload == {} for r in done)
    assert run_send(app) == "0 message(s) delivered\n"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_delivery_is_retried_with_backoff(app, db, user, mailbox, caplog):
    app.config["IDP_SMTP_URL"] = f"smtp://127.0.0.1:{closed_port()}"
    forgot(app.test_client(), user.email)

    assert run_send(app) == "1 message(s) delivered\n"  # the reset request, not its mail

    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail"))
    assert mailbox.messages == [] and mail.sent_at is None
    assert mail.attempts == 1 and mail.last_error == "ConnectionRefusedError"
    wait = mail.next_attempt_at - utcnow()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)  # IDP_OUTBOX_RETRY_SECONDS
    link = mail.payload["body"].split()[-11]
    assert "/reset/" in link and link not in caplog.text  # bodies are never logged
    assert run_send(app) == "0 message(s) delivered\n"  # not due yet

    app.config["IDP_SMTP_URL"] = mailbox.url
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert run_send(app) == "1 message(s) delivered\n"

    assert mail_link(mailbox) == link
    db.session.refresh(mail)
    assert mail.attempts == 2 and mail.sent_at is not None and mail.payload == {}


def test_delivery_gives_up_after_the_last_attempt(app, db, user, mailbox):
    app.config.update(
        IDP_SMTP_URL=f"smtp://127.0.0.1:{closed_port()}",
        IDP_OUTBOX_RETRY_SECONDS=0,
        IDP_OUTBOX_MAX_ATTEMPTS=2,
    )
    forgot(app.test_client(), user.email)
    run_send(app)  # the reset request, and the mail's first attempt
    run_send(app)  # its second and last

    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail"))
    assert mail.attempts == 2 and mail.next_attempt_at is None and mail.sent_at is None
    assert mail.payload == {}  # the link is not kept once it can no longer be sent
    app.config["IDP_SMTP_URL"] = mailbox.url
    assert run_send(app) == "0 message(s) delivered\n"


@pytest.mark.postgres
def test_a_message_claimed_elsewhere_is_left_alone(app, db, user, mailbox):
    """Several workers drain one table: the conditional claim gives a message to one."""
    message = outbox.enqueue("mail", user.email, {"subject": "s", "body": "b"})
    db.session.commit()
    db.session.execute(
        update(OutboxMessage).values(next_attempt_at=utcnow() + timedelta(minutes=5))
    )
    db.session.commit()

    assert outbox.drain() == 0
    assert mailbox.messages == []
    db.session.refresh(message)
    assert message.attempts == 0


def test_the_worker_thread_delivers_after_the_request(make_app, committed_db, mailbox):
    """Production's default: a request only queues; the process's thread sends."""
    app = make_app(IDP_OUTBOX_DELIVERY="worker", IDP_OUTBOX_POLL_SECONDS=3600)
    with app.app_context():
        make_user()
    response = forgot(app.test_client(), "ada@example.com")
    assert response.status_code == 200

    deadline = time.monotonic() + 5
    while not mailbox.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    [message] = mailbox.messages
    assert message["To"] == "ada@example.com"
