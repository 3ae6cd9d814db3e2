"""The document as the ``/docs`` page wants it: operations grouped by tag, ``$ref``s
resolved, schemas flattened into rows of (depth, name, type, required, description)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from . import operations

_MAX_DEPTH = 4


@dataclass
class Row:
    depth: int
    name: str
    type: str
    required: bool
    description: str


def prose(text: str) -> Markup:
    """Escaped text with `backticks` as code: the one piece of Markdown the files use."""
    # Safe: the text is escaped first; only the <code> tags added here are markup.
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text or ""))))  # noqa: S704


class Reference:
    prose = staticmethod(prose)

    def __init__(self, doc: dict) -> None:
        self.doc = doc
        self.info = doc["info"]

    def resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = self._pointer(node["$ref"])
        return node

    def _pointer(self, ref: str) -> dict:
        node = self.doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def groups(self):
        """(tag, description, [operation, ...]) in the document's tag order."""
        ops: dict[str, list] = {}
        for path, method, op in operations(self.doc):
            tag = (op.get("tags") or ["Other"])[0]
            ops.setdefault(tag, []).append(self._operation(path, method, op))
        for tag in self.doc.get("tags", []):
            if tag["name"] in ops:
                yield tag["name"], tag.get("description", ""), ops.pop(tag["name"])
        for name, rest in ops.items():
            yield name, "", rest

    def _operation(self, path, method, op) -> dict:
        item = self.doc["paths"][path]
        params = [self.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        body = self.resolve(op.get("requestBody") or {})
        return {
            "id": op["operationId"],
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "description": op.get("description", ""),
            "security": self._security(op),
            "parameters": params,
            "body": [
                (media, self.rows(c.get("schema", {})))
                for media, c in body.get("content", {}).items()
            ],
            "responses": [self._response(status, r) for status, r in op["responses"].items()],
        }

    def _security(self, op) -> list[str]:
        requirements = op.get("security", self.doc.get("security", []))
        out = []
        for requirement in requirements:
            if not requirement:
                out.append("none")
            for scheme, scopes in requirement.items():
                out.append(scheme + (f" ({', '.join(scopes)})" if scopes else ""))
        return out

    def _response(self, status, response) -> dict:
        response = self.resolve(response)
        content = response.get("content") or {}
        return {
            "status": status,
            "description": response.get("description", ""),
            "headers": sorted(response.get("headers") or {}),
            "media": sorted(content),
            "rows": [row for c in content.values() for row in self.rows(c.get("schema", {}))],
        }

    def rows(self, schema: dict, depth: int = 0) -> list[Row]:
        """The properties of ``schema`` (and of nested objects), one row each."""
        schema = self.resolve(schema)
        if depth > _MAX_DEPTH:
            return []
        out = []
        required = set(schema.get("required", []))
        for name, prop in (schema.get("properties") or {}).items():
            prop = self.resolve(prop)
            out.append(Row(depth, name, self.type_of(prop), name in required, _describe(prop)))
            items = self.resolve(prop.get("items", {})) if prop.get("type") == "array" else prop
            if items.get("properties"):
                out.extend(self.rows(items, depth + 1))
        for variant in schema.get("oneOf", []) + schema.get("anyOf", []):
            out.extend(self.rows(variant, depth))
        return out

    def type_of(self, schema: dict) -> str:
        schema = self.resolve(schema)
        kind = schema.get("type", "any")
        if isinstance(kind, list):
            kind = " | ".join(kind)
        if kind == "array":
            return f"array of {self.type_of(schema.get('items', {}))}"
        return kind + (f" ({schema['format']})" if "format" in schema else "")


def _describe(schema: dict) -> str:
    text = schema.get("description", "")
    if "enum" in schema:
        text += (" " if text else "") + "One of: " + ", ".join(f"`{v}`" for v in schema["enum"])
    return text
