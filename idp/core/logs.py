"""Request ids and log lines: one access line per request, text or JSON.

The request id comes from ``X-Request-ID`` when it is a short token of safe characters
(a load balancer's id, so one request can be followed across hops), else it is drawn
here; it is returned in the response and carried into every log line written while the
request runs (the formatters read it from the request context).  ``IDP_LOG_FORMAT``
chooses ``text`` (development) or ``json`` (one object per line, for a log pipeline).

Only what is safe to keep is logged: the route's template (never the path or query,
which may carry a code), the status, the latency, the client id and the user's sub.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time

from flask import g, has_request_context, request

from . import observe

HEADER = "X-Request-ID"
_ENVIRON_KEY = "idp.request_id"
_STARTED_KEY = "idp.started"
# Printable, no spaces or quotes: it goes into log lines and back into a header.
_VALID_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}\Z")
access_log = logging.getLogger("idp.access")
_ACCESS = "%s %s %s %.1fms"


def setting(app, name: str, default: str) -> str:
    """A setting of this module: the app's mapping, then the environment, then ``default``."""
    value = app.config.get(name) or os.environ.get(name)
    return str(value) if value else default


def request_id() -> str:
    """This request's id (validated from ``X-Request-ID``, else drawn once); "-" outside one."""
    if not has_request_context():
        return "-"
    environ = request.environ
    rid = environ.get(_ENVIRON_KEY)
    if rid is None:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if _VALID_ID.match(given) else secrets.token_hex(16)
        environ[_ENVIRON_KEY] = rid
    return rid


def annotate(**fields) -> None:
    """Add ``client_id`` or ``sub`` to this request's access line (known deep in a grant)."""
    if has_request_context():
        g.setdefault("idp_log_fields", {}).update(fields)


class TextFormatter(logging.Formatter):
    """The development format, with the request id of the line's request."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id()
        return super().format(record)


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the
    access line's fields; a traceback, if any, as one string."""

    # Built once: json.dumps with arguments builds an encoder per call.
    _encode = json.JSONEncoder(default=str).encode
    _second = (None, "")  # the last whole second formatted, and its text

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if self._second[0] != second:  # a race only formats the same second twice
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{self._second[1]}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self._timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return self._encode(line)


def formatter(kind: str) -> logging.Formatter:
    if kind not in ("text", "json"):
        from .config import ConfigError

        raise ConfigError("IDP_LOG_FORMAT must be text or json")
    return JSONFormatter() if kind == "json" else TextFormatter()


def configure(level: str, kind: str) -> None:
    """The ``idp`` logger writes to stderr in ``kind``; a handler the host configured
    (pytest's capture) is left alone, and given our formatter when it is our own."""
    chosen = formatter(kind)  # refuses an unknown kind even when the host logs for us
    log = logging.getLogger("idp")
    log.setLevel(level)
    ours = [h for h in log.handlers if getattr(h, "idp_handler", False)]
    if ours:
        ours[0].setFormatter(chosen)
        return
    if not log.handlers and not logging.getLogger().handlers:
        # We own the process's logging: skip what no line of ours shows and each record
        # would pay for (the logging HOWTO's "Optimization": the multiprocessing name).
        logging.logMultiprocessing = False
        handler = logging.StreamHandler()
        handler.idp_handler = True
        handler.setFormatter(chosen)
        log.addHandler(handler)


class _Stamp:
    """WSGI middleware noting when the request arrived (before any Flask hook runs)."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ[_STARTED_KEY] = time.perf_counter()
        return self.wsgi_app(environ, start_response)


def _finish(response):
    """The request id in the response, one access line, and the request's timing for
    whoever listens (the latency histogram)."""
    rid = request_id()
    response.headers[HEADER] = rid
    environ = request.environ
    seconds = time.perf_counter() - environ.get(_STARTED_KEY, time.perf_counter())
    rule = request.url_rule
    route = rule.rule if rule is not None else "<unmatched>"  # bounded: never the raw path
    status = response.status_code
    observe.emit(observe.REQUEST, route=route, status=status, seconds=seconds)
    if access_log.isEnabledFor(logging.INFO):
        method = environ.get("REQUEST_METHOD")
        fields = {"method": method, "route": route, "status": status}
        fields["latency_ms"] = round(seconds * 1000, 2)
        fields.update(g.get("idp_log_fields", ()))
        # makeRecord and handle: what info() does, less finding the caller's frame (the
        # line's origin is always here), on every request.
        args = (method, route, status, seconds * 1000)
        extra = {"fields": fields}
        record = access_log.makeRecord(
            access_log.name, logging.INFO, __file__, 0, _ACCESS, args, None, None, extra
        )
        access_log.handle(record)
    return response


def init_app(app) -> None:
    app.wsgi_app = _Stamp(app.wsgi_app)
    app.after_request(_finish)
