"""The optional shared Redis connection (``REDIS_URL``).

Every command is bounded by ``IDP_REDIS_TIMEOUT_MS`` (connect and reply): a Redis that is
down or hung costs a request that long at most, after which its callers fall back
(docs/reliability.md) or the request is answered 503.  A command that finds its pooled
connection dead (Redis restarted) is sent once more on a new one; a timeout is not.

Each connection learns the ``run_id`` of the server it reached (a new one at every Redis
start): what Redis holds that must not outlive a restart restored from a snapshot, such
as the deny-list's "not revoked" answers, is tagged with it (:func:`server_run_id`).
"""

from __future__ import annotations

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

# (host, port) -> run_id of the Redis server last connected to there, in this process.
_RUN_IDS: dict[tuple[str, int], bytes] = {}


class _Identified:
    # redis-py calls on_connect_check_health on a new connection (on_connect before 6).
    def on_connect_check_health(self, *args, **kwargs) -> None:
        super().on_connect_check_health(*args, **kwargs)
        self._learn_run_id()

    def on_connect(self) -> None:
        super().on_connect()
        self._learn_run_id()

    def _learn_run_id(self) -> None:
        self.send_command("INFO", "server")
        info = self.read_response()
        if isinstance(info, str):
            info = info.encode()
        for line in info.splitlines():
            if line.startswith(b"run_id:"):
                _RUN_IDS[(self.host, self.port)] = line.split(b":", 1)[1].strip()


class _Connection(_Identified, redis.Connection):
    pass


class _SSLConnection(_Identified, redis.SSLConnection):
    pass


def client_options(app, url: str) -> dict[str, object]:
    """Options of every Redis client of ``app`` (ours and Flask-Limiter's)."""
    seconds = app.config["IDP_REDIS_TIMEOUT_MS"] / 1000
    options: dict[str, object] = {
        "socket_timeout": seconds,
        "socket_connect_timeout": seconds,
        "retry": Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    }
    if url.startswith("rediss://"):
        options["connection_class"] = _SSLConnection
    elif url.startswith("redis://"):
        options["connection_class"] = _Connection
    return options


def init_app(app) -> None:
    url = app.config.get("REDIS_URL")
    client = redis.Redis.from_url(url, **client_options(app, url)) if url else None
    app.extensions["idp_redis"] = client


def get_redis() -> redis.Redis | None:
    """The app's Redis client, or None when the deployment runs without Redis."""
    return current_app.extensions.get("idp_redis")


def server_run_id(client: redis.Redis) -> bytes | None:
    """The run_id of the server ``client`` last connected to (None before it has)."""
    kwargs = client.connection_pool.connection_kwargs
    return _RUN_IDS.get((kwargs.get("host"), kwargs.get("port")))
