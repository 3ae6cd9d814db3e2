"""Running a standard endpoint on an equivalent form request built in-process.

The seed's JSON contract endpoints and the dev demo callback reuse the token and
introspection endpoints this way, so they get exactly the same validation.
"""

from __future__ import annotations

from flask import current_app, request
from werkzeug.test import EnvironBuilder

from .server import authorization_server


def forward(endpoint: str | None, form: dict, headers: dict | None = None):
    """POST ``form`` to the token endpoint (``endpoint=None``) or a named endpoint."""
    builder = EnvironBuilder(
        path=request.path,
        base_url=request.host_url,
        method="POST",
        data=form,
        headers=headers or {},
        environ_base={"REMOTE_ADDR": request.remote_addr},
    )
    server = authorization_server()
    # Authlib's Flask server reads the global ``flask.request``, not a request handed to
    # it: run it inside a request context of the built request.
    with current_app.request_context(builder.get_environ()):
        if endpoint is None:
            return server.create_token_response()
        return server.create_endpoint_response(endpoint)
