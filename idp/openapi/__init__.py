"""The HTTP API's contract: one OpenAPI 3.1 document, served at ``/openapi.json`` and
rendered at ``/docs``.

The document is written by hand in ``spec/*.yaml`` (one file per area, merged here) and
kept in step with the code by the tests, not by generation: every route of the app is
either documented or listed as a hosted page (``tests/openapi``), every response a test
produces is validated against it, and a full run fails on a documented (operation,
status) pair that no test produced (``tests/contract.py``).

The files use one shorthand, expanded on load: a response written as
``{x-errors: [code, ...]}`` becomes our JSON error body with ``error`` restricted to those
codes, plus the headers that status always carries (``WWW-Authenticate`` on bearer 401s,
``Retry-After`` on 429)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

SPEC_DIR = Path(__file__).parent / "spec"
BASE = "base.yaml"
_SECTIONS = ("schemas", "responses", "parameters", "headers", "securitySchemes", "examples")


@functools.cache
def _document() -> dict:
    doc = yaml.safe_load((SPEC_DIR / BASE).read_text())
    doc.setdefault("paths", {})
    components = doc.setdefault("components", {})
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        if path.name == BASE:
            continue
        part = yaml.safe_load(path.read_text()) or {}
        _merge(doc["paths"], part.get("paths") or {}, path.name)
        if part.get("webhooks"):  # OpenAPI 3.1: what this server sends (idp.events)
            _merge(doc.setdefault("webhooks", {}), part["webhooks"], path.name)
        for section in _SECTIONS:
            extra = (part.get("components") or {}).get(section)
            if extra:
                _merge(components.setdefault(section, {}), extra, path.name)
        _merge_tags(doc.setdefault("tags", []), part.get("tags") or [])
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"] = {
                    str(status): _expand(str(status), response)
                    for status, response in op["responses"].items()
                }
    return doc


def document() -> dict:
    """The whole document (a fresh copy: callers may change theirs)."""
    return copy.deepcopy(_document())


# The HTTP methods an OpenAPI path item may hold operations under (3.1, section 4.8.9).
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(doc: dict):
    """(path, method, operation) for every operation of ``doc``, in document order."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _merge(into: dict, extra: dict, source: str) -> None:
    for key, value in extra.items():
        if key in into:
            raise ValueError(f"{source}: {key!r} is defined twice in the OpenAPI files")
        into[key] = value


def _merge_tags(tags: list[dict], extra: list[dict]) -> None:
    """Describe the tags base.yaml lists (in its order); add any other at the end."""
    by_name = {tag["name"]: tag for tag in tags}
    for tag in extra:
        if tag["name"] in by_name:
            by_name[tag["name"]].update(tag)
        else:
            tags.append(tag)


# Headers that a status always carries, whatever the operation.
_STATUS_HEADERS = {
    "429": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
}


def _expand(status: str, response: dict) -> dict:
    if "x-errors" not in response:
        return response
    response = dict(response)
    codes = response.pop("x-errors")
    extra = response.pop("x-error-properties", {})
    schema = {
        "type": "object",
        "required": ["error", "error_description"],
        "properties": {
            "error": {"type": "string", "enum": list(codes)},
            "error_description": {"type": "string"},
            **extra,
        },
        "additionalProperties": False,
    }
    response.setdefault("description", ", ".join(f"`{c}`" for c in codes))
    response["content"] = {"application/json": {"schema": schema}}
    headers = dict(_STATUS_HEADERS.get(status, {}))
    if response.pop("x-bearer", False):
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
    headers.update(response.get("headers") or {})
    if headers:
        response["headers"] = headers
    return response


def init_app(app) -> None:
    from . import routes

    app.register_blueprint(routes.bp)
    app.register_blueprint(routes.docs_bp)
