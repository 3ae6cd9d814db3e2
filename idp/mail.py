"""Outgoing mail: SMTP when ``IDP_SMTP_URL`` is set, the server log otherwise (dev)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger("idp.mail")


def send(to: str, subject: str, body: str) -> None:
    """Send a plain-text message.  Failures are logged, never shown to the visitor,
    so a mail outage cannot reveal which addresses have accounts."""
    cfg = current_app.config
    url = cfg.get("IDP_SMTP_URL")
    if not url:
        log.info(
            "mail (no IDP_SMTP_URL; dev log delivery)\nTo: %s\nSubject: %s\n\n%s", to, subject, body
        )
        return
    message = EmailMessage()
    message["From"] = cfg["IDP_MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        _deliver(url, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("mail delivery to the SMTP server failed: %s", type(exc).__name__)


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
