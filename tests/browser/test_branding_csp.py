"""The Content Security Policy of a branded app's pages, header by header (no browser):
``img-src`` names exactly the logo's origin, ``style-src`` exactly the hash of the brand
style block the page holds; an unbranded page allows no off-site image at all."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from sqlalchemy import update

from idp.apps import services
from idp.apps.models import AppIntegration


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.fixture
def branded(apps):
    return apps.create(
        client_id="brand-co",
        name="Brand & Co",
        allowed_scopes="openid",
        audience="https://brand.example",
        logo_uri="https://cdn.brand.example:8443/img/logo.png",
        brand_color="#6f42c1",
        policy_uri="https://brand.example/privacy",
    )


@pytest.mark.parametrize("path", ["/login", "/signup", "/forgot", "/no-such-page"])
def test_branded_pages_allow_the_logo_origin_and_the_style_hash(client, branded, path):
    response = client.get(f"{path}?client_id=brand-co")
    policy = directives(response)
    assert policy["img-src"] == "'self' data: https://cdn.brand.example:8443"
    style = re.search(r"<style>(.*?)</style>", response.text, re.S).group(1)
    assert style == ":root{--accent:#6f42c1;--ring:#6f42c1}"
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy["style-src"] == f"'self' 'sha256-{digest}'"
    assert "https://brand.example/privacy" in response.text


@pytest.mark.parametrize("query", ["", "?client_id=plain", "?client_id=nobody"])
def test_other_pages_allow_no_off_site_image_and_no_inline_style(client, apps, query):
    apps.create(client_id="plain", name="Plain", allowed_scopes="openid")
    response = client.get(f"/login{query}")
    policy = directives(response)
    assert policy["img-src"] == "'self' data:"
    assert policy["style-src"] == "'self'"
    assert "<style>" not in response.text
    assert 'class="app-links"' not in response.text


def test_an_http_logo_from_before_the_rule_is_not_shown(client, db, branded):
    """Registered when http was still accepted: the page would only show it broken."""
    db.session.execute(
        update(AppIntegration)
        .where(AppIntegration.client_id == "brand-co")
        .values(logo_uri="http://cdn.brand.example/logo.png")
    )
    db.session.commit()
    services.client_cache().clear()
    response = client.get("/login?client_id=brand-co")
    assert directives(response)["img-src"] == "'self' data:"
    assert "<img" not in response.text
    assert "Brand &amp; Co" in response.text  # the rest of the branding stays
