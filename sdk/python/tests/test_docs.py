"""The quick starts in docs/sdk/python.md, run as written against the test server (only
the issuer and the audience are swapped for the test server's), so the docs cannot rot."""

import asyncio
import re
from pathlib import Path

import httpx

import sdk_live as live

DOC = Path(__file__).resolve().parents[3] / "docs" / "sdk" / "python.md"
DOC_ISSUER = "http://127.0.0.1:5000"


def _quick_start(title: str, server_url: str) -> dict:
    text = DOC.read_text()
    section = text[text.index(f"## {title}") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace(f'"{DOC_ISSUER}/demo"', '"https://shop.example"')
    code = code.replace(f'"{DOC_ISSUER}"', f'"{server_url}"')
    namespace: dict = {"__name__": "quick_start"}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def test_flask_quick_start(server, shop, ada_tokens):
    app = _quick_start("Flask quick start", server.url)["app"]
    client = app.test_client()
    ok = client.get("/api/me", headers={"Authorization": f"Bearer {ada_tokens['access_token']}"})
    assert ok.status_code == 200 and "credits:read" in ok.get_json()["scopes"]
    assert client.get("/api/me").status_code == 401


def test_fastapi_quick_start(server, shop):
    app = _quick_start("FastAPI quick start", server.url)["app"]
    token = live.client_credentials(server.url, shop)["access_token"]

    async def call(headers):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/api/me", headers=headers)

    ok = asyncio.run(call({"Authorization": f"Bearer {token}"}))
    assert ok.status_code == 200 and ok.json()["sub"] == "shop"
    refused = asyncio.run(call({}))
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
