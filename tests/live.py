"""A real HTTP server around an app, for clients that must speak HTTP (PyJWT, SDKs)."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serve(make_app, host: str = "127.0.0.1", **overrides):
    """Build an app whose issuer is its own loopback URL and serve it; yields the URL.
    ``host`` names it in the issuer (``localhost`` for WebAuthn, which refuses an IP as
    relying party).  The server answers on other threads: the test must use
    ``committed_db``."""
    with socket.socket() as sock:  # the issuer must be known before the app is built
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://{host}:{port}"
    app = make_app(IDP_ISSUER=url, **overrides)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=5)
