"""Outgoing mail: queued in the outbox by ``send``, delivered by SMTP when
``IDP_SMTP_URL`` is set, to the server log otherwise (dev)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

from . import outbox

log = logging.getLogger("idp.mail")
KIND = "mail"


def send(to: str, subject: str, body: str) -> None:
    """Queue a plain-text message in the caller's transaction (it goes out once that
    commits).  The visitor's answer never depends on delivery, so a mail outage cannot
    reveal which addresses have accounts."""
    outbox.enqueue(KIND, to, {"subject": subject, "body": body})


def init_app(app) -> None:
    outbox.register(KIND, deliver)
    outbox.init_app(app)


def deliver(message: outbox.OutboxMessage) -> None:
    """Outbox handler: hand one queued mail to the SMTP server; raises to be retried."""
    cfg = current_app.config
    to, subject, body = message.recipient, message.payload["subject"], message.payload["body"]
    url = cfg.get("IDP_SMTP_URL")
    if not url:
        # Development only (production requires IDP_SMTP_URL): the log is the mailbox.
        log.info(
            "mail (no IDP_SMTP_URL; dev log delivery)\nTo: %s\nSubject: %s\n\n%s", to, subject, body
        )
        return
    email = EmailMessage()
    email["From"] = cfg["IDP_MAIL_FROM"]
    email["To"] = to
    email["Subject"] = subject
    email.set_content(body)
    _deliver(url, email)


def _deliver(url: str, message: EmailMessage) -> None:
    """smtp://host:port (plain), smtp+starttls://..., smtps://... ; user:password@ optional."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    port = parts.port or (465 if secure else 587 if parts.scheme == "smtp+starttls" else 25)
    smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with smtp_class(parts.hostname, port, timeout=10) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
