"""Refuse hostile characters at the boundary, before any hook, view or query sees them.

PostgreSQL text cannot hold a NUL byte, and an unpaired surrogate cannot be encoded as
UTF-8 (psycopg, Jinja's output and every log handler fail on one): either reaching the
database or a template was a 500.  They arrive as JSON escapes (``"\\u0000"``,
``"\\ud800"``), percent-encoding, raw bytes that JSON decodes with ``surrogatepass``,
header values, cookies and HTTP Basic credentials.  No field of ours has a use for
either, so one check of every value of the request replaces a check per field; the
refusal is an :class:`IdPError`, rendered in the endpoint's own format by the one handler.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote

from flask import current_app, request

from .errors import IdPError

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
# A name we echo in the description; anything longer or odder is described, not quoted.
_SHOWN_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
# The environ keys Werkzeug reads headers from (EnvironHeaders).
_HEADER_KEYS = ("HTTP_", "CONTENT_TYPE", "CONTENT_LENGTH")


class HostileInput(IdPError):
    error = "invalid_request"
    description = "The request contains a NUL byte or an unpaired surrogate."
    status_code = 400


def is_clean(value: object) -> bool:
    """False for a string holding a NUL byte or an unpaired surrogate; True otherwise."""
    return not (isinstance(value, str) and _FORBIDDEN.search(value))


def check_request() -> None:
    """Raise :class:`HostileInput` naming the first bad value (never echoing it).

    One search over everything the request carries, joined, answers for nearly every
    request; only when it finds something are the values walked one by one to name the
    place (and to let an endpoint check its own path)."""
    try:
        # Werkzeug decodes the query string strictly (``request.args`` would raise).
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise HostileInput("the query string is not valid UTF-8") from None
    if _FORBIDDEN.search("\x01".join(_strings())) is None:
        return
    for where, name, value in _request_values():
        if not (is_clean(name) and is_clean(value)):
            if where == "the path" and request.endpoint in _own_path_checks():
                continue
            shown = name if isinstance(name, str) and _SHOWN_NAME.fullmatch(name) else None
            place = f"{shown} in {where}" if shown else where
            raise HostileInput(f"{place} contains a NUL byte or an unpaired surrogate")


def _request_values() -> Iterator[tuple[str, object, object]]:
    """(where, name, value) for every string the request carries, decoded as views see it.

    A form body that is not UTF-8 is parsed as empty by Werkzeug, and JSON that is not
    is malformed JSON: both are left to the view.  Reading ``request.form`` or the JSON
    body may raise 413 (body over the size limit): that is the right answer, and it
    propagates as the HTTPException it is."""
    yield "the path", None, request.path
    for name, value in (request.view_args or {}).items():
        yield "the path", name, value
    yield from _pairs("the query string", request.args.items(multi=True))
    yield from _pairs("the headers", request.headers.items())
    yield from _pairs("the cookies", request.cookies.items(multi=True))
    yield from _basic_credentials()
    yield from _pairs("the form body", request.form.items(multi=True))
    for name, upload in request.files.items(multi=True):
        yield "the form body", name, upload.filename
    if request.is_json:
        # silent: malformed JSON stays the view's 400 (IdPRequest), not ours.
        yield from _json_strings(request.get_json(silent=True))


def _strings() -> list[str]:
    """At least every name and string value :func:`_request_values` yields (header
    values straight from the environ), gathered without the bookkeeping of where each
    came from: the common case, a clean request, needs only this."""
    strings = [request.path]
    if request.view_args:
        strings += [v for v in request.view_args.values() if isinstance(v, str)]
    for multidict in (request.args, request.cookies, request.form):
        for name, values in multidict.lists():
            strings.append(name)
            strings += values
    for key, value in request.environ.items():
        if key.startswith(_HEADER_KEYS) and isinstance(value, str):
            strings += (key, value)
    strings += [value for _, _, value in _basic_credentials()]
    for name, uploads in request.files.lists():
        strings.append(name)
        strings += [upload.filename or "" for upload in uploads]
    if request.is_json:
        strings += [
            s for _, name, value in _json_strings(request.get_json(silent=True))
            for s in (name, value) if isinstance(s, str)
        ]  # fmt: skip
    return strings


def _pairs(where: str, items) -> Iterator[tuple[str, object, object]]:
    for name, value in items:
        yield where, name, value


def _basic_credentials() -> Iterator[tuple[str, object, object]]:
    """HTTP Basic (RFC 6749 section 2.3.1): base64 of percent-encoded UTF-8, decoded as
    client authentication decodes it, since the header itself shows no NUL."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        raw = base64.b64decode(token.strip())
    except (binascii.Error, ValueError):
        return  # not credentials at all: the endpoint answers invalid_client
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # names no client: client authentication answers invalid_client (401)
    for part in decoded.split(":", 1):
        yield "the Authorization header", None, unquote(part)


def _json_strings(document: object) -> Iterator[tuple[str, object, object]]:
    """Every key and string value at any depth; a stack, not recursion, since the parser
    accepts documents nested deeper than this function could recurse."""
    stack = [(None, document)]
    while stack:
        top, item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                name = key if top is None else top
                yield "the JSON body", name, key
                stack.append((name, value))
        elif isinstance(item, list):
            stack.extend((top, value) for value in item)
        elif isinstance(item, str):
            yield "the JSON body", top, item


def _own_path_checks() -> frozenset[str]:
    return current_app.extensions["idp_input_guard"]


def init_app(app, own_path_checks: Iterable[str] = ()) -> None:
    """``own_path_checks``: endpoints whose views answer a hostile path parameter
    themselves, with advice a person following a mangled link can act on (the reset
    page: "ask for a new one"); everything else in their requests is still checked."""
    app.extensions["idp_input_guard"] = frozenset(own_path_checks)
    # Registered before every other before_request hook (CSRF, CORS, rate limits).
    app.before_request(check_request)
