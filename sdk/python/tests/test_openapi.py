"""The SDK's response models against the server's OpenAPI document (``idp.openapi``), so
the two cannot drift: every field a model reads is documented with a compatible type,
every property the server must send is a field, and a field without a default is one the
server always sends."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from cross_app_sdk import models

openapi = pytest.importorskip("idp.openapi", reason="the server's OpenAPI document")

API = "/api/cross-app"
# model -> the response schemas it parses: (path, method, status[, property path])
SOURCES: dict[type, list[tuple]] = {
    models.Balance: [(f"{API}/credits", "get", "200")],
    models.CreditCheck: [(f"{API}/credit-check", "post", "200")],
    models.Consumption: [
        (f"{API}/credits/consume", "post", "201"),
        (f"{API}/credits/consume", "post", "200"),
    ],
    models.HoldResult: [
        (f"{API}/credits/holds", "post", "201"),
        (f"{API}/credits/holds/{{hold_id}}/capture", "post", "200"),
        (f"{API}/credits/holds/{{hold_id}}/release", "post", "200"),
    ],
    models.HoldInfo: [(f"{API}/credits/holds/{{hold_id}}", "get", "200", "hold")],
    models.TransactionPage: [(f"{API}/credits/transactions", "get", "200")],
    models.Transaction: [(f"{API}/credits/transactions", "get", "200", "transactions", "[]")],
    models.Package: [(f"{API}/credits/packages", "get", "200", "packages", "[]")],
    models.Checkout: [(f"{API}/credits/purchase", "post", "201")],
}
JSON_TYPES = {"int": "integer", "str": "string", "bool": "boolean", "float": "number"}


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.document()


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def response_schema(document: dict, path: str, method: str, status: str, *inner: str) -> dict:
    responses = document["paths"][path][method]["responses"]
    assert status in responses, f"{method.upper()} {path} documents no {status}"
    schema = resolve(document, responses[status]["content"]["application/json"]["schema"])
    for step in inner:
        schema = resolve(document, schema["items"] if step == "[]" else schema["properties"][step])
    return schema


def json_types(document: dict, schema: dict) -> set[str]:
    schema = resolve(document, schema)
    kind = schema.get("type")
    if kind is None and "oneOf" in schema:
        return set().union(*(json_types(document, s) for s in schema["oneOf"]))
    if kind is None and "format" in schema:
        return {"string"}
    return set(kind) if isinstance(kind, list) else {kind} if kind else {"string"}


def python_types(annotation: str) -> set[str]:
    """JSON types a field annotation accepts (``int | None`` -> integer, null)."""
    accepted = set()
    for part in (p.strip() for p in annotation.split("|")):
        if part == "None":
            accepted.add("null")
        elif part.startswith(("tuple[", "list[")):
            accepted.add("array")
        elif part in JSON_TYPES:
            accepted.add(JSON_TYPES[part])
        elif hasattr(models, part):
            accepted.add("object")
        else:
            raise AssertionError(f"unmapped annotation {annotation!r}")
    return accepted


def _no_default(field: dataclasses.Field) -> bool:
    missing = dataclasses.MISSING
    return field.default is missing and field.default_factory is missing


@pytest.mark.parametrize("model", list(SOURCES), ids=lambda m: m.__name__)
def test_model_matches_the_documented_responses(document, model):
    fields = {f.name: f for f in dataclasses.fields(model)}
    hints = {name: str(f.type) for name, f in fields.items()}
    schemas = [response_schema(document, *source) for source in SOURCES[model]]
    documented: dict[str, dict] = {}
    for schema in schemas:
        assert schema.get("type") == "object", schema
        documented.update(schema["properties"])
        required = set(schema.get("required", ()))
        assert required <= set(fields), f"{model.__name__} lacks {required - set(fields)}"
        for name, field in fields.items():
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                assert name in required, f"{model.__name__}.{name} is not always sent"
    for name in fields:
        assert name in documented, f"{model.__name__}.{name} is not in the document"
        schema_types = json_types(document, documented[name])
        accepted = python_types(hints[name])
        assert schema_types <= accepted, (model.__name__, name, schema_types, accepted)


def test_every_wallet_operation_of_the_client_is_documented(document):
    for sources in SOURCES.values():
        for path, method, *_ in sources:
            assert method in document["paths"][path]


def inline(document: dict, node, depth: int = 0):
    """``node`` with every ``$ref`` replaced by what it points to."""
    if depth > 20:
        return node
    if isinstance(node, dict):
        if "$ref" in node:
            return inline(document, resolve(document, node), depth + 1)
        return {k: inline(document, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(document, v, depth + 1) for v in node]
    return node


def test_error_codes_the_sdk_maps_are_documented(document):
    """Each code with its own exception class is one the wallet operations (or, for
    ``invalid_client``, the token endpoint) document."""
    from cross_app_sdk.errors import _BY_CODE

    paths = document["paths"]
    wallet = json.dumps(inline(document, {p: o for p, o in paths.items() if "/credit" in p}))
    token = json.dumps(inline(document, paths["/oauth/token"]))
    for code in _BY_CODE:
        if code == "rate_limited":  # the limiter's 429: code not promised, Retry-After is
            continue
        where = token if code == "invalid_client" else wallet
        assert f'"{code}"' in where, code


def _request_calls():
    from cross_app_sdk.wallet._core import _Base

    hold = "hold_" + "0" * 24
    return [
        _Base._check_call("sub", 5),
        _Base._consume_call("sub", 5, "svc", None),
        _Base._hold_call("sub", 5, 60, "svc", None),
        _Base._capture_call("sub", hold, 2),
        _Base._capture_call("sub", hold, None),
        _Base._release_call("sub", hold),
        _Base._transactions_call("sub", 50, 10, "shop"),
        _Base._purchase_call("sub", "pack", None, "https://a.example/ok", "https://a.example/no"),
        _Base._purchase_call("sub", None, 100, None, None),
    ]


def _documented_path(document: dict, path: str) -> str:
    for template in document["paths"]:
        pattern = "^" + "[^/]+".join(map(re.escape, re.split(r"\{[^}]+\}", template))) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not documented")


def _parameters(document: dict, operation: dict) -> dict[str, dict]:
    found = {}
    for parameter in operation.get("parameters", ()):
        parameter = resolve(document, parameter)
        found[(parameter["in"], parameter["name"].lower())] = parameter
    return found


@pytest.mark.parametrize("call", _request_calls(), ids=lambda c: f"{c.method} {c.path}")
def test_requests_match_the_documented_operations(document, call):
    """What the client sends: documented body members of the right type, every required
    one present; the acting ``user`` and ``Idempotency-Key`` as the document names them."""
    operation = document["paths"][_documented_path(document, API + call.path)][call.method.lower()]
    parameters = _parameters(document, operation)
    assert ("query", "user") in parameters
    if call.idempotency_key:
        assert ("header", "idempotency-key") in parameters
    if call.method == "GET":
        for name, value in call.params.items():
            if value is not None:
                assert ("query", name) in parameters, name
        return
    schema = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
    properties = schema["properties"]
    assert set(schema.get("required", ())) <= set(call.json)
    for name, value in call.json.items():
        assert name in properties, f"{call.path} sends undocumented {name}"
        kind = type(value).__name__
        assert JSON_TYPES[kind] in json_types(document, properties[name]), (name, kind)
