"""The hand-off from the protocol endpoints to the pages (``idp.oauth2.interaction``):
detours are registered by the packages that own them, pages are rendered through the
renderers the pages package registers, and the protocol layer imports neither."""

import ast
from pathlib import Path

import pytest

from idp.oauth2 import interaction
from tests.helpers import Flow, query_of

ROOT = Path(__file__).resolve().parents[2]


def _real(app):
    """The app's registry (what the packages registered in their init_app)."""
    return app.extensions["idp.oauth2.interaction"]


def test_the_wallet_registers_the_purchase_detour(app):
    assert set(_real(app)["detours"]) == {"purchase"}
    assert set(_real(app)["pages"]) == {
        interaction.CONSENT,
        interaction.LOGOUT,
        interaction.SIGNED_OUT,
    }


def test_an_unknown_next_is_ignored(flow, shop):
    flow.code(shop, "openid")
    response, _, _ = flow.authorize(shop, "openid", next="nowhere")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(Flow.redirect_uri(shop) + "?code=")


def test_a_registered_detour_is_visited_after_consent_then_resumes(flow, shop, app, monkeypatch):
    seen = []

    def tour(client_id, return_to):
        seen.append((client_id, return_to))
        return "/account?tour=1"

    monkeypatch.setitem(_real(app)["detours"], "tour", tour)
    flow.code(shop, "openid")
    response, _, _ = flow.authorize(shop, "openid", next="tour")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account?tour=1"
    [(client_id, return_to)] = seen
    assert client_id == "shop"
    assert return_to.startswith("/oauth/authorize?")
    assert "next" not in query_of(return_to)
    assert query_of(return_to)["state"] == "st-123"


def _imports(package: str) -> set[str]:
    """Every module the package's files import, at any depth (function-local included)."""
    found = set()
    for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("idp.oauth2", ("idp.pages", "idp.ui", "wallet")),
        ("idp.ui", ("idp.pages", "idp.oauth2", "idp.users", "wallet", "idp.input_guard")),
        ("idp.pages", ("wallet",)),
        ("wallet", ("idp.pages",)),
    ],
)
def test_the_ui_is_reached_by_url_and_hooks_only(package, forbidden):
    wrong = {m for m in _imports(package) if m.startswith(forbidden)}
    assert wrong == set()
