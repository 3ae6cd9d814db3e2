"""Partner-event fixtures: a real HTTP receiver, apps with endpoints, a stub resolver."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import idp.events
from idp.core.extensions import db as _db
from idp.events import endpoints, ssrf


class Receiver:
    """A real HTTP server on 127.0.0.1: records each request, answers ``status``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def partner(apps):
    return apps.partner("shop", "openid email credits:read")


@pytest.fixture
def hook(db, partner, receiver):
    """An endpoint of the partner on the receiver, every type; (endpoint, secret)."""
    endpoint, secret = endpoints.add(
        partner["client_id"],
        receiver.url,
        list(idp.events.types.TYPES),
        contact_email="ops@shop.example",
    )
    _db.session.commit()
    return endpoint, secret


@pytest.fixture
def stub_resolver(monkeypatch):
    """``answers[host] = [addresses]``; anything else does not resolve."""
    answers: dict[str, list[str]] = {}

    def resolve(host, port):
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    return answers
