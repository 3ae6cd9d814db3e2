"""Each test-client request in its own app context, as under a real server.

The ``app`` fixture keeps one app context pushed for the whole test, and Flask reuses
a pushed context of the same app for every request.  ``g`` then outlives the request:
the SSO session cached in ``g.idp_session`` and Flask-WTF's ``g.csrf_token`` leak from
one browser (test client) to another.  Requests made through this client get a fresh
context (fresh ``g`` and database session); the test keeps its own.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


class IsolatedClient(FlaskClient):
    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def make_app(make_app):
    """The root factory, with test clients that isolate every request."""

    def factory(**overrides):
        app = make_app(**overrides)
        app.test_client_class = IsolatedClient
        return app

    return factory
