"""The API contract, enforced: every response a test gets from a documented operation is
checked against the OpenAPI document (``idp/openapi``), and the (operation, status) pairs
seen are recorded so that a full run can fail on a documented pair no test produced.

The check sits in WSGI middleware around every app the harness builds, so it sees the
test client's requests and a live server's alike (browser tests, SDK clients).  A
violation is recorded, and the test that caused it fails in its teardown
(``tests/conftest.py``), with what did not match."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from idp.openapi import document, operations


@dataclass
class _Operation:
    id: str
    pointer: str  # of the operation in the document (RFC 6901)
    spec: dict


@dataclass
class Contract:
    """The document's operations, matched by method and path, and what was seen of them."""

    spec: dict = field(default_factory=document)
    seen: set[tuple[str, str]] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: list[tuple[re.Pattern, dict[str, _Operation]]] = []
        by_path: dict[str, dict[str, _Operation]] = {}
        for template, method, op in operations(self.spec):
            pointer = f"/paths/{_escape(template)}/{method}"
            by_path.setdefault(template, {})[method.upper()] = _Operation(
                op["operationId"], pointer, op
            )
        for template, ops in by_path.items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self._routes.append((re.compile(pattern + r"\Z"), ops))
        resource = Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self._registry = Registry().with_resource("urn:openapi", resource)
        self._validators: dict[str, Draft202012Validator] = {}

    def operation(self, method: str, path: str) -> _Operation | None:
        for pattern, ops in self._routes:
            if pattern.match(path):
                return ops.get("GET" if method == "HEAD" else method)
        return None

    def documented_pairs(self) -> set[tuple[str, str]]:
        return {
            (op["operationId"], str(status))
            for _, _, op in operations(self.spec)
            for status in op["responses"]
        }

    def check(self, method: str, path: str, status: int, headers, body: bytes) -> None:
        """Record the pair and any way the response departs from the document."""
        op = self.operation(method, path)
        if op is None or method in ("HEAD", "OPTIONS"):
            return
        problems = self._problems(op, status, headers, body)
        with self._lock:
            self.seen.add((op.id, str(status)))
            self.violations.extend(f"{method} {path} -> {status} ({op.id}): {p}" for p in problems)

    def _problems(self, op: _Operation, status: int, headers, body: bytes) -> list[str]:
        response = op.spec["responses"].get(str(status))
        if response is None:
            return [f"status {status} is not documented"]
        pointer = f"{op.pointer}/responses/{status}"
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self._resolve(response)
        problems = []
        for name, header in (response.get("headers") or {}).items():
            if self._resolve(header).get("required") and name not in headers:
                problems.append(f"required header {name} is missing")
        content = response.get("content")
        mimetype = (headers.get("Content-Type") or "").split(";")[0].strip()
        if not content:
            if body:
                problems.append(f"documented without a body, got {mimetype or 'bytes'}")
            return problems
        if mimetype not in content:
            return [*problems, f"content type {mimetype!r} is not one of {sorted(content)}"]
        if "schema" in content[mimetype] and mimetype.endswith("json"):
            schema_pointer = f"{pointer}/content/{_escape(mimetype)}/schema"
            problems.extend(self._schema_problems(schema_pointer, body))
        return problems

    def _resolve(self, node: dict) -> dict:
        while "$ref" in node:
            target = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _schema_problems(self, pointer: str, body: bytes) -> list[str]:
        try:
            instance = json.loads(body)
        except ValueError:
            return ["the body is not JSON"]
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"urn:openapi#{pointer}"}, registry=self._registry
            )
            self._validators[pointer] = validator
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]


def _escape(part: str) -> str:
    """A JSON pointer token (RFC 6901)."""
    return part.replace("~", "~0").replace("/", "~1")


def middleware(wsgi_app, contract: Contract):
    """Wrap ``wsgi_app`` so that ``contract`` checks each response (buffered)."""

    def checked(environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = wsgi_app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        headers = _Headers(captured.get("headers") or [])
        contract.check(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", ""),
            int(captured.get("status", "500").split()[0]),
            headers,
            body,
        )
        return [body]

    return checked


class _Headers(dict):
    """Case-insensitive lookup over a WSGI header list."""

    def __init__(self, pairs) -> None:
        super().__init__((name.lower(), value) for name, value in pairs)

    def get(self, name, default=None):
        return super().get(name.lower(), default)

    def __contains__(self, name) -> bool:
        return super().__contains__(name.lower())
