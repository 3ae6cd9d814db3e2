"""Deliveries over https: the certificate is verified for the URL's host name (the
connection goes to the checked address, with the name kept for SNI and verification)."""

from __future__ import annotations

import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from idp.core import outbox
from idp.events import delivery, endpoints
from idp.events.models import WebhookAttempt
from idp.oauth2 import services as oauth2


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for ``localhost``: (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_hook(db, partner, receiver, certificate, stub_resolver):
    stub_resolver["localhost"] = ["127.0.0.1"]  # where the receiver listens (not ::1)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(*certificate)
    receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
    port = receiver.server.server_address[1]
    _, secret = endpoints.add("shop", f"https://localhost:{port}/hooks", "consent.granted")
    db.session.commit()
    return secret


def attempts(db):
    return [(a.ok, a.status_code, a.error) for a in db.session.scalars(select(WebhookAttempt))]


def test_an_untrusted_certificate_is_refused(db, user, tls_hook, receiver):
    oauth2.grant_consent(user.id, "shop", "openid")
    outbox.drain()
    assert attempts(db) == [(False, None, "tls")]
    assert receiver.requests == []


def test_a_trusted_certificate_for_the_name_delivers(
    db, user, tls_hook, receiver, certificate, monkeypatch
):
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(delivery.ssl, "create_default_context", lambda: trusted)
    oauth2.grant_consent(user.id, "shop", "openid")
    outbox.drain()
    assert attempts(db) == [(True, 204, None)]
    [request] = receiver.requests
    assert Webhook(tls_hook).verify(request["body"], request["headers"])["type"] == (
        "consent.granted"
    )
