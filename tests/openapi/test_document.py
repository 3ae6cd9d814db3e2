"""The OpenAPI document itself: valid OpenAPI 3.1, in step with the app's routes, closed
schemas, served at /openapi.json and rendered at /docs; and the contract check
(tests/contract.py) catches what it is meant to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from idp.openapi import document, operations
from tests.contract import Contract

# Routes that are hosted pages (HTML forms and their assets), not part of the API; and
# the passkey ceremonies' JSON steps, which only our pages' own script calls (same
# origin, the browser's cookies, CSRF in a header: docs/passkeys.md lists them).
HOSTED = (
    "pages.",
    "wallet_pages.",
    "wallet_settings.",
    "demo.",
    "static",
    "docs.static",
    "passkeys.",
)
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def test_the_document_is_valid_openapi_3_1():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def _operations():
    return operations(document())


def _documented() -> dict[str, set[str]]:
    documented: dict[str, set[str]] = {path: set() for path in document()["paths"]}
    for path, method, _ in _operations():
        documented[path].add(method.upper())
    return documented


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(HOSTED):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).update(rule.methods & _METHODS)
    return routes


def test_every_api_route_is_documented_with_its_methods(app):
    routes, documented = _routes(app), _documented()
    assert {p: routes[p] for p in routes if documented.get(p) != routes[p]} == {}


def test_every_documented_path_is_a_route(app):
    routes, documented = _routes(app), _documented()
    assert {p: m for p, m in documented.items() if routes.get(p) != m} == {}


def test_operation_ids_are_unique():
    ids = [op["operationId"] for _, _, op in _operations()]
    assert len(ids) == len(set(ids))


def _nodes(node, where="#", skip=()):
    """(where, value) for every value in the document, depth first; keys in ``skip``
    are not entered."""
    yield where, node
    if isinstance(node, dict | list):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if key not in skip:
                yield from _nodes(value, f"{where}/{key}", skip)


def _objects(node):
    """Every object schema in the document, with where it is."""
    for where, value in _nodes(node):
        if isinstance(value, dict) and (value.get("type") == "object" or "properties" in value):
            yield where, value


def test_object_schemas_are_closed_or_say_why_not():
    """Our bodies list their fields: ``additionalProperties: false``, or an open object
    whose description says whose document it is (an app's metadata, this document)."""
    doc = document()
    loose = {
        where
        for where, schema in _objects({"paths": doc["paths"], "components": doc["components"]})
        if "/securitySchemes/" not in where
        and schema.get("additionalProperties") is not False
        and not (schema.get("additionalProperties") is True and schema.get("description"))
    }
    assert loose == set()


def test_the_document_is_served_with_this_issuer_as_its_server(client, app):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json["servers"] == [{"url": app.config["IDP_ISSUER"]}]
    assert response.json["paths"] == document()["paths"]


def test_the_document_is_public_to_any_origin(client):
    response = client.get("/openapi.json", headers={"Origin": "https://tools.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_docs_renders_every_operation_with_an_anchor(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for _, _, op in _operations():
        assert f'id="operation/{op["operationId"]}"' in html
    assert "<script" not in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.fixture(scope="module")
def contract():
    return Contract()


JSON = {"Content-Type": "application/json"}


def test_contract_accepts_a_matching_response(contract):
    contract.violations.clear()
    contract.check("GET", "/healthz", 200, JSON, b'{"status": "ok"}')
    assert contract.violations == []
    assert ("getHealth", "200") in contract.seen


@pytest.mark.parametrize(
    ("status", "headers", "body", "problem"),
    [
        (200, JSON, b'{"status": "ok", "extra": 1}', "Additional properties"),
        (200, JSON, b'{"status": "down"}', "is not one of"),
        (200, JSON, b"not json", "not JSON"),
        (200, {"Content-Type": "text/html"}, b"<p>", "content type"),
        (418, JSON, b"{}", "status 418 is not documented"),
        (400, JSON, b'{"error": "no_such_code", "error_description": "x"}', "is not one of"),
    ],
)
def test_contract_reports_a_response_that_departs(contract, status, headers, body, problem):
    contract.violations.clear()
    contract.check("GET", "/healthz", status, headers, body)
    assert len(contract.violations) == 1 and problem in contract.violations[0]


def test_contract_reports_a_missing_required_header():
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/limited": {
                "post": {
                    "operationId": "limited",
                    "responses": {
                        "429": {
                            "description": "slow down",
                            "headers": {"Retry-After": {"$ref": "#/components/headers/Retry"}},
                        }
                    },
                }
            }
        },
        "components": {"headers": {"Retry": {"required": True, "schema": {"type": "string"}}}},
    }
    contract = Contract(spec=doc)
    contract.check("POST", "/limited", 429, {}, b"")
    contract.check("POST", "/limited", 429, {"Retry-After": "3"}, b"")
    assert contract.violations == [
        "POST /limited -> 429 (limited): required header Retry-After is missing"
    ]


def test_contract_ignores_hosted_pages(contract):
    contract.violations.clear()
    contract.check("GET", "/login", 599, {"Content-Type": "text/html"}, b"")
    assert contract.violations == []


def test_the_readme_links_every_operation_to_the_reference():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    linked = set(re.findall(r"/docs#operation/(\w+)\)", readme))
    assert linked == {op["operationId"] for _, _, op in _operations()}


def _media_examples(node):
    """(where, schema, example) for every example given beside a schema."""
    for where, value in _nodes(node):
        if isinstance(value, dict) and "schema" in value:
            examples = [value["example"]] if "example" in value else []
            examples += [e["value"] for e in (value.get("examples") or {}).values() if "value" in e]
            for example in examples:
                yield where, value["schema"], example


def test_every_example_matches_its_schema():
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    doc = document()
    registry = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(doc))
    found = list(_media_examples(doc["paths"]))
    assert len(found) >= 30  # the document gives examples; this keeps them true
    wrong = {}
    for where, schema, value in found:
        if "$ref" in schema:
            schema = {"$ref": "urn:openapi" + schema["$ref"]}
        else:
            schema = {**schema, "$id": "urn:example", "$defs": {}}
            schema = _rebase(schema)
        errors = list(Draft202012Validator(schema, registry=registry).iter_errors(value))
        if errors:
            wrong[where] = errors[0].message
    assert wrong == {}


def _rebase(node):
    """Point ``#/components/...`` references of an inline schema at the document."""
    if isinstance(node, dict):
        return {
            k: ("urn:openapi" + v if k == "$ref" and v.startswith("#/") else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def _nulls(node):
    """Members whose value is null (a null in a list, such as an enum's, is a value)."""
    skip = ("example", "examples", "const", "default")
    return [
        f"{where}/{key}"
        for where, value in _nodes(node, skip=skip)
        if isinstance(value, dict)
        for key, member in value.items()
        if member is None and key not in skip
    ]


def test_no_member_is_a_yaml_accident():
    """A comma in an unquoted flow-mapping string (``{description: a, b}``) makes a key
    ``b`` with a null value; no keyword of the document is null."""
    assert _nulls(document()) == []
